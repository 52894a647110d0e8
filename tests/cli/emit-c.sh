#!/bin/sh
# emit-c: a quantised paper model at 32x32 written as C, built and run on the host (sanitised) and
# on a Cortex-M7 in QEMU; the SRAM budget is enforced by the link.
. "$(dirname "$0")/../lib.sh"
E="$BIN/emit-c"
PM="$SHARED/paper-models"

check "--help exits 0" "$E" --help
"$E" >/dev/null 2>&1 </dev/null
check_eq "no arguments: exit 2" "$?" 2
if [ ! -f "$PM/qwnet-core-kd.safetensors" ]; then
	skip "no paper models in $PM"
	done_testing
fi
"$BIN/quantize" --weights "$PM/qwnet-core-kd.safetensors" --arch "$PM/qwnet-core.json" \
	--dataset fashion-mnist --resolution 32 --calib 8 --eval 8 -o "$TMP/q.safetensors" \
	</dev/null >/dev/null 2>&1
check "quantized model" test -s "$TMP/q.safetensors"
"$E" --model "$TMP/q.safetensors" --name "QW-net 32" -o "$TMP/out" --test-vectors 3 \
	--dataset fashion-mnist </dev/null >"$TMP/rec" 2>"$TMP/err"
check_eq "emit-c exits 0" "$?" 0
check_eq "name sanitised" "$(jq -r .emit.name "$TMP/rec")" "qw_net_32"
for f in qw_net_32.h qw_net_32.c qw_net_32_test.c int8_ref.h Makefile m7.ld startup_m7.c; do
	check "wrote $f" test -s "$TMP/out/$f"
done
check "kernels copied verbatim" cmp "$ROOT/src/int8/int8_ref.h" "$TMP/out/int8_ref.h"
check "model has no malloc and no stdio" sh -c "! grep -E 'malloc|stdio|printf' '$TMP/out/qw_net_32.c' '$TMP/out/int8_ref.h'"
check "weights are const" grep -q "static const int8_t w0\[" "$TMP/out/qw_net_32.c"
cc_arena=$("$BIN/check-cost" --resolution 32 "$PM/qwnet-core.json" | jq .cost.arena_bytes)
check_eq "emit.arena_bytes equals check-cost" "$(jq .emit.arena_bytes "$TMP/rec")" "$cc_arena"
check "the arena in the source is that size" grep -q "QW_NET_32_ARENA_BYTES $cc_arena" "$TMP/out/qw_net_32.h"
check "emit.flash_bytes measured with arm-none-eabi-size, within 1% of the formula" \
	jq -e '(.emit.flash_bytes - .emit.flash_formula_bytes) / .emit.flash_bytes | fabs < 0.01' "$TMP/rec"

