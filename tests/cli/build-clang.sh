#!/bin/sh
# make CC=clang compiles and links every program and test (in a copy of the sources, at -O0 to
# stay quick), and the sanitised build of the Makefile's header compiles the library and links a
# unit test that then passes under ASan/UBSan.
. "$(dirname "$0")/../lib.sh"

tar -C "$ROOT" -c Makefile src tests/unit | tar -C "$TMP" -x
if ! command -v clang >/dev/null 2>&1; then
	ok "# SKIP clang is not installed (make deps installs it)"
else
	make -s -C "$TMP" -j2 CC=clang CFLAGS=-O0 all >"$TMP/clang.log" 2>&1
	check_eq "make CC=clang builds everything" "$?" 0
	grep ': error' "$TMP/clang.log" | head -5 | sed 's/^/# /'
	check "clang: the programs run" "$TMP/bin/check-cost" --help
	check "clang: a unit test passes" sh -c "cd '$TMP' && build/tests/test_plan"
fi
rm -rf "$TMP/build" "$TMP/bin"
make -s -C "$TMP" -j2 CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
	build/tests/test_plan >"$TMP/san.log" 2>&1
check_eq "make CFLAGS=\"-O1 -g -fsanitize=address,undefined ...\" builds" "$?" 0
grep ': error' "$TMP/san.log" | head -5 | sed 's/^/# /'
check "sanitised: a unit test passes" sh -c "cd '$TMP' && ASAN_OPTIONS=detect_leaks=0 build/tests/test_plan"
done_testing
