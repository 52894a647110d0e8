#!/bin/sh
# bench.sh — training throughput of the engine against PyTorch on lmanet-elite (make bench).
#   32x32 batch 128 and 160x160 batch 32, 100 classes, the same threads for both. PyTorch runs in
#   each configuration a PyTorch user would try on a CPU — NCHW (its default) and channels_last,
#   with its default OpenMP waits — and the engine is compared with the best of them. The engine's
#   arithmetic rate (6 x forward MACs per image) is put against this CPU's measured SGEMM peak on
#   the same threads, so every run shows the distance to the physical limit, and one core's
#   rate of bf16 dot products is put against its rate of fp32 fused multiply-adds (what a bf16
#   GEMM could gain here). Each runs with the idle-thread waits it does best with on a machine it
#   has to itself: PyTorch its default, the engine GOMP_SPINCOUNT=BENCH_SPIN (spin, then sleep;
#   the engine's default elsewhere is to sleep at once, OMP_WAIT_POLICY=passive, which is for
#   shared machines).
# Environment: LMNAS_SHARED (paper models), BENCH_STEPS (default 30; 160x160 uses a third),
# BENCH_THREADS (threads for both, default all cores), BENCH_SPIN (default 10000; 0: the engine
# sleeps at once), BENCH_ROUNDS (default 3: each figure is the median of that many rounds of all
# three, run in turn; two single runs on an idle VM differed by 30 %), PYTHON (default
# /usr/bin/python3).
set -eu
. "$(dirname "$0")/settings.sh"
die() { echo "bench: $*" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${LMNAS_SHARED:-$ROOT/../shared}
ARCH=$SHARED/paper-models/lmanet-elite.json
PY=${PYTHON:-/usr/bin/python3}
STEPS=${BENCH_STEPS:-30}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-$(nproc)}
BENCH_SPIN=${BENCH_SPIN:-10000}
whole_numbers BENCH_SPIN BENCH_ROUNDS
[ "$BENCH_ROUNDS" -ge 1 ] || die "BENCH_ROUNDS must be at least 1"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lmnas-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ -f "$ARCH" ] || { echo "bench: $ARCH not found (set LMNAS_SHARED)" >&2; exit 2; }
have_torch=0
"$PY" -c 'import torch' 2>/dev/null && have_torch=1
[ "$have_torch" = 1 ] || echo "bench: no PyTorch (apt-get install python3-torch): engine only" >&2
echo "bench: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $THREADS threads, engine's idle threads: $([ "$BENCH_SPIN" -gt 0 ] && echo "spin $BENCH_SPIN times, then sleep" || echo "sleep at once")" >&2

torch_ips() { # RES BATCH STEPS LAYOUT -> images/s (PyTorch's default thread waits; the OpenBLAS
	# kernels the engine ran, $blas_core: where Debian's OpenBLAS falls back to SSE3 on a CPU it
	# does not know, both get the AVX kernels, see mini-train(1), OPENBLAS_CORETYPE)
	env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OPENBLAS_CORETYPE="$blas_core" "$PY" "$ROOT/pipelines/bench_torch.py" "$ARCH" "$1" "$2" 100 "$3" "$THREADS" "$4" |
		jq '.images_per_s'
}

# median of the numbers on stdin, one per line
median() { sort -g | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# the engine's bench record for RES BATCH STEPS
engine_bench() {
	jq -c . "$ARCH" | (omp_waits "$BENCH_SPIN" && exec "$ROOT/bin/mini-train" --benchmark "$3" \
		--batch "$2" --resolution "$1" --classes 100 --threads "$THREADS" --peak) 2>/dev/null |
		jq -c '.bench'
}

printf '%-20s %10s %9s %9s %14s %7s %8s %6s\n' "lmanet-elite" "lmnas" "GFLOP/s" "of peak" \
	"torch NCHW" "ch_last" "best" "ratio"
for cfg in "32 128 $STEPS" "160 32 $((STEPS / 3 + 1))"; do
	set -- $cfg
	res=$1 batch=$2 steps=$3
	# BENCH_ROUNDS rounds, each the engine then PyTorch in both layouts, so that a slow spell of a
	# shared host falls on all three; each column is the median of its rounds
	for f in ours gflops peak nchw cl; do : >"$tmp/$f"; done
	r=0
	while [ $r -lt "$BENCH_ROUNDS" ]; do
		bench=$(engine_bench "$res" "$batch" "$steps")
		echo "$bench" | jq '.images_per_s' >>"$tmp/ours"
		echo "$bench" | jq '.train_gflops' >>"$tmp/gflops"
		echo "$bench" | jq '.sgemm_peak_gflops' >>"$tmp/peak"
		echo "$bench" >"$tmp/last.json"
		blas_core=$(echo "$bench" | jq -r '.blas_core')
		if [ "$have_torch" = 1 ]; then
			torch_ips "$res" "$batch" "$steps" nchw >>"$tmp/nchw"
			torch_ips "$res" "$batch" "$steps" channels_last >>"$tmp/cl"
		fi
		r=$((r + 1))
	done
	ours=$(median <"$tmp/ours") gflops=$(median <"$tmp/gflops") peak=$(median <"$tmp/peak")
	frac=$(echo "$gflops $peak" | awk '{print 100 * $1 / $2}')
	nchw=- cl=- best=- ratio=-
	if [ "$have_torch" = 1 ]; then
		nchw=$(median <"$tmp/nchw") cl=$(median <"$tmp/cl")
		best=$(echo "$nchw $cl" | awk '{print ($1 > $2 ? $1 : $2)}')
		ratio=$(echo "$ours $best" | awk '{printf "%.2fx", $1 / $2}')
		nchw=$(printf '%.1f' "$nchw") cl=$(printf '%.1f' "$cl") best=$(printf '%.1f' "$best")
	fi
	printf '%-20s %10.1f %9.1f %8.1f%% %14s %7s %8s %6s\n' "${res}x${res} batch $batch" "$ours" \
		"$gflops" "$frac" "$nchw" "$cl" "$best" "$ratio"
	echo "bench: ${res}x${res}: SGEMM peak on $THREADS threads $(printf '%.1f' "$peak") GFLOP/s (OpenBLAS $blas_core)" >&2
	echo "bench: ${res}x${res}: img/s in each of $BENCH_ROUNDS rounds: lmnas $(paste -s -d ' ' "$tmp/ours" | xargs printf '%.1f ')" \
		"| NCHW $(paste -s -d ' ' "$tmp/nchw" | xargs -r printf '%.1f ')| channels_last $(paste -s -d ' ' "$tmp/cl" | xargs -r printf '%.1f ')" >&2
done
# What bf16 arithmetic could gain here: one core's rate of bf16 dot products (fp32 sums) against
# that of fp32 fused multiply-adds, both measured by the last engine run (mini-train --peak)
jq -r 'if .fma_gflops_core == null then
	"one core: no AVX2 or AVX-512 fused multiply-add on this CPU"
elif .bf16_dot_gflops_core == null then
	"one core: fp32 FMA \(.fma_gflops_core * 10 | round / 10) GFLOP/s; no AVX512_BF16 on this CPU"
else
	"one core: fp32 FMA \(.fma_gflops_core * 10 | round / 10) GFLOP/s, bf16 dot (AVX512_BF16) \(.bf16_dot_gflops_core * 10 | round / 10) GFLOP/s: a bf16 GEMM could reach \(.bf16_dot_gflops_core / .fma_gflops_core * 100 | round / 100)x the fp32 arithmetic rate"
end' "$tmp/last.json"
