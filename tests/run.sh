#!/bin/sh
# Runs every unit test binary (build/tests/test_*) and CLI test (tests/cli/*.sh), reads their TAP
# output, and ends with "N passed, N failed, N skipped".
#   ok ... # SKIP why   a skip: counted apart, never as a pass
#   1..N                the plan: a test whose points do not add up to it failed (it stopped early)
# A test that exits non-zero without a failed point (a crash), or prints no plan, counts as one
# failure. Under CI (CI=true) the tests themselves fail, rather than skip, when inputs are missing.
cd "$(dirname "$0")/.." || exit 2
passed=0
failed=0
skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# what should run: one binary per unit test source, every CLI script. A missing binary or a script
# that is not executable is a failure, not a silent skip (it would otherwise never run again).
tests=$(for c in tests/unit/test_*.c; do [ -e "$c" ] && basename "$c" .c | sed 's|^|build/tests/|'; done
	for s in tests/cli/*.sh; do [ -e "$s" ] && echo "$s"; done)
for t in $tests; do
	if [ ! -x "$t" ]; then
		failed=$((failed + 1))
		case $t in
		build/*) why="was not built" ;;
		*) why="is missing" ;;
		esac
		[ -e "$t" ] && why="is not executable (chmod +x it)"
		echo "FAIL $t $why"
		continue
	fi
	start=$(date +%s)
	"$t" >"$log" 2>&1
	rc=$?
	s=$(grep -c '^ok\b.*# *SKIP' "$log")
	p=$(( $(grep -c '^ok\b' "$log") - s ))
	f=$(grep -c '^not ok\b' "$log")
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$log" | tail -1)
	if [ -z "$plan" ]; then
		f=$((f + 1))
		echo "not ok - $t printed no plan (1..N): it stopped early" >>"$log"
	elif [ "$plan" -ne $((p + s + f)) ]; then
		f=$((f + 1))
		echo "not ok - $t planned $plan points and printed $((p + s + f - 1))" >>"$log"
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $t exited with status $rc" >>"$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	secs=$(( $(date +%s) - start ))
	if [ "$f" -gt 0 ]; then
		echo "FAIL $t ($p passed, $f failed, $s skipped, ${secs}s)"
		grep -v '^ok\b' "$log" | head -40 | sed 's/^/    /'
	elif [ "$s" -gt 0 ]; then
		echo "PASS $t ($p passed, $s skipped, ${secs}s)"
		grep '^ok\b.*# *SKIP' "$log" | sed 's/^/    /'
	else
		echo "PASS $t ($p passed, ${secs}s)"
	fi
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
