#!/usr/bin/env bash
# Accelerator check of issue 6 on one GPU, under 5 minutes:
#   bash bench/gpu.sh            # needs a CUDA build of JAX: pip install -e . 'jax[cuda12]'
# Prints images/s at batch 64 / 256 / 1024 (--fused steps per dispatch, default 20), a 48,000-image
# epoch's wall time, 1 and 5 seeds in one program, one step's agreement with the CPU, and
# the 100k images/s target check.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,memory.total,utilization.gpu --format=csv || true
timeout 290 python -m bench.gpu "$@"
