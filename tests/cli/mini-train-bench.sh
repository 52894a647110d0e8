#!/bin/sh
# mini-train --benchmark: the bench record, errors per record, and no allocation per step.
. "$(dirname "$0")/../lib.sh"
MT="$BIN/mini-train"
ARCH='{"input_channels":3,"blocks":[{"output_channels":8,"num_layers":2,"kernel_size":3,"stride":2,"expansion_factor":2,"use_se":true,"se_ratio":0.5,"conv_type":"mbconv","skip_op":"residual","activation":"swish"},{"output_channels":16,"num_layers":1,"kernel_size":5,"stride":1,"expansion_factor":1,"use_se":false,"se_ratio":0,"conv_type":"depthwise","skip_op":"residual","activation":"leakyrelu"}]}'

check "--help exits 0" "$MT" --help
"$MT" --benchmark 0 </dev/null >/dev/null 2>&1; check_eq "--benchmark 0 is a usage error" "$?" 2

out=$(printf '{"id":"x","arch":%s}\n' "$ARCH" | "$MT" --benchmark 3 --batch 4 --resolution 16 --classes 10 --threads 1 2>/dev/null)
check_eq "bench record keeps id and has images_per_s > 0" \
	"$(echo "$out" | jq -c '[.id, (.bench.images_per_s > 0), .bench.batch, .bench.resolution]')" \
	'["x",true,4,"16x16"]'
check_eq "bench reports flat memory over the timed steps" \
	"$(echo "$out" | jq '.bench.rss_kib_end - .bench.rss_kib_after_warmup < 1024')" true

# train_gflops = 6 x check-cost's MACs x images/s; --peak adds the SGEMM peak, the fraction, and
# one core's fp32 FMA and bf16 dot rates.
macs=$(printf '{"arch":%s,"resolution":16,"classes":10}\n' "$ARCH" | "$BIN/check-cost" 2>/dev/null | jq '.cost.macs')
check_eq "train_gflops is 6 x forward MACs x images/s" \
	"$(echo "$out" | jq --argjson m "$macs" '(.bench.train_gflops / (6 * $m * .bench.images_per_s / 1e9) - 1) | fabs < 1e-9')" true
out=$(printf '{"arch":%s}\n' "$ARCH" | "$MT" --benchmark 1 --batch 2 --resolution 16 --classes 10 --threads 1 --peak 2>/dev/null)
check_eq "--peak: an SGEMM peak above the training rate, and the fraction of it" \
	"$(echo "$out" | jq '.bench.sgemm_peak_gflops > .bench.train_gflops and (.bench.fraction_of_peak - .bench.train_gflops / .bench.sgemm_peak_gflops | fabs) < 1e-12')" true
# fp32 FMA: AVX-512 or AVX2 (null on a CPU with neither)
if grep -qw -e avx512f -e avx2 /proc/cpuinfo; then
	check_eq "--peak: one core's fp32 FMA rate" "$(echo "$out" | jq '.bench.fma_gflops_core > 0')" true
else
	check_eq "--peak: no AVX2 nor AVX-512, fma_gflops_core is null" "$(echo "$out" | jq '.bench.fma_gflops_core')" null
fi
# bf16 dot products: a rate where the CPU has AVX512_BF16 (the probe checks its sums: a wrong one
# gives null), null where it has not
if grep -qw avx512_bf16 /proc/cpuinfo; then
	check_eq "--peak: one core's bf16 dot rate (AVX512_BF16)" "$(echo "$out" | jq '.bench.bf16_dot_gflops_core > 0')" true
else
	check_eq "--peak: no AVX512_BF16, bf16_dot_gflops_core is null" "$(echo "$out" | jq '.bench.bf16_dot_gflops_core')" null
fi
# AMX tiles: a rate, and --precision bf16 benchmarks, where the CPU has AMX-BF16; elsewhere null
# and a usage error
check_eq "the record says the GEMMs ran in fp32 by default" "$(echo "$out" | jq -r '.bench.precision')" fp32
if grep -qw amx_bf16 /proc/cpuinfo; then
	check_eq "--peak: one core's AMX tile rate" "$(echo "$out" | jq '.bench.amx_bf16_gflops_core > .bench.fma_gflops_core')" true
	b16=$(printf '{"arch":%s}\n' "$ARCH" | "$MT" --benchmark 1 --batch 4 --resolution 16 --classes 10 --threads 1 --precision bf16 2>/dev/null)
	check_eq "--precision bf16: benchmarked with the GEMMs in bf16" \
		"$(echo "$b16" | jq -c '[.bench.precision, .bench.images_per_s > 0]')" '["bf16",true]'
