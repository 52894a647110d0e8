#!/bin/sh
# bench.sh — training throughput of the engine against PyTorch on lmanet-elite (make bench).
#   32x32 batch 128 and 160x160 batch 32, 100 classes; PyTorch with 2 threads (skipped when
#   python3-torch is absent). Prints images/s and the ratio.
# Environment: LMNAS_SHARED (paper models), BENCH_STEPS (default 30; 160x160 uses a third),
# BENCH_THREADS (engine threads, default all cores), PYTHON (default /usr/bin/python3).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${LMNAS_SHARED:-$ROOT/../shared}
[ -d "$SHARED/paper-models" ] || SHARED=$ROOT/../../shared
ARCH=$SHARED/paper-models/lmanet-elite.json
PY=${PYTHON:-/usr/bin/python3}
STEPS=${BENCH_STEPS:-30}
THREADS=${BENCH_THREADS:-0}
[ -f "$ARCH" ] || { echo "bench: $ARCH not found (set LMNAS_SHARED)" >&2; exit 2; }
have_torch=0
"$PY" -c 'import torch' 2>/dev/null && have_torch=1

printf '%-22s %12s %12s %8s\n' "lmanet-elite" "lmnas img/s" "torch img/s" "ratio"
for cfg in "32 128 $STEPS" "160 32 $((STEPS / 3 + 1))"; do
	set -- $cfg
	res=$1 batch=$2 steps=$3
	ours=$(jq -c . "$ARCH" | "$ROOT/bin/mini-train" --benchmark "$steps" --batch "$batch" \
		--resolution "$res" --classes 100 --threads "$THREADS" 2>/dev/null |
		jq '.bench.images_per_s')
	theirs=-
	ratio=-
	if [ "$have_torch" = 1 ]; then
		theirs=$("$PY" "$ROOT/pipelines/bench_torch.py" "$ARCH" "$res" "$batch" 100 "$steps" 2 |
			jq '.images_per_s')
		ratio=$(echo "$ours $theirs" | awk '{printf "%.2fx", $1 / $2}')
		theirs=$(printf '%.1f' "$theirs")
	fi
	printf '%-22s %12.1f %12s %8s\n' "${res}x${res} batch $batch" "$ours" "$theirs" "$ratio"
done
