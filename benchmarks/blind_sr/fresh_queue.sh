#!/bin/bash
# The fresh set's runs for issue 31's next rule, the per-axis width cap (commit a4002a7; its Set5/Set14 rows are
# "_axiscap"), for one kernel seed:
#   git worktree add --detach /tmp/zssr-a4002a7 a4002a7
#   ZSSR_CODE=/tmp/zssr-a4002a7 bash benchmarks/blind_sr/fresh_queue.sh 11 &   # and 12 on the other core
exec bash "$(dirname "$0")/corpus_queue.sh" fresh "$1" axiscap
