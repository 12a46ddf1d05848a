#!/bin/bash
# The acceptance runs of issue 31 on the test half for one kernel seed (the rule frozen at 7a8c8c3; its
# Set5/Set14 rows are "_wide"):
#   git worktree add --detach /tmp/zssr-7a8c8c3 7a8c8c3
#   ZSSR_CODE=/tmp/zssr-7a8c8c3 bash benchmarks/blind_sr/test_half_queue.sh 11 &   # and 12 on the other core
exec bash "$(dirname "$0")/corpus_queue.sh" test "$1" wide
