#!/bin/sh
# bench.sh — training throughput of the engine against PyTorch on lmanet-elite (make bench).
#   32x32 batch 128 and 160x160 batch 32, 100 classes, the same threads for both. PyTorch runs in
#   each configuration a PyTorch user would try on a CPU — NCHW (its default), channels_last, and
#   channels_last under bf16 autocast (its mixed precision), with its default OpenMP waits — and
#   the engine is compared with the best of those it could run. The engine runs in fp32 and, on a
#   CPU with AMX tiles, again with its 1x1 convolutions' GEMMs in bf16 (--precision bf16). Each
#   row's arithmetic rate (6 x forward MACs per image) is put against a measured peak on the same
#   threads — fp32: a large SGEMM; bf16: the AMX tiles' product rate — so every run shows the
#   distance to the physical limit; one core's rates of fp32 fused multiply-adds, bf16 dot
#   products and AMX tile products close the output. Each runs with the idle-thread waits it does
#   best with on a machine it has to itself: PyTorch its default, the engine
#   GOMP_SPINCOUNT=BENCH_SPIN (spin, then sleep; the engine's default elsewhere is to sleep at
#   once, OMP_WAIT_POLICY=passive, which is for shared machines).
# Environment: LMNAS_SHARED (paper models), BENCH_STEPS (default 30; 160x160 uses a third),
# BENCH_THREADS (threads for both, default all cores), BENCH_SPIN (default 10000; 0: the engine
# sleeps at once), BENCH_ROUNDS (default 3: each figure is the median of that many rounds of all
# of them, run in turn; two single runs on an idle VM differed by 30 %), PYTHON (default
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
# the engine's bench record for RES BATCH STEPS PRECISION
engine_bench() {
	jq -c . "$ARCH" | (omp_waits "$BENCH_SPIN" && exec "$ROOT/bin/mini-train" --benchmark "$3" \
		--batch "$2" --resolution "$1" --classes 100 --threads "$THREADS" --precision "$4" \
		--peak) 2>/dev/null | jq -c '.bench'
}
# PyTorch's images/s for RES BATCH STEPS LAYOUT appended to FILE; a configuration PyTorch cannot
# run (its error on stderr) leaves FILE empty and is not tried again
torch_round() {
	[ -f "$tmp/$5.failed" ] && return 0
	if ! v=$(torch_ips "$1" "$2" "$3" "$4" 2>"$tmp/torch.err") || [ -z "$v" ]; then
		echo "bench: PyTorch $4 at ${1}x$1 failed: $(grep -v '^ *$' "$tmp/torch.err" | tail -1)" >&2
		: >"$tmp/$5.failed"
		return 0
	fi
	echo "$v" >>"$tmp/$5"
}
# median of FILE with one decimal, or - when it is empty (a PyTorch configuration that failed)
median_or_dash() { if [ -s "$tmp/$1" ]; then printf '%.1f' "$(median <"$tmp/$1")"; else echo -; fi; }

printf '%-18s %5s %9s %9s %8s %11s %8s %7s %8s %6s\n' "lmanet-elite" "GEMMs" "lmnas" "GFLOP/s" \
	"of peak" "torch NCHW" "ch_last" "bf16" "best" "ratio"
