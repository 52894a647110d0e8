#!/bin/sh
# pipelines/demo.sh: its manners (help, bad settings, missing programs → status 2 before any work).
# The whole pipeline itself runs in tests/cli/readme.sh (make demo with tiny budgets).
. "$(dirname "$0")/../lib.sh"
D=$ROOT/pipelines/demo.sh
"$D" --help >"$TMP/h"
check_eq "--help: status 0" "$?" 0
check "--help lists the stages and settings" sh -c "grep -q 'm7-test' '$TMP/h' && grep -q 'FULL_EPOCHS' '$TMP/h' && grep -q 'SRAM_MAX (64KiB)' '$TMP/h'"
"$D" oops 2>"$TMP/e1"
check_eq "a bare argument: status 2" "$?" 2
check "it says arguments are NAME=value" grep -q 'NAME=value' "$TMP/e1"
"$D" RUN="$TMP/r" ITER=x 2>"$TMP/e2"
check_eq "ITER=x: status 2" "$?" 2
check "it names the setting" grep -q "ITER must be a whole number" "$TMP/e2"
"$D" RUN="$TMP/r" WEIGHTS=int4 2>"$TMP/e4"
check_eq "WEIGHTS=int4: status 2" "$?" 2
check "it names int8 and ternary" grep -q "WEIGHTS=int4: int8 or ternary" "$TMP/e4"
check "--help documents WEIGHTS" grep -q 'WEIGHTS (int8)' "$TMP/h"
BIN=$TMP/nobin "$D" RUN="$TMP/r" 2>"$TMP/e3"
check_eq "programs missing: status 2" "$?" 2
check "it says to run make" grep -q 'missing: run make' "$TMP/e3"
check "nothing was started" test ! -e "$TMP/r"
check "make demo is a target that builds first" sh -c "make -n -C '$ROOT' demo | grep -q 'pipelines/demo.sh'"
check "make report RUN=dir runs report.sh on that dir" sh -c "make -n -C '$ROOT' report RUN=/x/y | grep -q 'pipelines/report.sh /x/y'"
done_testing