else
	check_eq "--peak: no AMX-BF16, amx_bf16_gflops_core is null" "$(echo "$out" | jq '.bench.amx_bf16_gflops_core')" null
	printf '{"arch":%s}\n' "$ARCH" | "$MT" --benchmark 1 --batch 4 --resolution 16 --classes 10 --threads 1 --precision bf16 >/dev/null 2>"$TMP/b16.err"
	check_eq "--precision bf16 without AMX: a usage error" "$?" 2
	check_eq "... that says why" "$(grep -c 'AMX' "$TMP/b16.err")" 1
fi
"$MT" --benchmark 1 --precision fp16 </dev/null >/dev/null 2>&1
check_eq "--precision fp16: a usage error" "$?" 2
check_eq "the record names OpenBLAS's kernels" "$(echo "$out" | jq '.bench.blas_core | type == "string" and length > 0')" true

out=$(printf '%s\nnot json\n{"arch":{"input_channels":3,"blocks":[]}}\n' "$ARCH" |
	"$MT" --benchmark 1 --batch 2 --resolution 8 --classes 3 --threads 1 2>"$TMP/err")
rc=$?
check_eq "a bad line and a bad arch: exit 1" "$rc" 1
check_eq "good record benchmarked, bad arch gets bench.error" \
	"$(echo "$out" | jq -c '[(.bench.images_per_s > 0), (.bench.error != null)]' | tr '\n' ' ')" \
	'[true,false] [false,true] '
check "the malformed line is reported with its line number" grep -q 'stdin:2' "$TMP/err"

# OMP_WAIT_POLICY comes from the caller (libgomp reads it before main): without it and with two
# threads the program says so on stderr and runs on, executed once (it no longer re-executes
# itself); with it, nothing is said.
printf '%s\n' "$ARCH" | env -u OMP_WAIT_POLICY "$MT" --benchmark 1 --batch 2 --resolution 8 \
	--classes 3 --threads 2 >"$TMP/wp.out" 2>"$TMP/wp.err"
check "no OMP_WAIT_POLICY: a note on stderr" grep -q 'OMP_WAIT_POLICY is not set' "$TMP/wp.err"
check_eq "no OMP_WAIT_POLICY: benchmarked all the same" "$(jq '.bench.images_per_s > 0' "$TMP/wp.out")" true
printf '%s\n' "$ARCH" | OMP_WAIT_POLICY=passive "$MT" --benchmark 1 --batch 2 --resolution 8 \
	--classes 3 --threads 2 >/dev/null 2>"$TMP/wp2.err"
check "OMP_WAIT_POLICY=passive: no note" test "$(grep -c OMP_WAIT_POLICY "$TMP/wp2.err")" = 0
printf '%s\n' "$ARCH" | env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=10000 "$MT" --benchmark 1 --batch 2 \
	--resolution 8 --classes 3 --threads 2 >/dev/null 2>"$TMP/wp3.err"
check "GOMP_SPINCOUNT (a bounded spin): no note" test "$(grep -c OMP_WAIT_POLICY "$TMP/wp3.err")" = 0
if command -v strace >/dev/null 2>&1 && strace -o /dev/null true 2>/dev/null; then
	# OPENBLAS_CORETYPE as the program chose it: where OpenBLAS does not know the CPU, the
	# program starts once more for its kernels (blas_core.h), which this point is not about
	core=$(echo "$out" | jq -r '.bench.blas_core')
	printf '%s\n' "$ARCH" | env -u OMP_WAIT_POLICY OPENBLAS_CORETYPE="$core" strace -f -e trace=execve -o "$TMP/st" "$MT" \
		--benchmark 1 --batch 2 --resolution 8 --classes 3 --threads 2 >/dev/null 2>&1
	check_eq "no OMP_WAIT_POLICY: one execve, no re-execution" "$(grep -c ' execve(' "$TMP/st")" 1
else
	skip "strace not installed or not permitted"
fi

# The training step allocates nothing: the same number of allocations for 2 and 6 steps.
if command -v valgrind >/dev/null 2>&1; then
	count() {
		printf '%s\n' "$ARCH" | OMP_WAIT_POLICY=passive valgrind \
			--tool=memcheck --trace-malloc=yes "$MT" --benchmark "$1" --warmup 1 \
			--batch 2 --resolution 16 --classes 10 --threads 2 2>&1 >/dev/null |
			grep -cE '^--[0-9]+-- (malloc|calloc|realloc|memalign|posix_memalign)'
	}
	a=$(count 2)
	b=$(count 6)
	check_eq "no allocation in the training step (allocations for 2 and 6 steps)" "$a" "$b"
else
	skip "valgrind not installed"
fi
done_testing
