#!/bin/sh
# make fuzz builds every libFuzzer target against the instrumented library and runs each for a
# few seconds on its committed seeds without a crash, so a target cannot rot between the runs
# that fuzz for hours (pipelines/fuzz.sh). Output in a private folder (FUZZ_OUT).
. "$(dirname "$0")/../lib.sh"
if ! command -v clang >/dev/null 2>&1; then
	skip "clang is not installed (make deps installs it)"
	done_testing
fi
targets="check safetensors answer dataset images"
FUZZ_OUT=$TMP/fuzz "$ROOT/pipelines/fuzz.sh" 2 $targets >"$TMP/fuzz.log" 2>&1
rc=$?
check_eq "every fuzz target builds and runs 2 s without a crash (exit 0)" "$rc" 0
for t in $targets; do
	n=$(sed -n "s/^fuzz: $t: \([0-9]*\) executions.*/\1/p" "$TMP/fuzz.log")
	if [ "${n:-0}" -gt 0 ]; then ok "$t: $n executions"; else fail "$t ran no input"; fi
done
[ "$rc" -eq 0 ] || sed 's/^/# /' "$TMP/fuzz.log" | tail -20
done_testing