have_bf16=
for cfg in "32 128 $STEPS" "160 32 $((STEPS / 3 + 1))"; do
	set -- $cfg
	res=$1 batch=$2 steps=$3
	# BENCH_ROUNDS rounds, each the engine (fp32, and bf16 on a CPU with AMX) then PyTorch in
	# each configuration, so that a slow spell of a shared host falls on all of them; each column
	# is the median of its rounds
	for f in fp32 fp32.gflops fp32.peak bf16 bf16.gflops bf16.peak nchw cl tbf16; do
		: >"$tmp/$f"
	done
	r=0
	while [ $r -lt "$BENCH_ROUNDS" ]; do
		bench=$(engine_bench "$res" "$batch" "$steps" fp32)
		echo "$bench" >"$tmp/last.json"
		echo "$bench" | jq '.images_per_s' >>"$tmp/fp32"
		echo "$bench" | jq '.train_gflops' >>"$tmp/fp32.gflops"
		echo "$bench" | jq '.sgemm_peak_gflops' >>"$tmp/fp32.peak"
		blas_core=$(echo "$bench" | jq -r '.blas_core')
		amx=$(echo "$bench" | jq '.amx_bf16_gflops_core // 0')
		[ -z "$have_bf16" ] && have_bf16=$(echo "$amx" | awk '{print ($1 > 0)}')
		if [ "$have_bf16" = 1 ]; then
			bench=$(engine_bench "$res" "$batch" "$steps" bf16)
			echo "$bench" | jq '.images_per_s' >>"$tmp/bf16"
			echo "$bench" | jq '.train_gflops' >>"$tmp/bf16.gflops"
			echo "$bench" | jq ".amx_bf16_gflops_core * $THREADS" >>"$tmp/bf16.peak"
		fi
		if [ "$have_torch" = 1 ]; then
			torch_round "$res" "$batch" "$steps" nchw nchw
			torch_round "$res" "$batch" "$steps" channels_last cl
			torch_round "$res" "$batch" "$steps" bf16 tbf16
		fi
		r=$((r + 1))
	done
	nchw=$(median_or_dash nchw) cl=$(median_or_dash cl) tbf16=$(median_or_dash tbf16)
	best=$(printf '%s\n' "$nchw" "$cl" "$tbf16" | grep -v '^-$' | sort -g | tail -1)
	for prec in fp32 bf16; do
		[ -s "$tmp/$prec" ] || continue
		ours=$(median <"$tmp/$prec") gflops=$(median <"$tmp/$prec.gflops")
		peak=$(median <"$tmp/$prec.peak")
		frac=$(echo "$gflops $peak" | awk '{print 100 * $1 / $2}')
		ratio=-
		[ -n "$best" ] && ratio=$(echo "$ours $best" | awk '{printf "%.2fx", $1 / $2}')
		printf '%-18s %5s %9.1f %9.1f %7.1f%% %11s %8s %7s %8s %6s\n' "${res}x${res} batch $batch" \
			"$prec" "$ours" "$gflops" "$frac" "$nchw" "$cl" "$tbf16" "${best:--}" "$ratio"
		echo "bench: ${res}x${res}: lmnas $prec img/s in each of $BENCH_ROUNDS rounds: $(paste -s -d ' ' "$tmp/$prec" | xargs printf '%.1f ')" >&2
	done
	echo "bench: ${res}x${res}: peak on $THREADS threads: SGEMM $(printf '%.1f' "$(median <"$tmp/fp32.peak")") GFLOP/s (OpenBLAS $blas_core)$([ "$have_bf16" = 1 ] && printf ', AMX tiles %.1f GFLOP/s' "$(median <"$tmp/bf16.peak")")" >&2
	echo "bench: ${res}x${res}: PyTorch img/s in each round: NCHW $(paste -s -d ' ' "$tmp/nchw" | xargs -r printf '%.1f ')| channels_last $(paste -s -d ' ' "$tmp/cl" | xargs -r printf '%.1f ')| bf16 $(paste -s -d ' ' "$tmp/tbf16" | xargs -r printf '%.1f ')" >&2
done
# What bf16 arithmetic could gain here: one core's rates of fp32 fused multiply-adds, bf16 dot
# products (fp32 sums) and AMX tile products, measured by the last engine run (mini-train --peak)
jq -r 'def r: . * 10 | round / 10;
if .fma_gflops_core == null then
	"one core: no AVX2 or AVX-512 fused multiply-add on this CPU"
else
	"one core: fp32 FMA \(.fma_gflops_core | r) GFLOP/s" +
	(if .bf16_dot_gflops_core == null then "; no AVX512_BF16"
	 else ", bf16 dot (AVX512_BF16) \(.bf16_dot_gflops_core | r) (\(.bf16_dot_gflops_core / .fma_gflops_core * 100 | round / 100)x)" end) +
	(if .amx_bf16_gflops_core == null then "; no AMX tiles"
	 else ", AMX bf16 tiles \(.amx_bf16_gflops_core | r) (\(.amx_bf16_gflops_core / .fma_gflops_core * 100 | round / 100)x)" end)
end' "$tmp/last.json"
