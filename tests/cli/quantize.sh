#!/bin/sh
# quantize: a paper checkpoint at 32x32 calibrated on Fashion-MNIST, records through, errors.
. "$(dirname "$0")/../lib.sh"
Q="$BIN/quantize"
PM="$SHARED/paper-models"

check "--help exits 0" "$Q" --help
"$Q" >/dev/null 2>&1 </dev/null
check_eq "no arguments: exit 2" "$?" 2
if [ ! -f "$PM/qwnet-core-kd.safetensors" ]; then
	skip "no paper models in $PM"
	done_testing
fi

OMP_NUM_THREADS=2 "$Q" --weights "$PM/qwnet-core-kd.safetensors" --arch "$PM/qwnet-core.json" \
	--dataset fashion-mnist --resolution 32 --calib 8 --eval 50 -o "$TMP/q.safetensors" \
	</dev/null >"$TMP/out" 2>"$TMP/err"
check_eq "quantize exits 0" "$?" 0
check "int8 model written" test -s "$TMP/q.safetensors"
check_eq "one record with quant" "$(jq -c '.quant | [.eval_images, .calib_images]' "$TMP/out")" "[50,8]"
check "int8 top-1 agrees with float on >= 80% of 50 images" \
	jq -e '.quant.top1_agree >= 0.8' "$TMP/out"
check "float and int8 accuracy reported (labelled test split)" \
	jq -e '(.quant.float_acc | type) == "number" and (.quant.int8_acc | type) == "number"' "$TMP/out"
# The test images are shared out between threads: one thread gives the same record and file as
# the two above.
OMP_NUM_THREADS=1 "$Q" --weights "$PM/qwnet-core-kd.safetensors" --arch "$PM/qwnet-core.json" \
	--dataset fashion-mnist --resolution 32 --calib 8 --eval 50 -o "$TMP/q1.safetensors" \
	</dev/null >"$TMP/out1" 2>/dev/null
check_eq "one thread: the same accuracies, agreement and logit error as two" \
	"$(jq -c '.quant | [.float_acc, .int8_acc, .top1_agree, .max_logit_err]' "$TMP/out1")" \
	"$(jq -c '.quant | [.float_acc, .int8_acc, .top1_agree, .max_logit_err]' "$TMP/out")"
check "one thread: the same int8 file" cmp -s "$TMP/q1.safetensors" "$TMP/q.safetensors"
cc_arena=$("$BIN/check-cost" --resolution 32 "$PM/qwnet-core.json" | jq .cost.arena_bytes)
check_eq "arena equals check-cost's at 32x32" "$(jq .quant.arena_bytes "$TMP/out")" "$cc_arena"
cc_flash=$("$BIN/check-cost" --resolution 32 "$PM/qwnet-core.json" | jq .cost.flash_bytes)
check_eq "flash formula equals check-cost's" "$(jq .quant.flash_bytes "$TMP/out")" "$cc_flash"

# evaluate runs the int8 reference inference on an int8 file (same options, dequantised logits)
if [ -x "$BIN/evaluate" ]; then
	"$BIN/evaluate" --weights "$TMP/q.safetensors" --data "$PM/golden-logits.safetensors" \
		--dump-logits "$TMP/l.safetensors" </dev/null >"$TMP/ev" 2>/dev/null
	check_eq "evaluate on the int8 model: int8 path, 4 golden images (resized)" \
		"$(jq -c '[.eval.int8, .eval.count]' "$TMP/ev")" "[true,4]"
	check "evaluate --dump-logits on the int8 model" test -s "$TMP/l.safetensors"
	# the int8 path follows the parsed options, so --weights=FILE finds it too
	echo '{"id":"r"}' | "$BIN/evaluate" --weights="$TMP/q.safetensors" \
		--data "$PM/golden-logits.safetensors" >"$TMP/ev2" 2>"$TMP/ev2.err"
	check_eq "evaluate --weights=INT8: the int8 path, the record kept" \
		"$(jq -c '[.id, .eval.int8, .eval.count]' "$TMP/ev2")" '["r",true,4]'
fi

# a record on stdin: other keys copied through, quant added
echo '{"id":"abc","kd":{"test_acc":0.5}}' | "$Q" --weights "$PM/qwnet-core-kd.safetensors" \
	--arch "$PM/qwnet-core.json" --dataset fashion-mnist --resolution 32 --calib 2 --eval 4 \
	-o "$TMP/q2.safetensors" >"$TMP/out2" 2>/dev/null
check_eq "record keys kept, quant added" "$(jq -c '[.id, .kd.test_acc, (.quant|has("int8_acc"))]' "$TMP/out2")" '["abc",0.5,true]'

# a bad checkpoint: the record gets quant.error, exit 1; a malformed line is skipped
printf '{"id":"a"}\nnot json\n' | "$Q" --weights "$TMP/missing.safetensors" --arch "$PM/qwnet-core.json" \
	--dataset fashion-mnist --resolution 32 -o "$TMP/q3.safetensors" >"$TMP/out3" 2>"$TMP/err3"
check_eq "bad checkpoint: exit 1" "$?" 1
check "bad checkpoint: quant.error in the record" jq -e '.quant.error | test("missing")' "$TMP/out3"
check "malformed line reported with its number" grep -q "stdin:2" "$TMP/err3"

# extreme weights: the first weight of the checkpoint (layers.0.layers.0.conv.0.weight, offset 0
# of the data) set to NaN, then to 3e37: refused with quant.error, no int8 model written
poke() { # poke FILE BYTES: overwrite the first 4 bytes of the tensor data
	hlen=$(od -An -t u8 -N 8 "$1" | tr -d ' ')
	printf "$2" | dd of="$1" bs=1 seek=$((8 + hlen)) conv=notrunc 2>/dev/null
}
for w in 'NaN:\000\000\300\177:a weight is not finite' \
	'3e37:\122\216\264\175:the requantisation multiplier .* is out of range'; do
	v=${w%%:*} rest=${w#*:}
	cp "$PM/qwnet-core-kd.safetensors" "$TMP/x.safetensors"
	poke "$TMP/x.safetensors" "${rest%%:*}"
	echo '{"id":"x"}' | "$Q" --weights "$TMP/x.safetensors" --arch "$PM/qwnet-core.json" \
		--dataset fashion-mnist --resolution 32 --calib 2 --eval 2 -o "$TMP/x8.safetensors" \
		>"$TMP/out4" 2>/dev/null
	check_eq "weight $v: exit 1" "$?" 1
	check "weight $v: quant.error names the op and the problem" \
		jq -e --arg re "layers.0.layers.0.dw \\(channel 0\\): ${rest#*:}" '.quant.error | test($re)' "$TMP/out4"
	check "weight $v: no int8 model written" test ! -e "$TMP/x8.safetensors"
done
done_testing
