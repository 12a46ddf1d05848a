#!/bin/bash
# The fits that judge a blind-SR rule on one half of the held-out corpus, for one kernel seed, on one core;
# resumable (each evaluate --resume skips what is done). Run from a worktree of the rule under judgement:
#   git worktree add --detach /tmp/zssr-RULE RULE
#   ZSSR_CODE=/tmp/zssr-RULE bash benchmarks/blind_sr/corpus_queue.sh HALF SEED SUFFIX &   # the other seed on the other core
# HALF: test or fresh (benchmarks/results/corpus_HALF/); SUFFIX names the Set5/Set14 rows' results file.
# 1. HALF x2, per photo none / true / estimate (default preset); 2. the same at x4; 3. Set5 and part of Set14
# (seed 11's core) or the rest of Set14 (seed 12's) x2 estimate rows, given-kernel preset as their existing
# true/estimate rows. The photos:
# python benchmarks/blind_sr/corpus.py --mirrors MIRRORS --out benchmarks/blind/corpus --halves HALF --scales 2 4
set -u
cd "$(dirname "$0")/../.."
export PYTHONPATH=${ZSSR_CODE:?the worktree of the rule under judgement} OMP_NUM_THREADS=1
half=$1 s=$2 suffix=$3
data=${DATA:-../shared/data}
ev() { .venv/bin/zssr-deploy -q evaluate "$@" --upscaler zssr --threads 1 --resume; }
for scale in 2 4; do
  for f in benchmarks/blind/corpus/$half/hr/*.png; do
    n=$(basename "$f" .png)
    for k in none true estimate; do
      ev benchmarks/blind/corpus/$half/hr --scale $scale --lr benchmarks/blind/corpus/$half/x${scale}_s$s --kernel $k \
        --only "$n" --json benchmarks/results/corpus_$half/corpus_${half}_x${scale}_s${s}_$k.json
    done
  done
done
# The Set5/Set14 estimate rows are set against none/true rows trained in bf16 (on a CPU with native bf16 units);
# where --precision auto resolves to fp32 they would compare two precisions, so they wait for such a machine.
precision=$(.venv/bin/python -c 'import torch; from zssr_deploy.models.device import resolve_precision
print(resolve_precision("auto", torch.device("cpu")))')
if [ "$precision" != bf16 ]; then
  echo "Set5/Set14 rows not run: this CPU trains in $precision, their none/true rows in bf16" >&2
  exit 0
fi
# Set14 split by pixel count: barbara, monarch, ppt3, comic and face (about 1320 k of its 3220 k pixels) go to
# seed 11's core after Set5 (570 k), as a _part2 file (blind_table.py reads a prefix's parts), so that both cores finish near the same time
set14_part2=(--only barbara --only monarch --only ppt3 --only comic --only face)
set14_part1=(--only baboon --only bridge --only coastguard --only flowers --only foreman --only lenna --only man
             --only pepper --only zebra)
if [ "$s" = 11 ]; then
  ev "$data/Set5" --lr benchmarks/blind/set5_x2 --preset given-kernel --kernel estimate \
    --json benchmarks/results/blind_set5_x2/blind_set5_x2_$suffix.json
  ev "$data/Set14" --lr benchmarks/blind/set14_x2 --preset given-kernel --kernel estimate "${set14_part2[@]}" \
    --json benchmarks/results/blind_set14_x2/blind_set14_x2_${suffix}_part2.json
else
  ev "$data/Set14" --lr benchmarks/blind/set14_x2 --preset given-kernel --kernel estimate "${set14_part1[@]}" \
    --json benchmarks/results/blind_set14_x2/blind_set14_x2_$suffix.json
fi
