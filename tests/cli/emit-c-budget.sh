#!/bin/sh
# What check-cost accepts is what the build gets. Random designs at a tight budget: every design
# check-cost accepts links for the Cortex-M7 with SRAM = exactly its cost.sram_bytes; and on them
# and on the three paper models (32x32) check-cost's flash formula is within 1% of the real build
# (arm-none-eabi-size of the emitted model). Weights: one tiny epoch of mini-train.
. "$(dirname "$0")/../lib.sh"
if ! command -v arm-none-eabi-gcc >/dev/null 2>&1; then
	skip "no arm-none-eabi-gcc (make deps installs it)"
	done_testing
fi
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
	skip "no Fashion-MNIST (make deps installs it)"
	done_testing
fi
SET="--resolution 28 --classes 10"
"$BIN/gen-arch" --strategy random --count 6 --seed 11 --input-channels 1 $SET \
	--sram-max 40KiB --flash-max 256KiB 2>/dev/null |
	"$BIN/check-cost" $SET --sram-max 40KiB --flash-max 256KiB --drop >"$TMP/acc.jsonl"
n=$(wc -l <"$TMP/acc.jsonl" | tr -d ' ')
check "check-cost accepts some designs at 40KiB ($n)" test "$n" -ge 4
mkdir "$TMP/ck"
"$BIN/mini-train" --epochs 1 --train-limit 16 --batch 16 --val-split 0.0005 --test-limit 8 \
	--threads 1 --no-autoaugment --quiet --out "$TMP/ck/{id}.safetensors" \
	<"$TMP/acc.jsonl" >/dev/null 2>&1
while read -r rec; do
	id=$(echo "$rec" | jq -r .id)
	sram=$(echo "$rec" | jq .cost.sram_bytes)
	flash=$(echo "$rec" | jq .cost.flash_bytes)
	echo "$rec" | jq -c '{arch}' >"$TMP/$id.json"
	"$BIN/quantize" --weights "$TMP/ck/$id.safetensors" --arch "$TMP/$id.json" \
		--dataset fashion-mnist --resolution 28 --calib 2 --eval 2 \
		-o "$TMP/$id.q.safetensors" </dev/null >/dev/null 2>&1
	echo "$rec" | "$BIN/emit-c" --model "$TMP/$id.q.safetensors" --name m -o "$TMP/$id" \
		--sram-max "$sram" >"$TMP/$id.emit" 2>/dev/null
	check_eq "$id: emit-c at --sram-max $sram (its cost.sram_bytes) exits 0" "$?" 0
	make -s -C "$TMP/$id" m_m7.elf >"$TMP/$id.link" 2>&1
	check "$id: the Cortex-M7 link succeeds at $sram bytes of SRAM" test -s "$TMP/$id/m_m7.elf"
	check_eq "$id: emit's flash formula is check-cost's" \
		"$(jq .emit.flash_formula_bytes "$TMP/$id.emit")" "$flash"
	real=$(jq .emit.flash_bytes "$TMP/$id.emit")
	check "$id: flash formula $flash within 1% of the real $real bytes" \
		jq -en "($flash - $real) / $real | fabs < 0.01"
done <"$TMP/acc.jsonl"

PM="$SHARED/paper-models"
if [ ! -f "$PM/qwnet-core-kd.safetensors" ]; then
	skip "no paper models in $PM"
	done_testing
fi
for m in qwnet-core lmanet-core lmanet-elite; do
	flash=$("$BIN/check-cost" --resolution 32 "$PM/$m.json" | jq .cost.flash_bytes)
	"$BIN/quantize" --weights "$PM/$m-kd.safetensors" --arch "$PM/$m.json" \
		--dataset fashion-mnist --resolution 32 --calib 2 --eval 2 \
		-o "$TMP/$m.q.safetensors" </dev/null >/dev/null 2>&1
	"$BIN/emit-c" --model "$TMP/$m.q.safetensors" --name m -o "$TMP/$m" </dev/null \
		>"$TMP/$m.emit" 2>/dev/null
	real=$(jq .emit.flash_bytes "$TMP/$m.emit")
	check "$m: flash formula $flash within 1% of the real $real bytes" \
		jq -en "($flash - $real) / $real | fabs < 0.01"
done
done_testing
