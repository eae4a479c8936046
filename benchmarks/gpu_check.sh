#!/usr/bin/env bash
# The prepared GPU check: everything that needs a CUDA GPU, in one run of under 6 minutes on an H200.
#
#   bash benchmarks/gpu_check.sh [OUTDIR]        (default OUTDIR: gpu-check-<date>)
#
#  1. MNIST: from the cache ($LENET_DATA_DIR), else from .gpu-data/*.gz (the four IDX files,
#     gzipped, for a machine without a network), checked against their md5 by `python -m lenet data`;
#  2. the CUDA tests (tests/test_gpu.py: the replayed graph against the eager step, for Adam, for
#     SDLM and with distortions; the GPU recipe);
#  3. benchmarks/time_to_accuracy.py on the GPU: 20 seeds of the fast recipe in process, 3 as whole
#     processes, the speed-ups one at a time, the source script once, and the 1998 network's 20
#     passes with Adam and with SDLM as CUDA graphs, written as run records too;
#  4. the book's other GPU runs recorded (python -m lenet record --device cuda, seed 0: the 1998
#     network with distortions, the source's Adam run, the fast recipe);
#  5. where a step's time goes on the GPU (benchmarks/gpu_profile.py).
#
# Every step runs even when one before it failed; its log, its exit status and its time are kept.
# Everything lands in OUTDIR (logs, gpu.json, records/ with their checkpoints) and in OUTDIR.tar.gz;
# a short table is printed last. To bring the results into the book: copy OUTDIR/gpu.json to
# benchmarks/results/gpu-<name>.json and OUTDIR/records/* to results/ (see benchmarks/RESULTS.md).
#
# For a GPU machine without a network, pack the data first (about 11 MB; .gpu-data is git-ignored):
#   mkdir -p .gpu-data && for f in "$LENET_DATA_DIR"/MNIST/raw/*-ubyte; do gzip -c "$f" > .gpu-data/$(basename "$f").gz; done
set -uo pipefail
cd "$(dirname "$0")/.."
OUTDIR=${1:-gpu-check-$(date +%Y-%m-%d)}
mkdir -p "$OUTDIR"
export PYTHONUNBUFFERED=1
export LENET_DATA_DIR=${LENET_DATA_DIR:-$HOME/.cache/lenet}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python3}

steps=()
step() {  # step NAME COMMAND...: run it, log it, keep going
  local name=$1 start=$SECONDS rc
  shift
  echo "== $name: $*" | tee -a "$OUTDIR/gpu-check.log"
  "$@" > "$OUTDIR/$name.log" 2>&1
  rc=$?
  tail -n 25 "$OUTDIR/$name.log"
  steps+=("$name $rc $((SECONDS - start))")
  echo "== $name: exit status $rc" | tee -a "$OUTDIR/gpu-check.log"
}

unpack() {
  local raw="$LENET_DATA_DIR/MNIST/raw" f out
  mkdir -p "$raw"
  for f in .gpu-data/*.gz; do
    [ -e "$f" ] || continue
    out="$raw/$(basename "$f" .gz)"
    [ -f "$out" ] || gunzip -c "$f" > "$out"
  done
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
  $PY -m lenet data
}

step data unpack
step tests $PY -m pytest -q -p no:cacheprovider tests/test_gpu.py
step benchmark $PY benchmarks/time_to_accuracy.py --device cuda --seeds 20 --process-seeds 3 --source-runs 1 --ablation \
    --classic-epochs 20 --records "$OUTDIR/records" --out "$OUTDIR/gpu.json"
step records $PY -m lenet record classic-sdlm-distorted modern-source-adam modern-fast --device cuda \
    --seeds 0 --out "$OUTDIR/records"
step profile $PY benchmarks/gpu_profile.py --out "$OUTDIR/gpu-profile.json"

tar -czf "$OUTDIR.tar.gz" "$OUTDIR"
echo
echo "step        exit  seconds   (logs, gpu.json and records/ in $OUTDIR, all of it in $OUTDIR.tar.gz)"
for s in "${steps[@]}"; do
  read -r name rc secs <<< "$s"
  printf '%-11s %4s  %7s\n' "$name" "$rc" "$secs"
done
[ -f "$OUTDIR/benchmark.log" ] && sed -n '/^- /p' "$OUTDIR/benchmark.log"
