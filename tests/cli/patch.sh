#!/bin/sh
# Row-streamed ("patched") execution: check-cost plans exactly what emit-c emits, on random
# designs and the paper models; the streamed C gives the layer-by-layer reference's logits on the
# host (ASan/UBSan) and on a Cortex-M7 in QEMU; the paper models' arenas beat the paper's claims.
. "$(dirname "$0")/../lib.sh"
CC_="$BIN/check-cost"
"$CC_" --exec sideways </dev/null >/dev/null 2>&1
check_eq "--exec sideways: exit 2" "$?" 2
"$CC_" --patch-layers -1 </dev/null >/dev/null 2>&1
check_eq "--patch-layers -1: exit 2" "$?" 2
"$BIN/emit-c" --model x --name x -o x --exec sideways </dev/null >/dev/null 2>&1
check_eq "emit-c --exec sideways: exit 2" "$?" 2

PM="$SHARED/paper-models"
if [ -f "$PM/qwnet-core.json" ]; then
	for m in lmanet-elite:168960:204800 lmanet-core:220160:307200 qwnet-core:232448:307200; do
		name=${m%%:*} rest=${m#*:}
		claim=${rest%%:*} today=${rest#*:}
		"$CC_" --exec patched "$PM/$name.json" >"$TMP/$name.cost"
		check "$name: patched arena $(jq .cost.arena_bytes "$TMP/$name.cost") below the paper's claim ($claim) and today's $today, no MAC repeated" \
			jq -e ".cost.arena_bytes < $claim and .cost.arena_bytes < $today and .cost.patch_macs_overhead == 0 and .cost.patch_layers > 0" "$TMP/$name.cost"
		check_eq "$name: layer by layer is still $today" \
			"$("$CC_" --exec layer "$PM/$name.json" | jq .cost.arena_bytes)" "$today"
	done
	for m in lmanet-core qwnet-core; do
		check "$m: at most half of today's 307200, in several streams" \
			jq -e '.cost.arena_bytes <= 153600 and .cost.patch_streams > 1' "$TMP/$m.cost"
	done
	"$CC_" --exec patched --plan "$PM/lmanet-core.json" >"$TMP/plan"
	check "--plan shows the row-streamed ops and their rings" \
		sh -c "grep -q 'row-streamed 0: ops' '$TMP/plan' && grep -q 'ring 5 rows of' '$TMP/plan'"
	check_eq "--plan's arena is cost.arena_bytes" "$(sed -n 's/^arena \([0-9]*\) bytes$/\1/p' "$TMP/plan")" \
		"$(jq .cost.arena_bytes "$TMP/lmanet-core.cost")"
	sram=$(jq .cost.sram_bytes "$TMP/lmanet-core.cost")
	check_eq "--sram-max uses the patched figure" \
		"$("$CC_" --exec patched --sram-max "$sram" "$PM/lmanet-core.json" | jq .check.ok),$("$CC_" --sram-max "$sram" "$PM/lmanet-core.json" | jq .check.ok)" "true,false"
else
	skip "no paper models in $PM"
fi

if ! command -v arm-none-eabi-gcc >/dev/null 2>&1 || [ ! -d /usr/share/datasets/fashion-mnist ]; then
	skip "no arm-none-eabi-gcc or Fashion-MNIST (make deps installs them)"
	done_testing
fi
# Random designs, patched, at 40KiB: emit-c's arena and flash formula are check-cost's, it accepts
# exactly cost.sram_bytes, and the host build matches the layer-by-layer logits.
SET="--resolution 28 --classes 10"
"$BIN/gen-arch" --strategy random --count 4 --seed 15 --input-channels 1 $SET --exec patched \
	--sram-max 40KiB 2>/dev/null | "$CC_" $SET --exec patched --sram-max 40KiB --drop >"$TMP/acc.jsonl"
n=$(wc -l <"$TMP/acc.jsonl" | tr -d ' ')
check "gen-arch and check-cost --exec patched accept designs ($n)" test "$n" -ge 3
mkdir "$TMP/ck"
"$BIN/mini-train" --epochs 1 --train-limit 16 --batch 16 --val-split 0.0005 --test-limit 8 \
	--threads 1 --no-autoaugment --quiet --out "$TMP/ck/{id}.safetensors" \
	<"$TMP/acc.jsonl" >/dev/null 2>&1
while read -r rec; do
	id=$(echo "$rec" | jq -r .id)
	sram=$(echo "$rec" | jq .cost.sram_bytes)
	echo "$rec" | jq -c '{arch}' >"$TMP/$id.json"
	"$BIN/quantize" --weights "$TMP/ck/$id.safetensors" --arch "$TMP/$id.json" \
		--dataset fashion-mnist --resolution 28 --calib 2 --eval 2 \
		-o "$TMP/$id.q.safetensors" </dev/null >/dev/null 2>&1
	echo "$rec" | "$BIN/emit-c" --model "$TMP/$id.q.safetensors" --name m -o "$TMP/$id" \
		--exec patched --sram-max "$sram" --test-vectors 2 --dataset fashion-mnist \
		>"$TMP/$id.emit" 2>/dev/null
	check_eq "$id: emit-c --exec patched at its cost.sram_bytes exits 0" "$?" 0
	check_eq "$id: emit.arena_bytes is check-cost's cost.arena_bytes" \
		"$(jq .emit.arena_bytes "$TMP/$id.emit")" "$(echo "$rec" | jq .cost.arena_bytes)"
	check_eq "$id: emit's flash formula is check-cost's" \
		"$(jq .emit.flash_formula_bytes "$TMP/$id.emit")" "$(echo "$rec" | jq .cost.flash_bytes)"
	make -s -C "$TMP/$id" host-test >"$TMP/$id.host" 2>&1
	check_eq "$id: host: the streamed C gives the layer-by-layer logits" "$(tail -1 "$TMP/$id.host")" "2/2 test vectors match"
done <"$TMP/acc.jsonl"

if [ ! -f "$PM/qwnet-core-kd.safetensors" ]; then
	skip "no paper models in $PM"
	done_testing
fi
"$BIN/quantize" --weights "$PM/lmanet-core-kd.safetensors" --arch "$PM/lmanet-core.json" \
	--dataset fashion-mnist --resolution 48 --calib 4 --eval 4 -o "$TMP/q.safetensors" \
	</dev/null >/dev/null 2>&1
"$BIN/emit-c" --model "$TMP/q.safetensors" --name core -o "$TMP/core" --test-vectors 3 \
	--dataset fashion-mnist --exec patched </dev/null >"$TMP/rec" 2>/dev/null
check "lmanet-core at 48x48: streamed" jq -e '.emit.patch_layers > 0' "$TMP/rec"
check_eq "lmanet-core at 48x48: emit.arena_bytes is check-cost's" "$(jq .emit.arena_bytes "$TMP/rec")" \
	"$("$CC_" --resolution 48 --exec patched "$PM/lmanet-core.json" | jq .cost.arena_bytes)"
make -s -C "$TMP/core" host-test SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" >"$TMP/host" 2>&1
check_eq "host under ASan/UBSan: 3/3 match the layer-by-layer logits" "$(tail -1 "$TMP/host")" "3/3 test vectors match"
make -s -C "$TMP/core" m7-test QEMU_TIMEOUT=120 >"$TMP/m7" 2>&1
check_eq "QEMU Cortex-M7: 3/3 match the layer-by-layer logits" "$(tail -1 "$TMP/m7")" "3/3 test vectors match"
done_testing
