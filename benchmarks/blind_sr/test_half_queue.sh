#!/bin/bash
# The acceptance runs of issue 31 for one kernel seed, on one core; resumable (each evaluate --resume skips what is
# done). Run with the estimator of the rule chosen on the design half (commit 7a8c8c3), from a worktree of it:
#   git worktree add --detach /tmp/zssr-7a8c8c3 7a8c8c3
#   ZSSR_CODE=/tmp/zssr-7a8c8c3 bash benchmarks/blind_sr/test_half_queue.sh 11 &   # and 12 on the other core
# 1. test half x2, per image none / true / estimate (default preset); 2. the same at x4; 3. Set5 (seed 11's core)
# or Set14 (seed 12's) x2 estimate rows, given-kernel preset as their existing true/estimate rows. The corpus:
# python benchmarks/blind_sr/corpus.py --mirrors MIRRORS --out benchmarks/blind/corpus --scales 2 4
set -u
cd "$(dirname "$0")/../.."
export PYTHONPATH=${ZSSR_CODE:?the worktree of the chosen rule} OMP_NUM_THREADS=1
s=$1
data=${DATA:-../shared/data}
ev() { .venv/bin/zssr-deploy -q evaluate "$@" --upscaler zssr --threads 1 --resume; }
for scale in 2 4; do
  for f in benchmarks/blind/corpus/test/hr/*.png; do
    n=$(basename "$f" .png)
    for k in none true estimate; do
      ev benchmarks/blind/corpus/test/hr --scale $scale --lr benchmarks/blind/corpus/test/x${scale}_s$s --kernel $k \
        --only "$n" --json benchmarks/results/corpus_test/corpus_test_x${scale}_s${s}_$k.json
    done
  done
done
set_name=$([ "$s" = 11 ] && echo Set5 || echo Set14); low=$(echo "$set_name" | tr S s)
ev "$data/$set_name" --lr benchmarks/blind/${low}_x2 --preset given-kernel --kernel estimate \
  --json benchmarks/results/blind_${low}_x2/blind_${low}_x2_wide.json
