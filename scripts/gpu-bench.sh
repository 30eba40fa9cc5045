#!/usr/bin/env bash
# The speed benchmark on one CUDA GPU, within about 10 minutes: SDXL's denoising loop eager and compiled
# against the bf16 matmul peak (with kernel tables), fp8 speed and error, `pipeline batch` throughput at 30
# and 20 steps, and a second process's first image with the compile cache. Every section has a hard time
# cap, so a hung one costs its cap and the rest still run. Writes results.json, log.txt and kernel tables
# to $OUT (default outputs/gpu-bench) and prints a table at the end.
#
#   bash scripts/gpu-bench.sh               # on the GPU machine, in the repository root
#   bash scripts/gpu-bench.sh --cpu-smoke   # here: every section on the tiny model, eager, in seconds
#
# Wheels in .whl/ (diffusers, torchao and this project's small dependencies) are installed first, into
# /tmp/site, when present. GPU_BENCH_BUDGET (seconds, default 570, so that a 600 s device call holds it and the wheel install) bounds the whole run.
set -uo pipefail
cd "$(dirname "$0")/.."
smoke=0
[[ "${1:-}" == "--cpu-smoke" ]] && smoke=1
out=${OUT:-outputs/gpu-bench$([[ $smoke == 1 ]] && echo -smoke)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
log="$out/log.txt"
: >"$log"
began=$(date +%s)
budget=${GPU_BENCH_BUDGET:-570}
export PYTHONUNBUFFERED=1
say() { echo "$*" | tee -a "$log" >&2; }

if compgen -G ".whl/*.whl" >/dev/null && [[ $smoke == 0 ]]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    >>"$log" 2>&1 || { say "wheel install failed (see $log)"; exit 1; }
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
python3 - >>"$log" 2>&1 <<'PY' || { say "import check failed:"; tail -5 "$log" >&2; exit 1; }
import importlib, torch
for name in ("diffusers", "transformers", "accelerate", "compel", "slugify", "smartcrop", "anyascii",
             "confusable_homoglyphs", "rapidfuzz", "rich", "pipeline.cli", "pipeline.models.loader"):
    importlib.import_module(name)
from pipeline.models.tokenizer import _bpe_path
print("CLIP merges", _bpe_path())  # from the openai-clip distribution's files
try:
    import torchao
    print("torchao", torchao.__version__)
except Exception as exc:  # fp8 sections then record the error; the others run
    print("torchao unavailable:", exc)
print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else "")
PY
[[ $smoke == 0 ]] && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >>"$log" 2>&1

if [[ $smoke == 1 ]]; then
  export PIPELINE_COMPILE_CACHE=$work/compile-cache PIPELINE_THREADS=1 OMP_NUM_THREADS=1
  xl=(--model tiny-sdxl --width 64 --height 64 --device cpu --dtype float32)
  sd=(--model tiny --width 64 --height 64 --device cpu --dtype float32)
  steps=2; compiled=(--compile default --compile-backend eager); batch_compiled=(); images=2; steps_list=2,3
else
  export PIPELINE_COMPILE_CACHE=${PIPELINE_COMPILE_CACHE:-/tmp/pipeline-compile-cache}
  xl=(--model sdxl-arch --width 1024 --height 1024 --device cuda --dtype bfloat16)
  sd=(--model sd15-arch --width 512 --height 512 --device cuda --dtype bfloat16)
  steps=30; compiled=(--compile default); batch_compiled=(--compile default); images=8; steps_list=30,20
fi

# The fp8 compile takes longer than the rest together (over 230 s in an earlier run), so it runs in the
# background from the start on its own cores, filling the compile cache that the fp8 sections then load;
# the sections before it ends run on the other cores, and their JSON says what ran beside them
# (stamp.beside, stamp.cpu_cores).
cores=$(nproc)
split=$((cores * 3 / 8)); ((split < 1)) && split=1
pin=()
if command -v taskset >/dev/null && ((cores > 1)); then
  pin=(taskset -c "0-$((split - 1))")
  bg_pin=(taskset -c "$split-$((cores - 1))")
else
  bg_pin=()
fi