make -s -C "$TMP/out" host-test SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" >"$TMP/host" 2>&1
check_eq "host test under ASan/UBSan exits 0" "$?" 0
check_eq "host: 3/3 test vectors match" "$(tail -1 "$TMP/host")" "3/3 test vectors match"
make -s -C "$TMP/out" m7-test QEMU_TIMEOUT=120 >"$TMP/m7" 2>&1
check_eq "m7-test in QEMU exits 0" "$?" 0
check_eq "QEMU Cortex-M7: 3/3 test vectors match" "$(tail -1 "$TMP/m7")" "3/3 test vectors match"
check_eq "same classes on host and M7" "$(grep '^vector' "$TMP/m7")" "$(grep '^vector' "$TMP/host")"
check "the DSP kernels copied verbatim" cmp "$ROOT/src/int8/int8_dsp.h" "$TMP/out/int8_dsp.h"
check "the model calls the DSP-or-plain pointwise and depthwise" sh -c "grep -q 'LMQ_PW(' '$TMP/out/qw_net_32.c' && grep -q 'LMQ_DW(' '$TMP/out/qw_net_32.c'"
check "the M7 build has the DSP kernels (SMLAD)" sh -c "arm-none-eabi-objdump -d '$TMP/out/qw_net_32_m7_model.o' | grep -q smlad"
check "its small depthwise layers call the grouped kernel, their weights in both layouts" sh -c "grep -q 'LMQ_DWG(' '$TMP/out/qw_net_32.c' && grep -q '^#if LMQ_DW_GROUPED' '$TMP/out/qw_net_32.c'"
check "the M7 build has the grouped depthwise (SMLABB)" sh -c "arm-none-eabi-objdump -d '$TMP/out/qw_net_32_m7_model.o' | grep -q smlabb"
make -s -C "$TMP/out" m7-test PLAIN=1 QEMU_TIMEOUT=120 >"$TMP/m7p" 2>&1
check_eq "QEMU Cortex-M7, plain kernels (PLAIN=1): 3/3 test vectors match" "$(tail -1 "$TMP/m7p")" "3/3 test vectors match"
check "PLAIN=1 has no SMLAD" sh -c "! arm-none-eabi-objdump -d '$TMP/out/qw_net_32_m7_plain_model.o' | grep -q smlad"
# instruction counts: per vector, and per op summing to the total
for v in dsp plain; do
	make -s -C "$TMP/out" m7-count QEMU_TIMEOUT=120 $([ $v = plain ] && echo PLAIN=1) >"$TMP/count.$v" 2>&1
	check_eq "m7-count ($v) exits 0" "$?" 0
	check_eq "m7-count ($v): 3 vectors counted" "$(grep -c '^instructions [0-9]' "$TMP/count.$v")" 3
	check "m7-count ($v): one line per op, in order" sh -c "grep '^op ' '$TMP/count.$v' | awk '\$2 != NR - 1 { exit 1 }' && [ \$(grep -c '^op ' '$TMP/count.$v') -eq \$(grep -c 'LMNAS_OP_DONE([0-9]' '$TMP/out/qw_net_32.c') ]"
	total=$(grep -m1 '^instructions' "$TMP/count.$v" | cut -d' ' -f2)
	ops=$(awk '/^op /{s += $3} END {print s}' "$TMP/count.$v")
	check "m7-count ($v): the ops sum to the total within 1% ($ops of $total)" \
		jq -en "($ops - $total) / $total | fabs < 0.01"
done
dsp=$(grep -m1 '^instructions' "$TMP/count.dsp" | cut -d' ' -f2)
plain=$(grep -m1 '^instructions' "$TMP/count.plain" | cut -d' ' -f2)
check "the DSP kernels take fewer instructions than the plain ones ($dsp < $plain)" test "$dsp" -lt "$plain"

# the SRAM budget means the same in check-cost, emit-c and m7.ld: arena + stack (cost.sram_bytes)
sram=$("$BIN/check-cost" --resolution 32 "$PM/qwnet-core.json" | jq .cost.sram_bytes)
check_eq "emit.sram_bytes equals check-cost's" "$(jq .emit.sram_bytes "$TMP/rec")" "$sram"
check_eq "check-cost accepts at exactly sram_bytes" "$("$BIN/check-cost" --resolution 32 --sram-max "$sram" "$PM/qwnet-core.json" | jq .check.ok)" true
"$E" --model "$TMP/q.safetensors" --name tight -o "$TMP/tight" --sram-max "$sram" \
	</dev/null >/dev/null 2>&1
check_eq "emit-c at exactly sram_bytes: exit 0" "$?" 0
make -s -C "$TMP/tight" tight_m7.elf >"$TMP/link" 2>&1
check "the Cortex-M7 link succeeds at exactly sram_bytes" test -s "$TMP/tight/tight_m7.elf"
sed -i "s/LENGTH = $sram\$/LENGTH = $((sram - 4))/" "$TMP/tight/m7.ld"
make -s -C "$TMP/tight" tight_m7.elf >"$TMP/link" 2>&1
check "4 bytes less in m7.ld: the link fails" grep -q "overflowed" "$TMP/link"
# the arena alone fits, arena + stack does not: check-cost rejects, emit-c fails the record
arena=$(jq .emit.arena_bytes "$TMP/rec")
budget=$((arena + 4096))
check_eq "check-cost rejects arena + stack over --sram-max" "$("$BIN/check-cost" --resolution 32 --sram-max "$budget" "$PM/qwnet-core.json" | jq -c '[.check.ok, .check.violations[0].metric, .check.violations[0].value]')" "[false,\"sram\",$sram]"
echo '{"id":"x"}' | "$E" --model "$TMP/q.safetensors" --name small -o "$TMP/small" \
	--sram-max "$budget" >"$TMP/rec2" 2>"$TMP/err2"
check_eq "emit-c over the budget: exit 1" "$?" 1
check "emit-c over the budget: emit.error names arena + stack" \
	jq -e '.emit.error | test("arena [0-9]+ \\+ stack 8192 bytes")' "$TMP/rec2"
