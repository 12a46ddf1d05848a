#!/bin/bash
# Two source trees' fit-and-run side by side on one LR image: one thread each, the same seed, both started at
# the same moment, each with its own empty export cache; prints wall times and says whether the two outputs are
# the same bytes (the CPU path unchanged bit for bit).
#
#   git worktree add --detach /tmp/old <commit>
#   bash benchmarks/speed/two_commits.sh /tmp/old . bird_lr.png bird_hr.png OUTDIR 0 1 2
#
# bird_lr.png / bird_hr.png: speed.md, "End to end against the authors' released code" (the rgb protocol).
# Results: OUTDIR/times.txt (one line a side and seed), OUTDIR/log_{old,new}_SEED.txt (each command's output).
set -u
old=$(cd "$1" && pwd); new=$(cd "$2" && pwd); lr=$(realpath "$3"); gt=$(realpath "$4"); out=$5; shift 5
mkdir -p "$out"; out=$(cd "$out" && pwd)
py=${PYTHON:-python}
lscpu | grep "Model name" >> "$out/times.txt"
side() {  # name tree seed
  ( export PYTHONPATH=$2 OMP_NUM_THREADS=1 ZSSR_DEPLOY_CACHE=$out/cache_$1_$3
    t0=$(date +%s.%N)
    "$py" -c "from zssr_deploy.cli import main; main()" fit-and-run "$lr" -o "$out/out_$1_$3.png" --threads 1 \
        --seed "$3" --gt "$gt" > "$out/log_$1_$3.txt" 2>&1
    t1=$(date +%s.%N); echo "$1 $(git -C "$2" rev-parse --short HEAD) seed $3 wall $(echo "$t1 - $t0" | bc) s" >> "$out/times.txt" )
}
for s in "$@"; do
  side old "$old" "$s" & side new "$new" "$s" & wait
  cmp -s "$out/out_old_$s.png" "$out/out_new_$s.png" && echo "seed $s: outputs identical" >> "$out/times.txt" \
      || echo "seed $s: outputs DIFFER" >> "$out/times.txt"
done
cat "$out/times.txt"; grep -H "^time:" "$out"/log_*.txt
