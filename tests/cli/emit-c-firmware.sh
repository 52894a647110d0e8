#!/bin/sh
# emit-c's folder drops into firmware: model.h with extern "C", input preparation (normalisation
# of the dataset or of the model's metadata), class names, arena and stack macros; a caller's
# arena; linker sections and alignment; C99 clean on gcc and clang; called from C++; built by its
# CMakeLists.txt, whose host test passes; a README.md with the memory it needs.
# Model: one random 10-class Fashion-MNIST design, one tiny epoch of mini-train.
. "$(dirname "$0")/../lib.sh"
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
	skip "no Fashion-MNIST (make deps installs it)"
	done_testing
fi
SET="--resolution 28 --classes 10"
"$BIN/gen-arch" --strategy random --count 1 --seed 5 --input-channels 1 $SET --sram-max 40KiB \
	--flash-max 128KiB 2>/dev/null | "$BIN/check-cost" $SET --drop >"$TMP/a.jsonl"
jq -c '{arch}' "$TMP/a.jsonl" >"$TMP/a.json"
"$BIN/mini-train" --epochs 1 --train-limit 16 --batch 16 --val-split 0.0005 --test-limit 8 \
	--threads 1 --no-autoaugment --quiet --out "$TMP/ck.safetensors" <"$TMP/a.jsonl" >/dev/null 2>&1
"$BIN/quantize" --weights "$TMP/ck.safetensors" --arch "$TMP/a.json" --dataset fashion-mnist \
	--resolution 28 --calib 2 --eval 2 -o "$TMP/q.safetensors" </dev/null >/dev/null 2>&1
check "a quantized 10-class model" test -s "$TMP/q.safetensors"
O="$TMP/fm"
"$BIN/emit-c" --model "$TMP/q.safetensors" --name fm -o "$O" --test-vectors 2 \
	--dataset fashion-mnist </dev/null >"$TMP/rec" 2>/dev/null
check_eq "emit-c exits 0" "$?" 0
H="$O/fm.h"
check "model.h has extern \"C\" guards" grep -q '^extern "C" {' "$H"
check_eq "arena size macro" "$(sed -n 's/^#define FM_ARENA_BYTES //p' "$H")" "$(jq .emit.arena_bytes "$TMP/rec")"
check_eq "stack reserve macro" "$(sed -n 's/^#define FM_STACK_BYTES //p' "$H")" 8192
check_eq "Fashion-MNIST normalisation, as the loader applies it" \
	"$(grep -E '^#define FM_(HAS_NORM|NORM_CH|INPUT_MEAN|INPUT_STD)' "$H" | tr '\n' ' ')" \
	"#define FM_HAS_NORMALISATION 1 #define FM_NORM_CHANNELS 1 #define FM_INPUT_MEAN {0.286000013f} #define FM_INPUT_STD {0.352999985f} "
check "Fashion-MNIST's ten class names" grep -q '^#define FM_CLASS_NAMES {"T-shirt/top", "Trouser", .*"Bag", "Ankle boot"}$' "$H"
check "emit.normalisation says where it comes from (the trainer recorded it)" jq -e '.emit.normalisation | test("metadata")' "$TMP/rec"
check "the caller's-arena entry point" grep -q '^int fm_run_with_arena(int8_t \*arena, size_t arena_bytes' "$H"

# C99, -Wall -Wextra -Werror -pedantic, gcc and clang: the host test passes
for cc in gcc clang; do
	if ! command -v $cc >/dev/null 2>&1; then
		skip "$cc is not installed"
		continue
	fi
	$cc -std=c99 -Wall -Wextra -Werror -pedantic -O1 -o "$TMP/t_$cc" "$O/fm.c" "$O/fm_test.c" \
		>"$TMP/$cc.log" 2>&1
	check_eq "$cc -std=c99 -Wall -Wextra -Werror -pedantic compiles" "$?" 0
	check_eq "$cc: 2/2 test vectors match" "$("$TMP/t_$cc" | tail -1)" "2/2 test vectors match"
done

