#!/bin/sh
# The Makefile's header dependencies: after a build, touching one header must rebuild exactly the
# objects and programs whose sources include it (directly or through another header), not every
# object (the old rule made each object depend on every header) and not none. Works on a copy of
# the built tree (cp -p keeps the times) and asks make what it would do (-n), so nothing is built.
. "$(dirname "$0")/../lib.sh"

if [ ! -f "$ROOT/build/obj/core/prng.d" ]; then
	fail "the tree was built without dependency files (run make all first)"
	done_testing
fi
copy="$TMP/tree"
mkdir -p "$copy"
(cd "$ROOT" && tar cf - Makefile src tests/unit build bin) | (cd "$copy" && tar xpf -)
check "the copy is up to date" sh -c "cd '$copy' && make -q all"

# an object whose .d is missing (a tree built before the rule) is rebuilt once
mv "$copy/build/obj/core/utf8.d" "$TMP/utf8.d"
(cd "$copy" && make -n all) >"$TMP/plan2" 2>&1
check "an object without its .d is rebuilt" grep -q -- '-o build/obj/core/utf8.o' "$TMP/plan2"
mv "$TMP/utf8.d" "$copy/build/obj/core/utf8.d"

touch "$copy/src/core/prng.h"
(cd "$copy" && make -n all) >"$TMP/plan" 2>&1
rebuilt=$(grep -o -- '-o build/obj/[^ ]*\.o' "$TMP/plan" | sed 's|-o build/obj/||; s|\.o$||' | sort)
# what includes prng.h: the sources naming it, and the sources naming a header that names it
users=$(cd "$copy/src" && {
	grep -l '"core/prng.h"' */*.c | grep -v '^cmd/'
	for h in $(grep -l '"core/prng.h"' */*.h); do grep -l "\"$h\"" */*.c | grep -v '^cmd/'; done
} | sed 's|\.c$||' | sort -u)
check_eq "touching core/prng.h rebuilds exactly the objects that include it" "$rebuilt" "$users"
total=$(ls "$copy"/src/*/*.c | grep -vc '/cmd/')
n=$(echo "$rebuilt" | grep -c .)
check "fewer than all $total library objects ($n)" test "$n" -gt 0 -a "$n" -lt "$total"

done_testing
