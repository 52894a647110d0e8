#!/bin/sh
# tests/cli/folder.sh — an ImageFolder of PNGs (made by make-shapes.c) through full-train,
# evaluate (test and train splits, logits for kd), kd --teacher-logits and quantize: the
# training split's normalisation and class names go into the checkpoint and the int8 model and
# are used on the test split; a broken image is refused with its name.
. "$(dirname "$0")/../lib.sh"

cc -std=c11 -D_GNU_SOURCE -O2 -I"$ROOT/src" -I/usr/include/cjson -o "$TMP/make-shapes" "$ROOT/tests/cli/make-shapes.c" \
	"$ROOT/build/liblmnas.a" -lcjson -lpng -ljpeg -lz -lm || fail "build make-shapes"
"$TMP/make-shapes" "$TMP/train" 30 16 1 && "$TMP/make-shapes" "$TMP/test" 10 16 2 ||
	fail "make the image folders"
mkdir -p "$TMP/squares" && cp -r "$TMP/test/square" "$TMP/squares/"

# __metadata__ of a safetensors file, as JSON.
meta() { n=$(od -An -tu8 -N8 "$1" | tr -d ' '); tail -c +9 "$1" | head -c "$n" | jq -c '.__metadata__'; }

ARCH='{"input_channels":1,"blocks":[{"output_channels":8,"num_layers":1,"kernel_size":3,"stride":2,"expansion_factor":1,"use_se":false,"se_ratio":0,"conv_type":"depthwise","skip_op":"identity","activation":"relu6"},{"output_channels":16,"num_layers":1,"kernel_size":3,"stride":2,"expansion_factor":2,"use_se":false,"se_ratio":0,"conv_type":"mbconv","skip_op":"residual","activation":"relu6"}]}'
FAST="--epochs 30 --batch 16 --lr 0.1 --warmup-epochs 0 --no-autoaugment --mixup 0 --threads 1 --no-progress"
DS="--dataset folder --data $TMP/train"

echo "{\"id\":\"s\",\"arch\":$ARCH}" | "$BIN/full-train" $DS --test-data "$TMP/test" $FAST \
	--out "$TMP/s.ckpt" >"$TMP/full.jsonl" 2>"$TMP/full.err"
check "full-train on a folder learns the shapes (test_acc >= 0.6)" jq -e '.full.test_acc >= 0.6 and .full.classes == 3' "$TMP/full.jsonl"
M=$(meta "$TMP/s.ckpt")
check_eq "the checkpoint names the classes" "$(echo "$M" | jq -r .class_names)" '["circle","cross","square"]'
check "the checkpoint holds the training split's normalisation" \
	sh -c "echo '$M' | jq -e '.normalisation | fromjson | (.mean | length) == 1 and .mean[0] > 0.1 and .mean[0] < 0.4 and .std[0] > 0.1'"
check "the checkpoint records the resize" sh -c "echo '$M' | jq -e '.resize | startswith(\"area to 16x16\")'"

# evaluate: the test split gives full-train's test accuracy.
"$BIN/evaluate" --weights "$TMP/s.ckpt" --dataset folder --data "$TMP/test" </dev/null >"$TMP/ev.json"
check_eq "evaluate on the test folder = full-train's test_acc" "$(jq .eval.accuracy "$TMP/ev.json")" \
	"$(jq .full.test_acc "$TMP/full.jsonl")"
# A test folder with one class: labelled by the checkpoint's names (square = 2), not its own.
"$BIN/evaluate" --weights "$TMP/s.ckpt" --dataset folder --data "$TMP/squares" \
	--dump-logits "$TMP/sq.st" </dev/null >"$TMP/sq.json"
check "a one-class test folder is labelled by the checkpoint's class names (square = 2)" \
	jq -e '.eval.count == 10 and .eval.accuracy >= 0.5' "$TMP/sq.json"
"$BIN/evaluate" --weights "$TMP/s.ckpt" $DS --dump-logits "$TMP/logits.st" </dev/null >"$TMP/tr.json"
check "evaluate dumps the training split's logits [90,3]" sh -c \
	"n=\$(od -An -tu8 -N8 '$TMP/logits.st' | tr -d ' '); tail -c +9 '$TMP/logits.st' | head -c \$n | jq -e '.logits.shape == [90,3]'"