# from C++: one inference on test vector 0, static and caller's arena, class and logits agree
want=$("$TMP/t_gcc" | sed -n 's/^vector 0: class \([0-9]*\) match$/\1/p')
{
	echo '#include <cstdio>'; echo '#include <cstdlib>'; echo '#include <cstring>'
	echo '#include <vector>'; echo '#include "fm.h"'
	echo 'static const int8_t in[FM_INPUT_SIZE] = {'
	awk '/^static const int8_t vec_in/ {f = 1; next} f && /^\{/ {r = 1; next} r && /^\},/ {exit} r' "$O/fm_test.c"
	cat <<'CPP'
};
int main(int argc, char **argv)
{
	int want = argc > 1 ? std::atoi(argv[1]) : -2;
	int8_t l1[FM_CLASSES], l2[FM_CLASSES];
	std::vector<int8_t> arena(FM_ARENA_BYTES);
	static const char *const names[] = FM_CLASS_NAMES;
	int a = fm_run(in, l1);
	int b = fm_run_with_arena(arena.data(), arena.size(), in, l2);
	int c = fm_run_with_arena(arena.data(), arena.size() - 1, in, NULL);
	std::printf("class %d (%s), caller's arena %d, too small %d\n", a, names[a], b, c);
	return a == want && b == want && c == -1 && !std::memcmp(l1, l2, sizeof l1) ? 0 : 1;
}
CPP
} >"$TMP/main.cpp"
gcc -std=c99 -Wall -Wextra -Werror -pedantic -O1 -c -o "$TMP/fm.o" "$O/fm.c" &&
	g++ -Wall -Wextra -Werror -pedantic -I"$O" -o "$TMP/cpp" "$TMP/main.cpp" "$TMP/fm.o" >"$TMP/cpp.log" 2>&1
check_eq "main.cpp including fm.h builds with g++ -Wall -Wextra -Werror" "$?" 0
check "C++: the class of vector 0 ($want) on both arenas, -1 on a short one" "$TMP/cpp" "$want"

# build options: no static arena; the arena and the weights in named sections, aligned
gcc -std=c99 -Wall -Wextra -Werror -pedantic -O1 -DLMNAS_NO_STATIC_ARENA -c -o "$TMP/ns.o" "$O/fm.c"
check_eq "LMNAS_NO_STATIC_ARENA: no arena, no fm_run, fm_run_with_arena kept" \
	"$(nm "$TMP/ns.o" | grep -cE ' (arena|fm_run)$') $(nm "$TMP/ns.o" | grep -c ' T fm_run_with_arena$')" "0 1"
gcc -std=c99 -Wall -Wextra -Werror -pedantic -O1 -DLMNAS_ARENA_SECTION='".lmnas_arena"' \
	-DLMNAS_WEIGHT_SECTION='".lmnas_weights"' -DLMNAS_ARENA_ALIGN=32 -c -o "$TMP/sec.o" "$O/fm.c"
arena_hex=$(printf '%08x' "$(jq .emit.arena_bytes "$TMP/rec")")
check "LMNAS_ARENA_SECTION: the arena alone in .lmnas_arena, aligned to 32" \
	sh -c "objdump -h '$TMP/sec.o' | grep -E '\\.lmnas_arena +$arena_hex .* 2\\*\\*5\$'"
check "LMNAS_WEIGHT_SECTION: the weights in .lmnas_weights, none left in .rodata" \
	sh -c "objdump -h '$TMP/sec.o' | grep -q '\\.lmnas_weights' && ! objdump -t '$TMP/sec.o' | grep -E '\\.rodata.* w0\$'"

# CMake: the static library and the host test
if command -v cmake >/dev/null 2>&1; then
	cmake -S "$O" -B "$TMP/cb" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror -pedantic" >"$TMP/cmake.log" 2>&1 &&
		cmake --build "$TMP/cb" >>"$TMP/cmake.log" 2>&1
	check_eq "cmake configures and builds the emitted folder" "$?" 0
	check "cmake: the static library libfm.a" test -s "$TMP/cb/libfm.a"
	check "ctest: the host test passes" sh -c "cd '$TMP/cb' && ctest --output-on-failure"
else
	skip "cmake is not installed (make deps installs it)"
fi