check "emit-c over the budget: no folder written" test ! -e "$TMP/small"
# a full disk (a file-size limit): the record fails, and no partial folder is left
(ulimit -f 64; echo '{"id":"x"}' | "$E" --model "$TMP/q.safetensors" --name big -o "$TMP/big" \
	--no-build >"$TMP/rec3" 2>/dev/null)
check_eq "write error: exit 1" "$?" 1
check "write error: emit.error says why" jq -e '.emit.error | test("File too large")' "$TMP/rec3"
check "write error: no partial output folder" test ! -e "$TMP/big"
check_eq "write error: no temporary folder left" "$(ls "$TMP" | grep -c '^big')" 0
# a staging folder left by a killed emit-c (its pid gone) is removed by the next run
dead=$(sh -c 'echo $$')
mkdir -p "$TMP/big.tmp.$dead/x" "$TMP/big.tmp.1"
"$E" --model "$TMP/q.safetensors" --name big -o "$TMP/big" --no-build </dev/null >/dev/null 2>&1
check "a dead process's staging folder is removed" test ! -e "$TMP/big.tmp.$dead"
check "a live process's staging folder is kept" test -d "$TMP/big.tmp.1"
# a second run replaces the folder whole
"$E" --model "$TMP/q.safetensors" --name other -o "$TMP/tight" --no-build </dev/null >/dev/null 2>&1
check_eq "rerun into an existing folder: only the new files" "$(ls "$TMP/tight" | grep -c tight)" 0
# the static files come from data/emit (LMNAS_DATA overrides data/), placeholders filled in
for f in Makefile m7.ld startup_m7.c; do
	check "data/emit/$f is a file" test -s "$ROOT/data/emit/$f"
done
check "m7.ld is the template with the budget filled in" \
	sh -c "sed 's/@SRAM_MAX@/327680/g; s/@STACK_BYTES@/8192/' '$ROOT/data/emit/m7.ld' | cmp - '$TMP/out/m7.ld'"
cp -r "$ROOT/data" "$TMP/data"
echo "# local template" >>"$TMP/data/emit/Makefile"
LMNAS_DATA="$TMP/data" "$E" --model "$TMP/q.safetensors" --name own -o "$TMP/own" --no-build \
	</dev/null >/dev/null 2>&1
check_eq "LMNAS_DATA: the Makefile comes from its emit/ folder" "$(tail -1 "$TMP/own/Makefile")" "# local template"
echo "X = @NO_SUCH_KEY@" >>"$TMP/data/emit/Makefile"
echo '{"id":"x"}' | LMNAS_DATA="$TMP/data" "$E" --model "$TMP/q.safetensors" --name bad -o "$TMP/bad" \
	--no-build >"$TMP/rec4" 2>/dev/null
check "an unknown placeholder fails the record, naming it" jq -e '.emit.error | test("unknown placeholder @NO_SUCH_KEY@")' "$TMP/rec4"
check "an unknown placeholder: no folder written" test ! -e "$TMP/bad"
rm -r "$TMP/data/emit"
echo '{"id":"x"}' | LMNAS_DATA="$TMP/data" "$E" --model "$TMP/q.safetensors" --name bad -o "$TMP/bad" \
	--no-build >"$TMP/rec5" 2>/dev/null
check "no templates: the record fails naming the missing file" jq -e '.emit.error | test("emit/m7.ld")' "$TMP/rec5"
# sparse ternary pointwise weights: packed 2-bit arrays, same kernels on host and reference
"$BIN/quantize" --weights "$PM/qwnet-core-kd.safetensors" --arch "$PM/qwnet-core.json" \
	--weight-format ternary --sparsity 0.5 --dataset fashion-mnist --resolution 32 --calib 4 --eval 4 \
	-o "$TMP/t.safetensors" </dev/null >"$TMP/trec" 2>/dev/null
check "ternary: smaller flash formula" test "$(jq .quant.flash_bytes "$TMP/trec")" -lt "$(jq .emit.flash_formula_bytes "$TMP/rec")"
"$E" --model "$TMP/t.safetensors" --name tern -o "$TMP/tern" --test-vectors 2 --no-build \
	--dataset fashion-mnist </dev/null >/dev/null 2>&1
check "ternary: packed weights in the source" grep -q "static const uint8_t w" "$TMP/tern/tern.c"
check_eq "ternary: host 2/2 test vectors match" "$(make -s -C "$TMP/tern" host-test 2>&1 | tail -1)" "2/2 test vectors match"
done_testing
