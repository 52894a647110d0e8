#!/bin/sh
# tests/cli/qat.sh — quantisation-aware training on a tiny slice of Fashion-MNIST: kd --qat
# ternary writes a checkpoint whose weights are already ternary, resumes after SIGTERM to
# the uninterrupted result, refuses a changed --sparsity on --resume; quantize --weight-format ternary
# deploys it with check-cost's ternary flash, and the emitted model is bit-exact on the host and on
# the Cortex-M7 in QEMU; --int8-ops keeps named convs int8 from QAT to C, and quantize
# --sensitivity says which convs ternary costs most. kd --qat int8 rounds the activations too: their ranges are in the
# checkpoint and the resume state (a resumed run is byte for byte the uninterrupted one), and
# quantize deploys them unless --ignore-qat-ranges.
. "$(dirname "$0")/../lib.sh"

if [ ! -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
	skip "Fashion-MNIST is not installed"
	done_testing
fi
ARCH='{"input_channels":1,"blocks":[{"output_channels":16,"num_layers":1,"kernel_size":3,"stride":2,"expansion_factor":1,"use_se":false,"se_ratio":0,"conv_type":"depthwise","skip_op":"identity","activation":"relu6"},{"output_channels":32,"num_layers":2,"kernel_size":3,"stride":2,"expansion_factor":2,"use_se":true,"se_ratio":0.25,"conv_type":"mbconv","skip_op":"residual","activation":"swish"},{"output_channels":32,"num_layers":1,"kernel_size":3,"stride":2,"expansion_factor":1,"use_se":false,"se_ratio":0,"conv_type":"depthwise","skip_op":"identity","activation":"relu6"},{"output_channels":32,"num_layers":1,"kernel_size":7,"stride":2,"expansion_factor":1,"use_se":false,"se_ratio":0,"conv_type":"depthwise","skip_op":"identity","activation":"relu6"}]}'
SMALL="--train-limit 512 --val-split 0.005 --test-limit 200 --batch 64 --threads 1 --no-progress"
echo "{\"id\":\"q\",\"arch\":$ARCH}" >"$TMP/q.jsonl"
"$BIN/full-train" $SMALL --epochs 1 --out "$TMP/float.safetensors" <"$TMP/q.jsonl" >"$TMP/float.jsonl" 2>/dev/null
check_eq "full-train: the float network" "$?" 0

QAT="$SMALL --student $TMP/float.safetensors --teacher $TMP/float.safetensors --qat ternary --sparsity 0.5 --epochs 3 --seed 3"
"$BIN/kd" $QAT --out "$TMP/ref.safetensors" <"$TMP/q.jsonl" >"$TMP/ref.out" 2>/dev/null
check_eq "kd --qat ternary: exit 0" "$?" 0
check "the record says qat ternary, sparsity 0.5" jq -e '.kd | .qat == "ternary" and .sparsity == 0.5 and .test_acc >= 0' "$TMP/ref.out"

# SIGTERM after the first epoch, then --resume: the same result as the uninterrupted run.
term_when_written "$TMP/int.safetensors.state" "$TMP/q.jsonl" "$TMP/int.out" \
	"$BIN/kd" $QAT --out "$TMP/int.safetensors"
check_eq "SIGTERM: exit 1" "$?" 1
"$BIN/kd" $QAT --out "$TMP/int.safetensors" --resume <"$TMP/q.jsonl" >"$TMP/res.out" 2>"$TMP/res.err"
check_eq "--resume: exit 0" "$?" 0
check "--resume says where it continues" grep -q "resuming" "$TMP/res.err"
check_eq "resumed QAT = uninterrupted QAT (test_acc, train_loss)" \
	"$(jq -c '[.kd.test_acc, .kd.train_loss]' "$TMP/res.out")" "$(jq -c '[.kd.test_acc, .kd.train_loss]' "$TMP/ref.out")"
check "resumed checkpoint = uninterrupted checkpoint, byte for byte" cmp "$TMP/int.safetensors" "$TMP/ref.safetensors"
"$BIN/kd" $QAT --sparsity 0.7 --out "$TMP/int.safetensors" --resume <"$TMP/q.jsonl" >/dev/null 2>"$TMP/chg.err"
check_eq "--resume with another --sparsity: exit 2" "$?" 2
check "and names it with both values" grep -q -- "--sparsity was 0.5 .* this run has 0.7" "$TMP/chg.err"
"$BIN/kd" $(echo "$QAT" | sed 's/--qat ternary//') --out "$TMP/int.safetensors" --resume <"$TMP/q.jsonl" >/dev/null 2>"$TMP/noqat.err"
check_eq "--resume of a ternary QAT state without --qat: exit 2" "$?" 2
check "it names the option the state was written with" grep -q -- "--qat was ternary when .* this run does not give it" "$TMP/noqat.err"
"$BIN/kd" $QAT --qat int8 --out "$TMP/int.safetensors" --resume <"$TMP/q.jsonl" >/dev/null 2>"$TMP/chg2.err"
check_eq "--resume with --qat int8 after ternary: exit 2" "$?" 2
"$BIN/kd" $SMALL --qat int4 </dev/null >/dev/null 2>&1
check_eq "--qat int4: exit 2" "$?" 2

# int8 QAT with activations: SIGTERM after the first epoch, --resume, the same checkpoint (ranges
# included, in its metadata).
Q8="$SMALL --student $TMP/float.safetensors --teacher $TMP/float.safetensors --qat int8 --epochs 3 --seed 3"
"$BIN/kd" $Q8 --out "$TMP/r8.safetensors" <"$TMP/q.jsonl" >"$TMP/r8.out" 2>/dev/null
check_eq "kd --qat int8: exit 0" "$?" 0
check_eq "the record counts 25 activation ranges (input, 12 convs, 2 SE scales, the add, the logits, 4 before a swish table, 2 in each SE)" \
	"$(jq .kd.qat_activation_ranges "$TMP/r8.out")" 25
check "the checkpoint carries them" grep -a -q '"qat_activation_ranges":"{\\"input\\":\[' "$TMP/r8.safetensors"
term_when_written "$TMP/i8.safetensors.state" "$TMP/q.jsonl" /dev/null \
	"$BIN/kd" $Q8 --out "$TMP/i8.safetensors"
check_eq "int8 QAT, SIGTERM: exit 1" "$?" 1
check "the resume state carries the ranges" grep -a -q qat_activation_ranges "$TMP/i8.safetensors.state"
"$BIN/kd" $Q8 --out "$TMP/i8.safetensors" --resume <"$TMP/q.jsonl" >"$TMP/i8.out" 2>/dev/null
check_eq "int8 QAT --resume: exit 0" "$?" 0
check "resumed int8 QAT checkpoint = uninterrupted one, byte for byte (ranges included)" \
	cmp "$TMP/i8.safetensors" "$TMP/r8.safetensors"
# quantize deploys the trained ranges (and says so), or calibrates them all when told
"$BIN/quantize" --weights "$TMP/r8.safetensors" --dataset fashion-mnist --calib 64 --eval 200 \
	-o "$TMP/q8.safetensors" <"$TMP/r8.out" >"$TMP/q8.out" 2>"$TMP/q8.err"
check_eq "quantize the int8 QAT checkpoint: exit 0" "$?" 0
check "quantize says the ranges come from QAT" grep -q "25 activation ranges from its QAT" "$TMP/q8.err"
check_eq "quant.qat_ranges = kd.qat_activation_ranges" "$(jq .quant.qat_ranges "$TMP/q8.out")" 25
"$BIN/quantize" --weights "$TMP/r8.safetensors" --dataset fashion-mnist --calib 64 --eval 200 \
	--ignore-qat-ranges -o "$TMP/c8.safetensors" </dev/null >"$TMP/c8.out" 2>"$TMP/c8.err"
check_eq "--ignore-qat-ranges: qat_ranges 0" "$(jq .quant.qat_ranges "$TMP/c8.out")" 0
check "--ignore-qat-ranges: another model (calibrated ranges)" sh -c "! cmp -s '$TMP/q8.safetensors' '$TMP/c8.safetensors'"
check "--ignore-qat-ranges: not a word of QAT ranges" sh -c "! grep -q 'from its QAT' '$TMP/c8.err'"

# The checkpoint is what is deployed: re-quantising it to ternary changes no decision (the float
# accuracy of the file is the QAT accuracy), at check-cost's ternary flash.
"$BIN/quantize" --weights "$TMP/ref.safetensors" --weight-format ternary --sparsity 0.5 --dataset fashion-mnist \
	--calib 64 --eval 200 -o "$TMP/t.safetensors" <"$TMP/ref.out" >"$TMP/t.out" 2>/dev/null
check_eq "quantize --weight-format ternary: exit 0" "$?" 0
check_eq "quantize's float accuracy of the QAT checkpoint = kd's test_acc" \
	"$(jq .quant.float_acc "$TMP/t.out")" "$(jq .kd.test_acc "$TMP/t.out")"
# per channel (int)(0.5 n) zeros, and besides them the 13 taps of the last block's 7x7 depthwise (4x4 -> 2x2)
# that never meet the image: their 32 x 13 zeros lift the fraction above 0.5
check "ternary zero fraction: 0.5 plus the dead taps ($(jq .quant.ternary_zero_fraction "$TMP/t.out"))" \
	jq -e '.quant.ternary_zero_fraction | . > 0.5 and . < 0.53' "$TMP/t.out"
check_eq "quant.flash_bytes = check-cost --weight-format ternary" "$(jq .quant.flash_bytes "$TMP/t.out")" \
	"$("$BIN/check-cost" --resolution 28 --classes 10 --weight-format ternary <"$TMP/q.jsonl" | jq .cost.flash_bytes)"

# The ternary model emitted as C: bit-exact against quantize's reference on the host and the M7.
"$BIN/emit-c" --model "$TMP/t.safetensors" --name tq -o "$TMP/tq" --test-vectors 4 \
	--dataset fashion-mnist </dev/null >"$TMP/e.out" 2>/dev/null
check "emit-c: packed ternary weights and the add/subtract kernels" grep -q "lmq_pw_t3" "$TMP/tq/tq.c"
check "emit-c: the depthwise convs are ternary too" grep -q "lmq_dw_t3(" "$TMP/tq/tq.c"
check_eq "emit-c: two int8 convs are left, the first one and the classifier, on the plain kernels" \
	"$(grep -o '\<lmq_pw(\|\<lmq_dw(\|LMQ_PW(\|LMQ_DW(' "$TMP/tq/tq.c" | tr '\n' ' ')" "lmq_dw( lmq_pw( "
check "emit-c: a ternary model calls no DSP kernel (they would double its code)" \
	sh -c "! grep -q 'LMQ_[A-Z]*(' '$TMP/tq/tq.c'"
check_eq "host: 4/4 test vectors match" "$(make -s -C "$TMP/tq" host-test 2>&1 | tail -1)" "4/4 test vectors match"
# Row-streamed (--exec patched): the ternary depthwise row kernel gives the layer-by-layer logits.
"$BIN/emit-c" --model "$TMP/t.safetensors" --name tp -o "$TMP/tp" --exec patched --test-vectors 4 \
	--dataset fashion-mnist --no-build </dev/null >"$TMP/p.out" 2>/dev/null
check_eq "emit-c --exec patched: exit 0 (the streamed reference matches layer by layer)" "$?" 0
check "the streamed model calls lmq_dw_row_t3" grep -q "lmq_dw_row_t3(" "$TMP/tp/tp.c"
check_eq "patched host: 4/4 test vectors match" "$(make -s -C "$TMP/tp" host-test 2>&1 | tail -1)" "4/4 test vectors match"
if command -v qemu-system-arm >/dev/null && command -v arm-none-eabi-gcc >/dev/null; then
	check "the ternary model's flash formula is within 0.1% of its Cortex-M7 build ($(jq -c '[.emit.flash_formula_bytes, .emit.flash_bytes]' "$TMP/e.out"))" \
		jq -e '.emit | (.flash_formula_bytes - .flash_bytes) | fabs <= 0.001 * $f' --argjson f "$(jq .emit.flash_bytes "$TMP/e.out")" "$TMP/e.out"
	make -s -C "$TMP/tq" m7-test QEMU_TIMEOUT=120 >"$TMP/m7" 2>&1
	check_eq "Cortex-M7 (QEMU): 4/4 test vectors match" "$(tail -1 "$TMP/m7")" "4/4 test vectors match"
else
	skip "qemu-system-arm or arm-none-eabi-gcc is not installed"
fi

# --int8-ops: ternary QAT keeps the named convs int8; the checkpoint says so and quantize keeps them
# without being told, at check-cost's flash; the emitted model runs them on the int8 kernels.
OPS=layers.1.layers.0.dw,layers.3.layers.0.dw
"$BIN/kd" $QAT --epochs 1 --int8-ops "$OPS" --out "$TMP/mx.safetensors" <"$TMP/q.jsonl" >"$TMP/mx.out" 2>/dev/null
check_eq "kd --qat ternary --int8-ops: exit 0" "$?" 0
"$BIN/quantize" --weights "$TMP/mx.safetensors" --weight-format ternary --sparsity 0.5 --dataset fashion-mnist \
	--calib 64 --eval 200 -o "$TMP/mxq.safetensors" <"$TMP/mx.out" >"$TMP/mxq.out" 2>"$TMP/mxq.err"
check_eq "quantize of the mixed checkpoint: exit 0" "$?" 0
check "quantize keeps the checkpoint's int8 ops and says so" grep -q "int8 ops $OPS, as its ternary QAT kept them" "$TMP/mxq.err"
check_eq "quant.int8_ops" "$(jq -r .quant.int8_ops "$TMP/mxq.out")" "$OPS"
check_eq "quantize's float accuracy of the mixed checkpoint = kd's test_acc (the same convs ternary)" \
	"$(jq .quant.float_acc "$TMP/mxq.out")" "$(jq .kd.test_acc "$TMP/mxq.out")"
check_eq "quant.flash_bytes = check-cost --weight-format ternary --int8-ops" "$(jq .quant.flash_bytes "$TMP/mxq.out")" \
	"$("$BIN/check-cost" --resolution 28 --classes 10 --weight-format ternary --int8-ops "$OPS" <"$TMP/q.jsonl" | jq .cost.flash_bytes)"
"$BIN/emit-c" --model "$TMP/mxq.safetensors" --name mx -o "$TMP/mxc" --test-vectors 4 --dataset fashion-mnist \
	--no-build </dev/null >/dev/null 2>&1
check_eq "emit-c: the first conv and the two named depthwise convs run lmq_dw" "$(grep -c '\<lmq_dw(' "$TMP/mxc/mx.c")" 3
check_eq "mixed model, host: 4/4 test vectors match" "$(make -s -C "$TMP/mxc" host-test 2>&1 | tail -1)" "4/4 test vectors match"
# --sensitivity: every conv ternary would make ternary, ternarised alone in the float network, most
# sensitive first, with the flash that keeping it int8 adds (check-cost's difference, to the byte).
"$BIN/quantize" --weights "$TMP/float.safetensors" --weight-format ternary --sensitivity --dataset fashion-mnist \
	--calib 64 --eval 50 -o "$TMP/sens.safetensors" <"$TMP/q.jsonl" >"$TMP/sens.out" 2>"$TMP/sens.err"
check_eq "quantize --sensitivity: exit 0" "$?" 0
check_eq "one entry per ternary conv (as many as the ternary model's t3 calls)" \
	"$(jq '.quant.ternary_sensitivity | length' "$TMP/sens.out")" "$(grep -c 'lmq_pw_t3(\|lmq_dw_t3(' "$TMP/tq/tq.c")"
check "agreements in [0, 1], most sensitive first" \
	jq -e '.quant.ternary_sensitivity | map(.agree) | (all(. >= 0 and . <= 1)) and . == sort' "$TMP/sens.out"
check "the table is on stderr" grep -q "ternary sensitivity on 64 calibration images" "$TMP/sens.err"
FIRST=$(jq -r '.quant.ternary_sensitivity[0].op' "$TMP/sens.out")
WITH=$("$BIN/check-cost" --resolution 28 --classes 10 --weight-format ternary --int8-ops "$FIRST" <"$TMP/q.jsonl" | jq .cost.flash_bytes)
WITHOUT=$("$BIN/check-cost" --resolution 28 --classes 10 --weight-format ternary <"$TMP/q.jsonl" | jq .cost.flash_bytes)
check_eq "int8_extra_bytes of $FIRST = check-cost's flash with it int8 minus without" \
	"$(jq '.quant.ternary_sensitivity[0].int8_extra_bytes' "$TMP/sens.out")" "$((WITH - WITHOUT))"
"$BIN/quantize" --weights "$TMP/float.safetensors" --sensitivity --dataset fashion-mnist -o "$TMP/x.safetensors" \
	<"$TMP/q.jsonl" >/dev/null 2>&1
check_eq "--sensitivity without --weight-format ternary: exit 2" "$?" 2
"$BIN/kd" $(echo "$QAT" | sed 's/--qat ternary//') --int8-ops "$OPS" <"$TMP/q.jsonl" >/dev/null 2>"$TMP/ops.err"
check_eq "--int8-ops without --qat ternary: exit 2" "$?" 2
"$BIN/kd" $QAT --epochs 1 --int8-ops layers.1.layers.0.dw,layers.7.layers.0.dw <"$TMP/q.jsonl" >"$TMP/ops.out" 2>/dev/null
check_eq "--int8-ops naming a conv the arch lacks: exit 1" "$?" 1
check "kd.error names it" jq -e '.kd.error | test("layers.7.layers.0.dw")' "$TMP/ops.out"
done_testing
