#!/bin/sh
# tests/run.sh itself: a test that is not run must count as a failure, never disappear. Builds a
# small tree of fake tests (a passing unit test, a passing script, then a script without its
# execute bit and a unit test source without its binary) and reads the runner's summary line.
. "$(dirname "$0")/../lib.sh"

tree="$TMP/tree"
mkdir -p "$tree/tests/cli" "$tree/tests/unit" "$tree/build/tests"
cp "$ROOT/tests/run.sh" "$tree/tests/run.sh"
printf '#!/bin/sh\necho "ok 1 - fine"\necho "1..1"\n' >"$tree/tests/cli/good.sh"
chmod +x "$tree/tests/cli/good.sh"
echo 'int main(void) { return 0; }' >"$tree/tests/unit/test_good.c"
printf '#!/bin/sh\necho "ok 1 - unit"\necho "1..1"\n' >"$tree/build/tests/test_good"
chmod +x "$tree/build/tests/test_good"

out=$(sh "$tree/tests/run.sh" 2>&1)
rc=$?
check_eq "two passing tests: summary" "$(echo "$out" | tail -1)" "2 passed, 0 failed, 0 skipped"
check_eq "two passing tests: exit 0" "$rc" 0

cp "$tree/tests/cli/good.sh" "$tree/tests/cli/noexec.sh"
chmod -x "$tree/tests/cli/noexec.sh"
out=$(sh "$tree/tests/run.sh" 2>&1)
rc=$?
check_eq "a script without +x fails" "$(echo "$out" | tail -1)" "2 passed, 1 failed, 0 skipped"
check "it is named" sh -c 'echo "$1" | grep -q "FAIL tests/cli/noexec.sh is not executable"' _ "$out"
check_eq "exit 1" "$rc" 1
rm "$tree/tests/cli/noexec.sh"

echo 'int main(void) { return 0; }' >"$tree/tests/unit/test_unbuilt.c"
out=$(sh "$tree/tests/run.sh" 2>&1)
check_eq "a unit test without its binary fails" "$(echo "$out" | tail -1)" "2 passed, 1 failed, 0 skipped"
check "it is named" sh -c 'echo "$1" | grep -q "FAIL build/tests/test_unbuilt was not built"' _ "$out"
rm "$tree/tests/unit/test_unbuilt.c"

# a stale binary whose source is gone is not run (it tests code that no longer exists)
printf '#!/bin/sh\necho "not ok 1 - stale"\necho "1..1"\n' >"$tree/build/tests/test_stale"
chmod +x "$tree/build/tests/test_stale"
out=$(sh "$tree/tests/run.sh" 2>&1)
check_eq "a binary without a source is not run" "$(echo "$out" | tail -1)" "2 passed, 0 failed, 0 skipped"

done_testing
