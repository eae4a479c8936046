#!/usr/bin/env bash
# The prepared GPU check: everything that needs a CUDA GPU, in one run of about 5 minutes.
#
#   bash benchmarks/gpu_check.sh [OUTDIR]
#
# 1. MNIST: from the cache ($LENET_DATA_DIR), else from .gpu-data/*.gz (the four IDX files,
#    gzipped, for a machine without a network), checked against their md5 by `python -m lenet data`;
# 2. the CUDA tests (tests/test_gpu.py) and the CPU-proven step tests (tests/test_step.py);
# 3. benchmarks/time_to_accuracy.py on the GPU: 5 seeds of the fast recipe in process and as whole
#    processes (python -m lenet train --fast), the speed-ups one at
#    a time, the source script once, the classic model for the paper's 20 passes;
# 4. the book's main runs recorded on the GPU (python -m lenet record --device cuda, seed 0):
#    the records chapters 6-8 compare with, written to OUTDIR/records (copy them into results/).
# Logs and the JSON go to OUTDIR (default: benchmarks/results).
#
# For a GPU machine without a network, pack the data first (about 11 MB; .gpu-data is git-ignored):
#   mkdir -p .gpu-data && for f in "$LENET_DATA_DIR"/MNIST/raw/*-ubyte; do gzip -c "$f" > .gpu-data/$(basename "$f").gz; done
set -euo pipefail
cd "$(dirname "$0")/.."
OUTDIR=${1:-benchmarks/results}
mkdir -p "$OUTDIR"
export PYTHONUNBUFFERED=1
export LENET_DATA_DIR=${LENET_DATA_DIR:-$HOME/.cache/lenet}
PY=${PYTHON:-python3}
raw="$LENET_DATA_DIR/MNIST/raw"
if [ -d .gpu-data ]; then
  mkdir -p "$raw"
  for f in .gpu-data/*.gz; do
    out="$raw/$(basename "$f" .gz)"
    [ -f "$out" ] || gunzip -c "$f" > "$out"
  done
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUTDIR/gpu-device.txt"
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$OUTDIR/gpu-device.txt"
$PY -m lenet data
$PY -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_step.py 2>&1 | tee "$OUTDIR/gpu-tests.log"
$PY benchmarks/time_to_accuracy.py --device cuda --seeds 5 --process-seeds 5 --source-runs 1 --ablation --classic-epochs 20 \
    --out "$OUTDIR/gpu.json" 2>&1 | tee "$OUTDIR/gpu-benchmark.log"
$PY -m lenet record classic-1998 modern-source-adam modern-source-sgd modern-fast --device cuda --seeds 0 \
    --out "$OUTDIR/records" 2>&1 | tee "$OUTDIR/gpu-records.log"
