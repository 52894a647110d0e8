#!/bin/sh
# pipelines/recipes-proof.sh — the long runs that show the training recipes work on Fashion-MNIST
# (not part of make check; minutes to an hour on 2 cores):
#   1. mini-train of a small search-space net: >= 90% test accuracy in a few minutes;
#   2. full-train of a good net: >= 93% test accuracy;
#   3. kd from a wider full-trained teacher improves a student over the same epochs without kd.
# Usage: pipelines/recipes-proof.sh [OUT_DIR]   (default runs/recipes-proof)
# Environment: THREADS (2), MINI_EPOCHS (6), FULL_EPOCHS (30), KD_EPOCHS (10), SEED (1).
# Prints one summary line per claim and leaves the records and checkpoints in OUT_DIR.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/bin"
OUT=${1:-runs/recipes-proof}
THREADS=${THREADS:-2}
MINI_EPOCHS=${MINI_EPOCHS:-6}
FULL_EPOCHS=${FULL_EPOCHS:-30}
KD_EPOCHS=${KD_EPOCHS:-10}
SEED=${SEED:-1}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p "$OUT"

# Blocks of the search space (data/search-space.json): 5 stages.
block() { # out layers kernel stride E se conv skip act
	printf '{"output_channels":%s,"num_layers":%s,"kernel_size":%s,"stride":%s,"expansion_factor":%s,"use_se":%s,"se_ratio":0.25,"conv_type":"%s","skip_op":"%s","activation":"%s"}' "$@"
}
# The small net: about 52k parameters, 14x14 after the first block.
SMALL="{\"input_channels\":1,\"blocks\":[$(block 16 1 3 2 3 false depthwise identity relu6),$(block 24 1 3 1 3 false mbconv residual relu6),$(block 32 2 3 2 3 false mbconv residual relu6),$(block 48 1 3 1 3 true mbconv residual swish),$(block 64 1 3 1 3 false mbconv residual swish)]}"
# The teacher: the same shape, twice as wide and deeper.
WIDE="{\"input_channels\":1,\"blocks\":[$(block 32 1 3 2 3 false depthwise identity relu6),$(block 48 2 3 1 3 false mbconv residual relu6),$(block 64 2 3 2 3 true mbconv residual swish),$(block 96 2 3 1 3 true mbconv residual swish),$(block 128 1 3 1 3 false mbconv residual swish)]}"

echo "{\"id\":\"small\",\"arch\":$SMALL,\"check\":{\"ok\":true}}" >"$OUT/small.jsonl"
echo "{\"id\":\"wide\",\"arch\":$WIDE,\"check\":{\"ok\":true}}" >"$OUT/wide.jsonl"

# 1. mini-train, the paper's mini recipe shortened to MINI_EPOCHS epochs.
t0=$(date +%s)
"$BIN/mini-train" --epochs "$MINI_EPOCHS" --threads "$THREADS" --seed "$SEED" \
	<"$OUT/small.jsonl" >"$OUT/mini.jsonl"
echo "mini-train: $(jq -r '"test_acc \(.mini.test_acc) val_acc \(.mini.val_acc) in \(.mini.seconds | floor) s"' "$OUT/mini.jsonl") (wall $(($(date +%s) - t0)) s)"

# 2. full-train of the small net and of the wide teacher.
"$BIN/full-train" --epochs "$FULL_EPOCHS" --threads "$THREADS" --seed "$SEED" \
	--out "$OUT/small-full.safetensors" <"$OUT/small.jsonl" >"$OUT/small-full.jsonl"
echo "full-train small: $(jq -r '"test_acc \(.full.test_acc) in \(.full.seconds | floor) s"' "$OUT/small-full.jsonl")"
"$BIN/full-train" --epochs "$FULL_EPOCHS" --threads "$THREADS" --seed "$SEED" \
	--out "$OUT/wide-full.safetensors" <"$OUT/wide.jsonl" >"$OUT/wide-full.jsonl"
echo "full-train wide: $(jq -r '"test_acc \(.full.test_acc) in \(.full.seconds | floor) s"' "$OUT/wide-full.jsonl")"

# 3. The same fine-tuning of the small net with and without the teacher (alpha 1 = plain CE).
"$BIN/kd" --epochs "$KD_EPOCHS" --threads "$THREADS" --seed "$SEED" \
	--teacher "$OUT/wide-full.safetensors" --out "$OUT/small-kd.safetensors" \
	<"$OUT/small-full.jsonl" >"$OUT/kd.jsonl"
"$BIN/kd" --epochs "$KD_EPOCHS" --threads "$THREADS" --seed "$SEED" --alpha 1 --alpha-final 1 \
	--teacher "$OUT/wide-full.safetensors" --out "$OUT/small-ce.safetensors" \
	<"$OUT/small-full.jsonl" >"$OUT/ce.jsonl"
echo "kd: test_acc $(jq -r .kd.test_acc_before "$OUT/kd.jsonl") -> $(jq -r .kd.test_acc "$OUT/kd.jsonl") with the teacher, -> $(jq -r .kd.test_acc "$OUT/ce.jsonl") without (same $KD_EPOCHS epochs)"
