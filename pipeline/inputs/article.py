"""Parsing of article files: the image prompt, a `$$$` line, then the article with its title first."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import InputError

SEPARATOR = "$$$"


@dataclass(frozen=True)
class Article:
    prompt: str
    title: str | None = None
    body: str = ""


def decode_text(data: bytes, source: str) -> str:
    """Decode an article's bytes as UTF-8 (a BOM is allowed), rejecting binary data."""
    if not data.strip():
        raise InputError(f"{source} is empty")
    if b"\x00" in data:
        raise InputError(f"{source} is a binary file, not a UTF-8 text article")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source} is not valid UTF-8 (byte {exc.start}); save it as UTF-8") from None


def parse_article(text: str, source: str = "the article") -> Article:
    """Split article text into prompt, title and body.

    Only the first line consisting of `$$$` alone (surrounding spaces allowed) splits; a `$$$`
    elsewhere is ordinary text. Without such a line the whole text is the prompt.
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    split_at = next((i for i, line in enumerate(lines) if line.strip() == SEPARATOR), None)
    if split_at is None:
        prompt_lines, article_lines = lines, []
    else:
        prompt_lines, article_lines = lines[:split_at], lines[split_at + 1 :]
    prompt = " ".join(line.strip() for line in prompt_lines if line.strip())
    if not prompt:
        raise InputError(f"{source} has no image prompt before the `{SEPARATOR}` line")
    non_empty = [line.strip() for line in article_lines if line.strip()]
    title = non_empty[0] if non_empty else None
    body = "\n".join(article_lines).strip()
    if title is not None:
        body = body[body.index(title) + len(title) :].strip()
    return Article(prompt=prompt, title=title, body=body)
