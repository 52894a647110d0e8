#!/bin/sh
# Runs every unit test binary (build/tests/test_*) and CLI test (tests/cli/*.sh), counts their
# TAP lines, and ends with "N passed, N failed". A test that exits non-zero without reporting a
# failed point (a crash) counts as one failure.
cd "$(dirname "$0")/.." || exit 2
passed=0
failed=0
log=$(mktemp)
for t in build/tests/test_* tests/cli/*.sh; do
	[ -x "$t" ] || continue
	start=$(date +%s)
	"$t" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^ok' "$log")
	f=$(grep -c '^not ok' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $t exited with status $rc" >>"$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	secs=$(( $(date +%s) - start ))
	if [ "$f" -gt 0 ]; then
		echo "FAIL $t ($p passed, $f failed, ${secs}s)"
		grep -v '^ok' "$log" | head -40 | sed 's/^/    /'
	else
		echo "PASS $t ($p passed, ${secs}s)"
	fi
done
rm -f "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
