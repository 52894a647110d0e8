#!/bin/sh
# pipelines/fuzz.sh [SECONDS [TARGET...]] — fuzz every parser with libFuzzer
# (clang -fsanitize=fuzzer,address,undefined), each target for SECONDS (60) on one core:
#
#   check        records and archs: record_next -> check_record (tests/fuzz/fuzz_check.c)
#   safetensors  st_open and a checkpoint's arch metadata (tests/fuzz/fuzz_safetensors.c)
#   answer       a model's answer: llm_extract_json -> arch_parse (tests/fuzz/fuzz_answer.c)
#   dataset      IDX, CIFAR-10/100 and safetensors datasets: dataset_load (tests/fuzz/fuzz_dataset.c)
#   images       image folders and CSVs of PNG/JPEG files: dataset_load_images (tests/fuzz/fuzz_images.c)
#
# `make fuzz FUZZ_SECONDS=300 [FUZZ_TARGETS="answer dataset"]`. Each target runs in libFuzzer's
# fork mode, one job at a time, going on after a crash, so what it prints per target is the
# executions and the number of crash, leak, out-of-memory and timeout reproducers (in
# build/fuzz/TARGET/crashes/; a file there replays with build/fuzz/fuzz_TARGET FILE). The
# committed seed corpora (tests/fuzz/corpus/TARGET) are copied, never modified.
# Exit status: 0 no crash, 1 some target crashed, 2 a build error.
set -u
cd "$(dirname "$0")/.." || exit 2
SECONDS_TO_RUN=${1:-60}
[ $# -gt 0 ] && shift
TARGETS=${*:-check safetensors answer dataset images}
OUT=${FUZZ_OUT:-build/fuzz} # where the builds, corpora and reproducers go
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -Isrc -I/usr/include/cjson"
LIBS="-lopenblas -lcjson -lcurl -lz -lpng -ljpeg -lm"
command -v clang >/dev/null || { echo "fuzz: clang is missing (make deps)" >&2; exit 2; }
mkdir -p "$OUT/obj"

# The library, instrumented: every module that does not use OpenMP (the parsers and what they
# call; the nn kernels are not fuzzed). Rebuilt when a source or a header is newer.
objs=
for c in src/core/*.c src/engine/*.c src/cost/*.c src/int8/*.c src/search/*.c; do
	grep -q 'omp\.h' "$c" && continue
	o=$OUT/obj/$(basename "$c" .c).o
	if [ ! -f "$o" ] || [ -n "$(find "$c" src/*/*.h -newer "$o" 2>/dev/null | head -1)" ]; then
		# shellcheck disable=SC2086
		clang $CFLAGS $SAN -fsanitize=fuzzer-no-link -c -o "$o" "$c" || exit 2
	fi
	objs="$objs $o"
done
rm -f "$OUT/liblmnas-fuzz.a"
# shellcheck disable=SC2086
ar rcs "$OUT/liblmnas-fuzz.a" $objs || exit 2

# Largest input per target: a CIFAR record is 3,073 bytes, images hold two small image files.
max_len() { case $1 in dataset | images) echo 16384 ;; *) echo 8192 ;; esac; }

# Where a reproducer fails: its kind and the first frame in src/ (replayed with full stacks), so
# that many reproducers of one defect print as one line.
where() { # binary reproducer files-folder
	kind=$(basename "$2" | sed 's/-.*//')
	frame=$(ASAN_OPTIONS=fast_unwind_on_malloc=0 UBSAN_OPTIONS=print_stacktrace=1 LMNAS_FUZZ_DIR=$3 \
		timeout 60 "$1" "$2" 2>&1 |
		grep -m1 -E ' in [A-Za-z_0-9]+ /.*/src/[a-z_0-9/]+\.c:[0-9]+' |
		sed -E 's/.* in ([A-Za-z_0-9]+) .*\/(src\/[^ ]*)/\1 \2/')
	echo "$kind ${frame:-(no frame in src/)}"
}

status=0
for t in $TARGETS; do
	src=tests/fuzz/fuzz_$t.c
	[ -f "$src" ] || { echo "fuzz: no target '$t' ($src)" >&2; exit 2; }
	bin=$OUT/fuzz_$t
	# shellcheck disable=SC2086
	clang $CFLAGS $SAN -fsanitize=fuzzer -Itests/fuzz -o "$bin" "$src" "$OUT/liblmnas-fuzz.a" $LIBS ||
		exit 2
	dir=$OUT/$t
	rm -rf "$dir/crashes"
	mkdir -p "$dir/corpus" "$dir/crashes"
	cp tests/fuzz/corpus/"$t"/* "$dir/corpus/" 2>/dev/null
	dict=
	[ -f "tests/fuzz/$t.dict" ] && dict=-dict=tests/fuzz/$t.dict
	echo "fuzz: $t: ${SECONDS_TO_RUN}s" >&2
	# The inputs the file parsers read are written in a folder of this run (in memory if it can be).
	shm=/dev/shm
	[ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
	files=$(mktemp -d "$shm/lmnas-fuzz-$t.XXXXXX") || exit 2
	# Messages about bad inputs go to stderr: -close_fd_mask=2 keeps them out of the log.
	# shellcheck disable=SC2086
	LMNAS_FUZZ_DIR=$files UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$bin" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
		-max_total_time="$SECONDS_TO_RUN" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
		-malloc_limit_mb=1024 $dict -artifact_prefix="$dir/crashes/" -close_fd_mask=2 \
		"$dir/corpus" >"$dir/log.txt" 2>&1
	# Fork mode's status lines: "#EXECS: cov: ... corp: ... exec/s: ... oom/timeout/crash: O/T/C".
	execs=$(grep -E '^#[0-9]+: ' "$dir/log.txt" | tail -1 | sed 's/^#\([0-9]*\):.*/\1/')
	found=$(find "$dir/crashes" -type f | wc -l | tr -d ' ')
	echo "fuzz: $t: ${execs:-0} executions in ${SECONDS_TO_RUN}s, $found crash reproducer(s), corpus $(find "$dir/corpus" -type f | wc -l | tr -d ' ') inputs" >&2
	if [ "$found" -gt 0 ]; then
		status=1
		for f in "$dir/crashes"/*; do where "$bin" "$f" "$files"; done | sort | uniq -c |
			sed 's/^/fuzz:   /' >&2
		find "$dir/crashes" -type f | head -3 | sed 's/^/fuzz:   e.g. /' >&2
	fi
	rm -rf "$files"
done
[ "$status" -eq 0 ] && echo "fuzz: no crash in any target" >&2
exit "$status"