# README.md: how to call, the memory (measured flash), the four ways to build it in
R="$O/README.md"
check "README: arena bytes" grep -q "| arena | $(jq .emit.arena_bytes "$TMP/rec") " "$R"
check "README: SRAM = arena + stack" grep -q "| SRAM in all | $(jq .emit.sram_bytes "$TMP/rec") " "$R"
check "README: the measured flash" grep -q "| flash | $(jq .emit.flash_bytes "$TMP/rec") bytes (measured" "$R"
for w in "fm_run_with_arena(my_arena" "**CMake**" "**Zephyr**" "**ESP-IDF**" "**STM32Cube**"; do
	check "README: $w" grep -qF "$w" "$R"
done
check "README: no placeholder left" sh -c "test -s '$R' && ! grep -E '@[A-Z_]+@' '$R'"

# with_meta IN OUT JQ: IN's safetensors header rewritten by the jq filter (padded to 8 bytes)
with_meta() {
	n=$(od -An -tu8 -N8 "$1" | tr -d ' ')
	head -c $((8 + n)) "$1" | tail -c "$n" | jq -cj "$3" >"$TMP/hdr"
	len=$(wc -c <"$TMP/hdr")
	printf '%*s' $(((8 - len % 8) % 8)) '' >>"$TMP/hdr"
	len=$(wc -c <"$TMP/hdr")
	{
		for i in 0 1 2 3 4 5 6 7; do printf "\\$(printf '%03o' $(((len >> (8 * i)) & 255)))"; done
		cat "$TMP/hdr"
		tail -c +$((9 + n)) "$1"
	} >"$2"
}
# the model's own metadata wins (mean/std/class names); names are made safe for C strings
with_meta "$TMP/q.safetensors" "$TMP/meta.safetensors" '.__metadata__ += {
	normalisation: "{\"mean\":[0.5,0.25,0.125],\"std\":[0.5,0.5,0.25]}",
	class_names: ([range(10) | "c\(.)"] | .[0] = "a \"b\" */ ??/ \\x" | tojson)}'
"$BIN/emit-c" --model "$TMP/meta.safetensors" --name mt -o "$TMP/mt" --no-build --dataset fashion-mnist \
	</dev/null >/dev/null 2>&1
check_eq "metadata mean/std (3 channels) win over the dataset's" \
	"$(grep -E '^#define MT_INPUT_(MEAN|STD)' "$TMP/mt/mt.h" | tr '\n' ' ')" \
	"#define MT_INPUT_MEAN {0.5f, 0.25f, 0.125f} #define MT_INPUT_STD {0.5f, 0.5f, 0.25f} "
check "metadata class names, unsafe characters replaced" grep -qF '#define MT_CLASS_NAMES {"a _b_ _/ __/ _x", "c1",' "$TMP/mt/mt.h"
check "those names compile cleanly (C99 -pedantic)" \
	gcc -std=c99 -Wall -Wextra -Werror -pedantic -Wtrigraphs -c -o "$TMP/mt.o" "$TMP/mt/mt.c"
# a class-name file with CRLF line ends gives the same names
cp -r "$ROOT/data" "$TMP/data"
sed -i 's/$/\r/' "$TMP/data/emit/classes/fashion-mnist.txt"
LMNAS_DATA="$TMP/data" "$BIN/emit-c" --model "$TMP/q.safetensors" --name cr -o "$TMP/cr" --no-build \
	--dataset fashion-mnist </dev/null >/dev/null 2>&1
check "CRLF class-name file: the same names" grep -q '^#define CR_CLASS_NAMES {"T-shirt/top", "Trouser", .*"Ankle boot"}$' "$TMP/cr/cr.h"
# nothing known: said so, no macros to misuse
with_meta "$TMP/q.safetensors" "$TMP/bare.safetensors" '.__metadata__ |= del(.normalisation, .class_names, .dataset)'
"$BIN/emit-c" --model "$TMP/bare.safetensors" --name un -o "$TMP/un" --no-build </dev/null >/dev/null 2>&1
check_eq "no dataset, no metadata: normalisation and names unknown" \
	"$(grep -cE '^#define UN_(HAS_NORMALISATION 0|HAS_CLASS_NAMES 0)$' "$TMP/un/un.h") $(grep -c 'UN_INPUT_MEAN\|UN_CLASS_NAMES' "$TMP/un/un.h")" "2 0"
check "no build: README gives the formula's flash as an estimate" grep -q "| flash | about [0-9]* bytes (check-cost's formula" "$TMP/un/README.md"
done_testing
