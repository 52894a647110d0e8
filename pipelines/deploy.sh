#!/bin/sh
# deploy.sh — the paper's three published models (-kd weights) quantised to int8, emitted as C,
# run on the host and on a Cortex-M7 in QEMU (mps2-an500) with matching outputs; arena and flash
# printed next to the paper's SRAM claims.
#
#   pipelines/deploy.sh [OUTDIR]       (default build/deploy; needs ../shared/paper-models or
#                                       LMNAS_SHARED)
#   EXEC=patched pipelines/deploy.sh    the first layers row-streamed (emit-c --exec patched):
#                                       the smallest arena; the test vectors' expected logits stay
#                                       the layer-by-layer reference's, so a match on the host and
#                                       on the M7 shows the streamed code bit-exact
#
# Calibration: the 4 golden images of shared/paper-models/golden-logits.safetensors (Fashion-MNIST
# t10k 0..3, upsampled to 160x160 and normalised exactly as the PyTorch reference run), which are
# also the test vectors; int8 top-1 is compared with the float (folded) model on them (column top1:
# fraction of the 4 images where int8 and float predict the same class). Ranges: quantize's
# default mse calibration.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${LMNAS_SHARED:-$ROOT/../shared}
PM=$SHARED/paper-models
OUT=${1:-$ROOT/build/deploy}
EXEC=${EXEC:-layer}
GOLD=$PM/golden-logits.safetensors
mkdir -p "$OUT"
make -s -C "$ROOT" bin/quantize bin/emit-c bin/check-cost
printf '%-14s %7s %9s %9s %9s %11s %11s %8s %8s %6s %s\n' model exec arena_B sram_B paper_KB flash_B formula_B host m7 top1 m7_seconds
for m in lmanet-elite lmanet-core qwnet-core; do
	case $m in lmanet-elite) claim=165 ;; lmanet-core) claim=215 ;; qwnet-core) claim=227 ;; esac
	"$ROOT/bin/quantize" --weights "$PM/$m-kd.safetensors" --arch "$PM/$m.json" \
		--dataset safetensors --data "$GOLD" --calib 4 -o "$OUT/$m-int8.safetensors" \
		</dev/null >"$OUT/$m.quant.json" 2>"$OUT/$m.quant.log"
	"$ROOT/bin/emit-c" --model "$OUT/$m-int8.safetensors" --name "$m" -o "$OUT/$m" \
		--test-vectors 4 --dataset safetensors --data "$GOLD" --exec "$EXEC" \
		<"$OUT/$m.quant.json" >"$OUT/$m.emit.json" 2>"$OUT/$m.emit.log"
	make -s -C "$OUT/$m" host-test SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" \
		>"$OUT/$m.host.log" 2>&1 || true
	t0=$(date +%s)
	make -s -C "$OUT/$m" m7-test >"$OUT/$m.m7.log" 2>&1 || true
	t1=$(date +%s)
	printf '%-14s %7s %9s %9s %9s %11s %11s %8s %8s %6s %s\n' "$m" "$EXEC" \
		"$(jq .emit.arena_bytes "$OUT/$m.emit.json")" "$(jq .emit.sram_bytes "$OUT/$m.emit.json")" \
		"$claim" \
		"$(jq .emit.flash_bytes "$OUT/$m.emit.json")" \
		"$(jq .emit.flash_formula_bytes "$OUT/$m.emit.json")" \
		"$(tail -1 "$OUT/$m.host.log" | cut -d' ' -f1)" \
		"$(tail -1 "$OUT/$m.m7.log" | cut -d' ' -f1)" \
		"$(jq .quant.top1_agree "$OUT/$m.emit.json")" "$((t1 - t0))"
done
