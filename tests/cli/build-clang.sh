#!/bin/sh
# make CC=clang with the sanitised CFLAGS of the Makefile's header (at -O0 to stay quick)
# compiles the whole library in a copy of the sources and links a trainer (nn_bn.c calls the
# activation kernels across files) and a unit test, which passes under ASan/UBSan. (GCC's sanitised build, make CFLAGS="-O1 -g -fsanitize=...", uses the
# same Makefile path; it is too slow to repeat here.)
. "$(dirname "$0")/../lib.sh"
if ! command -v clang >/dev/null 2>&1; then
	skip "clang is not installed (make deps installs it)"
	done_testing
fi
tar -C "$ROOT" -c Makefile src tests/unit | tar -C "$TMP" -x
make -s -C "$TMP" -j2 CC=clang CFLAGS="-O0 -g -fsanitize=address,undefined" \
	bin/mini-train build/tests/test_plan >"$TMP/clang.log" 2>&1
check_eq "make CC=clang CFLAGS=\"-O0 -g -fsanitize=address,undefined\" builds" "$?" 0
grep -E ': error|undefined reference' "$TMP/clang.log" | head -5 | sed 's/^/# /'
check "the trainer runs" "$TMP/bin/mini-train" --help
check "a unit test passes under ASan/UBSan" sh -c "cd '$TMP' && build/tests/test_plan"
done_testing
