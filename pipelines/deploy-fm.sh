#!/bin/sh
# deploy-fm.sh — a Fashion-MNIST checkpoint trained by lmnas through quantize (calibrated on the
# training split, float vs int8 accuracy on the whole test split) and emit-c, run on the host and
# on a Cortex-M7 in QEMU.
#
#   pipelines/deploy-fm.sh W.safetensors [OUTDIR] [CALIB]   (default build/deploy-fm, 256 images)
#   RESOLUTION=28 for a checkpoint written before checkpoints recorded their resolution
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
W=$1
OUT=${2:-$ROOT/build/deploy-fm}
CALIB=${3:-256}
mkdir -p "$OUT"
make -s -C "$ROOT" bin/quantize bin/emit-c
"$ROOT/bin/quantize" --weights "$W" --dataset fashion-mnist --calib "$CALIB" ${RESOLUTION:+--resolution "$RESOLUTION"} \
	-o "$OUT/fm-int8.safetensors" </dev/null >"$OUT/quant.json"
"$ROOT/bin/emit-c" --model "$OUT/fm-int8.safetensors" --name fm -o "$OUT/fm" --test-vectors 10 \
	--dataset fashion-mnist <"$OUT/quant.json" >"$OUT/emit.json"
make -s -C "$OUT/fm" host-test SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" 2>&1 | grep "test vectors match"
make -s -C "$OUT/fm" m7-test 2>&1 | grep "test vectors match"
jq -c '{float_acc: .quant.float_acc, int8_acc: .quant.int8_acc,
	drop_points: ((.quant.float_acc - .quant.int8_acc) * 100),
	arena_bytes: .emit.arena_bytes, flash_bytes: .emit.flash_bytes}' "$OUT/emit.json"
