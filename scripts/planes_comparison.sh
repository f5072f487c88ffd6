#!/usr/bin/env bash
# The planes latent-action comparison: volumetric vs learned exp(theta A) (integer
# frequencies) vs the in-plane control, 3 seeds each, the same budget (configs/planes.py's
# 100 epochs, or EPOCHS), one run at a time, then a markdown table of the eval.json files.
#
#   bash scripts/planes_comparison.sh ROOT [EPOCHS]      # e.g. ROOT=runs/planes_cmp
#
# All runs share one rendered data set (ROOT/data). Existing finished runs are skipped
# (launch.py resumes unfinished ones), so the script can be started again after a stop.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:?usage: scripts/planes_comparison.sh ROOT [EPOCHS]}
EPOCHS_OVERRIDE=${2:+--config.num_epochs=$2}  # empty: the config's own schedule
mkdir -p "$ROOT/data"
for seed in 0 1 2; do
  for action in volumetric learned_channels_integer inplane; do
    case $action in  # each action's own config (only the volumetric one tilts its axis)
      volumetric) config=configs/planes.py ;;
      learned_channels_integer) config=configs/planes_learned.py ;;
      inplane) config=configs/planes_inplane.py ;;
    esac
    dir="$ROOT/$action/seed$seed"
    mkdir -p "$ROOT/$action"
    if [ -f "$dir/eval.json" ]; then continue; fi
    echo "$(date -u +%H:%M:%S) start $action seed $seed"
    nice -n 5 python launch.py --config "$config" --workdir "$dir" \
      --config.seed="$seed" $EPOCHS_OVERRIDE --config.data.planes.cache_dir="$ROOT/data" \
      > "$dir.log" 2>&1 || echo "FAILED: $action seed $seed (see $dir.log)"
    echo "$(date -u +%H:%M:%S) done $action seed $seed"
  done
done
python -m gla.settings.planes.evaluate "$ROOT"/*/seed*/ | tee "$ROOT/table.md"
