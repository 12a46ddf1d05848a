#!/bin/bash
# Set5 + Set14 x2 (degrade --seed 0) under the per-axis width cap (commit a4002a7), all three ZSSR rows trained in
# fp32, for a CPU without bf16 units: the sets' existing none/true rows were trained in bf16, and an image's rows
# must share one precision (blind_table.py stops otherwise). One core's share, resumable (each evaluate --resume
# skips what is done); run both shares at once, one thread each:
#   git worktree add --detach /tmp/zssr-a4002a7 a4002a7
#   ZSSR_CODE=/tmp/zssr-a4002a7 bash benchmarks/blind_sr/sets_fp32_queue.sh a &   # and b on the other core
# Rows as the sets' bf16 rows: none with the default preset, true and estimate with given-kernel. Per image the
# three rows in turn, so that an interrupted queue leaves whole images. The split (about equal bf16 fit time):
# a = Set5 and five Set14 images (the _part2 files), b = the other nine. Read with
#   python benchmarks/blind_sr/blind_table.py benchmarks/results/blind_set5_x2/blind_set5_x2 benchmarks/blind/set5_x2 \
#     benchmarks/results/blind_set14_x2/blind_set14_x2 benchmarks/blind/set14_x2 --rows fp32 --estimate axiscap_fp32
set -u
cd "$(dirname "$0")/../.."
export PYTHONPATH=${ZSSR_CODE:?the worktree of the rule under judgement} OMP_NUM_THREADS=1
data=${DATA:-../shared/data}
ev() { .venv/bin/zssr-deploy -q evaluate "$@" --upscaler zssr --threads 1 --precision fp32 --resume; }
rows() {  # SET LR_DIR JSON_PREFIX NAME...
  local set=$1 lr=$2 prefix=$3 part=$4
  shift 4
  for n in "$@"; do
    ev "$data/$set" --lr "$lr" --only "$n" --kernel none --json "${prefix}_none_fp32$part.json"
    ev "$data/$set" --lr "$lr" --only "$n" --preset given-kernel --kernel true --json "${prefix}_true_fp32$part.json"
    ev "$data/$set" --lr "$lr" --only "$n" --preset given-kernel --kernel estimate \
      --json "${prefix}_axiscap_fp32$part.json"
  done
}
s5=benchmarks/results/blind_set5_x2/blind_set5_x2 s14=benchmarks/results/blind_set14_x2/blind_set14_x2
case ${1:?a or b} in
  a) rows Set5 benchmarks/blind/set5_x2 $s5 "" baby bird butterfly head woman
     rows Set14 benchmarks/blind/set14_x2 $s14 _part2 barbara coastguard face flowers foreman ;;
  b) rows Set14 benchmarks/blind/set14_x2 $s14 "" baboon bridge comic lenna man monarch pepper ppt3 zebra ;;
  *) echo "a or b" >&2; exit 2 ;;
esac
