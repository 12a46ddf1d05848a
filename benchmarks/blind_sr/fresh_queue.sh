#!/bin/bash
# The fresh set's runs for issue 31's next rule, the width cap (commit 665504f; its Set5/Set14 rows are
# "_capped"), for one kernel seed:
#   git worktree add --detach /tmp/zssr-665504f 665504f
#   ZSSR_CODE=/tmp/zssr-665504f bash benchmarks/blind_sr/fresh_queue.sh 11 &   # and 12 on the other core
exec bash "$(dirname "$0")/corpus_queue.sh" fresh "$1" capped
