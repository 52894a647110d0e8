#!/bin/sh
# pipelines/fuzz.sh [SECONDS] — fuzz the record reader, arch parser and shared check with
# libFuzzer (clang -fsanitize=fuzzer,address,undefined). `make fuzz FUZZ_SECONDS=300`.
# The committed seed corpus (tests/fuzz/corpus) is copied, never modified; new inputs and any
# crash reproducer land in build/fuzz/. Exit status: 0 no crash, 1 a crash was found, 2 build error.
set -u
cd "$(dirname "$0")/.." || exit 2
SECONDS_TO_RUN=${1:-60}
OUT=build/fuzz
mkdir -p "$OUT/corpus" "$OUT/crashes"
LIB="src/arch.c src/record.c src/util.c src/check.c src/cost.c src/graph.c src/plan.c src/space.c"
clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -Isrc -I/usr/include/cjson \
	-o "$OUT/fuzz_check" tests/fuzz/fuzz_check.c $LIB -lcjson -lm || exit 2
cp tests/fuzz/corpus/* "$OUT/corpus/"
echo "fuzz: running $OUT/fuzz_check for ${SECONDS_TO_RUN}s" >&2
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
"$OUT/fuzz_check" -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -timeout=10 -rss_limit_mb=1024 \
	-dict=tests/fuzz/record.dict -artifact_prefix="$OUT/crashes/" -print_final_stats=1 -close_fd_mask=2 \
	"$OUT/corpus" 2>"$OUT/log.txt"
rc=$?
grep -E '^(stat::|#[0-9]+ +DONE)|Done [0-9]+ runs' "$OUT/log.txt" >&2
if [ "$rc" -ne 0 ]; then
	tail -60 "$OUT/log.txt" >&2
	echo "fuzz: FAILED, reproducer in $OUT/crashes/" >&2
	exit 1
fi
echo "fuzz: no crash in ${SECONDS_TO_RUN}s, corpus $(ls "$OUT/corpus" | wc -l) inputs" >&2