# section NAME CAP MIN_LEFT ARGS...: bench/speed.py ARGS with its JSON in $work/NAME.json, for at most CAP
# seconds and never past the budget; skipped when less than MIN_LEFT seconds are left.
section() {
  local name=$1 cap=$2 need=$3
  shift 3
  local left=$((budget - ($(date +%s) - began) - 10))
  if ((left < need)); then
    say "== $name: skipped, ${left}s left"
    echo "{\"section\": \"$name\", \"skipped\": \"skipped: ${left}s of the budget left, ${need}s needed\"}" >"$work/$name.json"
    return
  fi
  ((cap > left)) && cap=$left
  say "== $name (at most ${cap}s${pin:+, cores ${pin[2]}})"
  local t0=$(date +%s)
  timeout -k 10 "$cap" "${pin[@]}" python3 bench/speed.py "$@" --json "$work/$name.json" >"$work/$name.log" 2>&1
  local rc=$?
  cat "$work/$name.log" >>"$log"
  say "   $name: exit $rc after $(($(date +%s) - t0))s"
  if [[ $rc != 0 ]]; then
    local why
    why=$( ((rc == 124 || rc == 137)) && echo "stopped at its ${cap}s cap" || grep -v '^\s*$' "$work/$name.log" | tail -1)
    python3 -c 'import json, sys; print(json.dumps({"section": sys.argv[1], "failed": sys.argv[2]}))' \
      "$name" "exit $rc after $(($(date +%s) - t0))s: ${why:0:300}" >"$work/$name.json"
  fi
}

# 0. In the background: fp8 compiled, one 2-step image (the first image compiles and fills the fp8 cache).
bg_cap=$((budget - 200))
say "== fp8-warm in the background (at most ${bg_cap}s${bg_pin:+, cores ${bg_pin[2]}})"
bg_t0=$(date +%s)
BENCH_BESIDE="the other sections, on cores ${pin[2]:-all}" timeout -k 10 "$bg_cap" "${bg_pin[@]}" \
  python3 bench/speed.py loop "${xl[@]}" --steps 2 --repeats 1 "${compiled[@]}" --fp8-only \
  --json "$work/fp8-warm.json" >"$work/fp8-warm.log" 2>&1 &
bg=$!
export BENCH_BESIDE="an fp8 compile in the background, on cores ${bg_pin[2]:-all}"
# 1. Eager SDXL loop with its kernel table, then fp8 (eager) on the same UNet: speed and error.
section loop-eager 130 60 loop "${xl[@]}" --steps $steps --fp8 --profile "$out/kernels-eager.txt"
# 2. Compiled SDXL loop with its kernel table and each kernel kind's share of the peak; this process's first
#    compile fills the cache (UNet and VAE decoder) that 3 and 5 reuse.
section loop-compiled 260 150 loop "${xl[@]}" --steps $steps "${compiled[@]}" --profile "$out/kernels-compiled.txt"
# 3. The same compiled code with cuDNN timing its convolution algorithms (compiled code from the cache).
section loop-cudnn 90 50 loop "${xl[@]}" --steps $steps "${compiled[@]}" --cudnn-benchmark --profile "$out/kernels-cudnn.txt"
# The rest run alone on every core, once the background compile has ended.
wait $bg
bg_rc=$?
cat "$work/fp8-warm.log" >>"$log"
say "   fp8-warm: exit $bg_rc after $(($(date +%s) - bg_t0))s"
if [[ $bg_rc != 0 ]]; then
  python3 -c 'import json, sys; print(json.dumps({"section": "fp8-warm", "failed": sys.argv[1]}))' \
    "exit $bg_rc after $(($(date +%s) - bg_t0))s: $(grep -v '^\s*$' "$work/fp8-warm.log" | tail -1 | cut -c1-300)" >"$work/fp8-warm.json"
fi
pin=()
unset BENCH_BESIDE
# 4. fp8 compiled from the cache: the loop and its kernel table, then batch throughput with it.
section fp8-compiled 120 60 loop "${xl[@]}" --steps $steps "${compiled[@]}" --fp8-only --profile "$out/kernels-fp8-compiled.txt"
# 5. `pipeline batch` in a new process reusing the cached compiled code: its first image (and where its compile
#    time goes), then images/s: fp8 at 20 steps, bf16 at 30 and 20.
section throughput-fp8 90 50 throughput "${xl[@]}" "${batch_compiled[@]}" --fp8-only --images $images --steps-list ${steps_list##*,}
section throughput 110 70 throughput "${xl[@]}" "${batch_compiled[@]}" --images $images --steps-list $steps_list
# 6. If time is left: fp8 error on SD 1.5's architecture, then only the UNet's repeated blocks compiled.
section fp8-sd15 70 45 loop "${sd[@]}" --steps $steps --fp8
section loop-blocks 100 70 loop "${xl[@]}" --steps $steps "${compiled[@]}" --compile-scope blocks
section throughput-blocks 80 60 throughput "${xl[@]}" "${batch_compiled[@]}" $([[ $smoke == 0 ]] && echo --compile-scope blocks) --images $images --steps-list $steps

python3 bench/gpu_table.py "$work" "$out/results.json" | tee -a "$log"
say "total $(($(date +%s) - began))s; results in $out"
rm -rf "$work"
