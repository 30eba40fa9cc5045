"""hero-pipeline: respectful news hero images from article prompts with Stable Diffusion."""

__version__ = "0.1.0"
