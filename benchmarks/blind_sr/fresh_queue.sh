#!/bin/bash
# The fresh set's runs for issue 31's next rule, for one kernel seed, on one core; resumable (each evaluate
# --resume skips what is done). Run with the rule under judgement (the width cap, commit 665504f) from a worktree:
#   git worktree add --detach /tmp/zssr-665504f 665504f
#   ZSSR_CODE=/tmp/zssr-665504f bash benchmarks/blind_sr/fresh_queue.sh 11 &   # and 12 on the other core
# 1. fresh set x2, per photo none / true / estimate (default preset); 2. the same at x4; 3. Set5 (seed 11's core)
# or Set14 (seed 12's) x2 estimate rows, given-kernel preset as their existing true/estimate rows. The photos:
# python benchmarks/blind_sr/corpus.py --mirrors MIRRORS --out benchmarks/blind/corpus --halves fresh --scales 2 4
set -u
cd "$(dirname "$0")/../.."
export PYTHONPATH=${ZSSR_CODE:?the worktree of the rule under judgement} OMP_NUM_THREADS=1
s=$1
data=${DATA:-../shared/data}
ev() { .venv/bin/zssr-deploy -q evaluate "$@" --upscaler zssr --threads 1 --resume; }
for scale in 2 4; do
  for f in benchmarks/blind/corpus/fresh/hr/*.png; do
    n=$(basename "$f" .png)
    for k in none true estimate; do
      ev benchmarks/blind/corpus/fresh/hr --scale $scale --lr benchmarks/blind/corpus/fresh/x${scale}_s$s --kernel $k \
        --only "$n" --json benchmarks/results/corpus_fresh/corpus_fresh_x${scale}_s${s}_$k.json
    done
  done
done
set_name=$([ "$s" = 11 ] && echo Set5 || echo Set14); low=$(echo "$set_name" | tr S s)
ev "$data/$set_name" --lr benchmarks/blind/${low}_x2 --preset given-kernel --kernel estimate \
  --json benchmarks/results/blind_${low}_x2/blind_${low}_x2_capped.json
