#!/bin/sh
# pipelines/demo.sh takes the run directory's lock as search.sh does (settings.sh lock_run): a
# second demo on a run directory in use is refused before any work.
. "$(dirname "$0")/../lib.sh"
D=$ROOT/pipelines/demo.sh
R="$TMP/demo"
mkdir -p "$R"
# The stand-in for a running demo: a live process whose pid is in the lock file, holding the lock.
sh -c 'echo $$ >"$1"; exec flock "$1" sleep 5' sh "$R/.lock" &
holder=$!
i=0
while flock -n "$R/.lock" true 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
# (timeout: a demo that ignored the lock would start its work)
timeout 20 "$D" RUN="$R" ITER=1 CANDIDATES=1 QEMU=0 >/dev/null 2>"$TMP/e1"
check_eq "a second demo on the same run directory: status 2" "$?" 2
check "it says another demo is running" grep -q 'another demo is running' "$TMP/e1"
check "and did nothing" test ! -e "$R/command.txt"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
done_testing
