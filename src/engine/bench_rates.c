/* bench_rates.c — one core's rate of fp32 fused multiply-adds and of bf16 dot products, the
 * instructions an fp32 GEMM and a bf16 one (fp32 sums) are made of. See bench.h.
 *
 * Each probe runs CHAINS independent accumulators (more than the instruction's latency times
 * its throughput on any CPU we know), so the figure is the instruction's throughput, not its
 * latency. Its operands are ones: the fp32 probe adds 1 per lane and instruction, the bf16
 * probe 2 (a pair of 1·1), so every sum is a whole number below 2^24, exact in fp32, and the
 * probe checks it: a wrong result gives -1, not a rate. */
#include "engine/bench.h"
#include "core/cpu.h"
#include "core/util.h"

#include <immintrin.h>

#define CHAINS 24       /* independent accumulators: fit the 32 zmm registers with the operands */
#define YMM_CHAINS 12   /* the same in the 16 ymm registers of AVX2 */
#define STEPS 200000    /* instructions per chain in one timing: a lane reaches 2 x STEPS < 2^24 */
#define TIMINGS 5       /* the best of this many */

/* CHAINS x STEPS zmm fused multiply-adds; returns the sum of all lanes (1 per lane each). */
__attribute__((noinline, target("avx512f"))) static double fma_zmm_run(void)
{
	__m512 acc[CHAINS];
	for (int i = 0; i < CHAINS; i++)
		acc[i] = _mm512_setzero_ps();
	__m512 one = _mm512_set1_ps(1.0f);
	for (int s = 0; s < STEPS; s++) {
#pragma GCC unroll 24
		for (int i = 0; i < CHAINS; i++)
			acc[i] = _mm512_fmadd_ps(one, one, acc[i]);
		__asm__ volatile("" : "+v"(one)); /* opaque: the loop cannot be folded */
	}
	double sum = 0;
	for (int i = 0; i < CHAINS; i++)
		sum += _mm512_reduce_add_ps(acc[i]);
	return sum;
}

/* The same with ymm registers (AVX2 and FMA: 8 lanes). */
__attribute__((noinline, target("avx2,fma"))) static double fma_ymm_run(void)
{
	__m256 acc[YMM_CHAINS];
	for (int i = 0; i < YMM_CHAINS; i++)
		acc[i] = _mm256_setzero_ps();
	__m256 one = _mm256_set1_ps(1.0f);
	for (int s = 0; s < STEPS; s++) {
#pragma GCC unroll 12
		for (int i = 0; i < YMM_CHAINS; i++)
			acc[i] = _mm256_fmadd_ps(one, one, acc[i]);
		__asm__ volatile("" : "+x"(one));
	}
	double sum = 0;
	float lanes[8];
	for (int i = 0; i < YMM_CHAINS; i++) {
		_mm256_storeu_ps(lanes, acc[i]);
		for (int l = 0; l < 8; l++)
			sum += lanes[l];
	}
	return sum;
}

/* CHAINS x STEPS vdpbf16ps: each lane adds a pair of bf16 products, 1·1 + 1·1. */
__attribute__((noinline, target("avx512f,avx512bf16"))) static double bf16_dot_run(void)
{
	__m512 acc[CHAINS];
	for (int i = 0; i < CHAINS; i++)
		acc[i] = _mm512_setzero_ps();
	__m512i ones = _mm512_set1_epi32(0x3f803f80); /* two bf16 1.0 in each 32-bit lane */
	for (int s = 0; s < STEPS; s++) {
#pragma GCC unroll 24
		for (int i = 0; i < CHAINS; i++)
			acc[i] = _mm512_dpbf16_ps(acc[i], (__m512bh)ones, (__m512bh)ones);
		__asm__ volatile("" : "+v"(ones));
	}
	double sum = 0;
	for (int i = 0; i < CHAINS; i++)
		sum += _mm512_reduce_add_ps(acc[i]);
	return sum;
}

/* GFLOP/s of the best of TIMINGS runs of run, each `flops` floating-point operations whose
 * lanes sum to expected; -1 when a run's sum is wrong. */
static double best_rate(double (*run)(void), double flops, double expected)
{
	double best = 0;
	for (int t = 0; t < TIMINGS; t++) {
		double t0 = now_seconds();
		double sum = run();
		double secs = now_seconds() - t0;
		if (sum != expected)
			return -1;
		double gflops = secs > 0 ? flops / secs / 1e9 : 0;
		best = gflops > best ? gflops : best;
	}
	return best;
}

double bench_fma_gflops_core(void)
{
	struct cpu_features f = cpu_features_detect();
	/* lane-FMAs of one run: each is 2 flops and adds 1 to the sum */
	double zmm = (double)CHAINS * STEPS * 16, ymm = (double)YMM_CHAINS * STEPS * 8;
	if (f.avx512f)
		return best_rate(fma_zmm_run, zmm * 2, zmm);
	if (f.avx2_fma)
		return best_rate(fma_ymm_run, ymm * 2, ymm);
	return -1;
}

double bench_bf16_dot_gflops_core(void)
{
	if (!cpu_features_detect().avx512_bf16)
		return -1;
	/* lane-dots of one run: each is 2 products and 2 sums, and adds 2 to the sum */
	double dots = (double)CHAINS * STEPS * 16;
	return best_rate(bf16_dot_run, dots * 4, dots * 2);
}