echo "{\"id\":\"s\",\"arch\":$ARCH,\"full\":{\"checkpoint\":\"$TMP/s.ckpt\"}}" |
	"$BIN/kd" $DS --test-data "$TMP/test" --teacher-logits "$TMP/logits.st" --epochs 1 --batch 16 \
		--threads 1 --no-progress --out "$TMP/k.ckpt" >"$TMP/kd.jsonl" 2>"$TMP/kd.err"
check "kd --teacher-logits works on a folder" jq -e '.kd.test_acc >= 0' "$TMP/kd.jsonl"

# quantize: the int8 model carries the normalisation and names; evaluate agrees with it.
"$BIN/quantize" --weights "$TMP/s.ckpt" $DS --test-data "$TMP/test" --calib 16 -o "$TMP/q.st" \
	</dev/null >"$TMP/q.json" 2>"$TMP/q.err"
check "quantize scores the test folder" jq -e '.quant.eval_split == "test" and .quant.eval_images == 30' "$TMP/q.json"
check_eq "the int8 model carries the normalisation" "$(meta "$TMP/q.st" | jq -r .normalisation)" \
	"$(echo "$M" | jq -r .normalisation)"
check_eq "the int8 model carries the class names" "$(meta "$TMP/q.st" | jq -r .class_names)" \
	'["circle","cross","square"]'
"$BIN/evaluate" --weights "$TMP/q.st" --dataset folder --data "$TMP/test" </dev/null >"$TMP/qe.json"
check_eq "int8 evaluate = quantize's int8 accuracy" "$(jq .eval.accuracy "$TMP/qe.json")" \
	"$(jq .quant.int8_acc "$TMP/q.json")"
"$BIN/emit-c" --model "$TMP/q.st" --name shapes -o "$TMP/emit" --no-build --dataset folder \
	--data "$TMP/test" --test-vectors 4 </dev/null >"$TMP/emit.json" 2>"$TMP/emit.err"
check "emit-c takes the normalisation from the int8 model's metadata" \
	jq -e '.emit.normalisation == "from the model'"'"'s metadata" and .emit.class_names' "$TMP/emit.json"
check_eq "model.h has the folder's class names" "$(grep '^#define SHAPES_CLASS_NAMES' "$TMP/emit/shapes.h")" \
	'#define SHAPES_CLASS_NAMES {"circle", "cross", "square"}'
make -s -C "$TMP/emit" host-test >"$TMP/ht.txt" 2>&1
check_eq "the emitted model's test vectors (test folder, model's normalisation) match on the host" \
	"$(tail -1 "$TMP/ht.txt")" "4/4 test vectors match"
"$BIN/quantize" --weights "$TMP/s.ckpt" $DS --calib 16 -o "$TMP/q2.st" </dev/null >"$TMP/q2.json" 2>/dev/null
check "without --test-data a folder is scored on its training images, and says so" \
	jq -e '.quant.eval_split == "train" and .quant.eval_images == 90' "$TMP/q2.json"

# A CSV of path,label gives the same data.
(cd "$TMP" && for c in circle cross square; do for f in train/$c/*.png; do echo "$f,$c"; done; done) >"$TMP/train.csv"
echo "{\"id\":\"s\",\"arch\":$ARCH}" | "$BIN/full-train" --dataset csv --data "$TMP/train.csv" \
	$FAST --out "$TMP/c.ckpt" >"$TMP/csv.jsonl" 2>/dev/null
check_eq "a CSV trains as the folder does (same val_acc)" "$(jq .full.val_acc "$TMP/csv.jsonl")" \
	"$(jq .full.val_acc "$TMP/full.jsonl")"

# A broken image: exit 2, the file named.
head -c 50 "$TMP/train/cross/003.png" >"$TMP/b" && mv "$TMP/b" "$TMP/train/cross/003.png"
echo "{\"id\":\"s\",\"arch\":$ARCH}" | "$BIN/full-train" $DS $FAST --out "$TMP/x.ckpt" >/dev/null 2>"$TMP/bad.err"
check_eq "a truncated PNG: exit 2" "$?" 2
check "  ... and the message names it" grep -q "cross/003.png" "$TMP/bad.err"
done_testing
