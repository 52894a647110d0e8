/* bench.h — training throughput: full training steps (forward, loss, backward, SGD update) of
 * an arch on random data, after a warm-up. Used by mini-train --benchmark. */
#ifndef LMNAS_BENCH_H
#define LMNAS_BENCH_H
#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>
#include "core/arch.h"

struct bench_opts {
	int steps, warmup;
	int batch, res_h, res_w, classes;
	int threads; /* 0: all cores */
	int peak;    /* also measure the SGEMM peak and the fraction of it the training reaches */
	uint64_t seed;
};

/* Runs the benchmark and fills stage with images_per_s, train_gflops (6 x forward MACs per
 * image), step_ms, steps, batch, resolution, classes, threads, seconds, params,
 * activation_bytes, rss_kb_after_warmup, rss_kb_end, blas_core, precision (the GEMMs': fp32 or
 * bf16, nn_conv.h); with peak, also sgemm_peak_gflops, fraction_of_peak, fma_gflops_core,
 * bf16_dot_gflops_core and amx_bf16_gflops_core (gemm_amx.h; null without the instruction).
 * Returns 0, or -1 with a reason in err (an arch that does not expand, a non-finite loss). */
int bench_run(const struct arch *a, const struct bench_opts *o, cJSON *stage, char *err,
	      size_t errlen);

/* GFLOP/s of the best of a few large SGEMMs on the engine's GEMM path, on the threads set by
 * net_set_threads (bench_peak.c). */
double bench_sgemm_gflops(void);

/* One core's throughput of fp32 fused multiply-adds (AVX-512 where the CPU has it, else AVX2)
 * and of bf16 dot products into fp32 (AVX512_BF16's vdpbf16ps), in GFLOP/s (a multiply and an
 * add are two); -1 where the CPU has no such instruction (bench_rates.c). With both, the second
 * over the first is what a bf16 GEMM could gain over an fp32 one here at most. */
double bench_fma_gflops_core(void);
double bench_bf16_dot_gflops_core(void);

/* Forward multiply-accumulates of one image at o's resolution and classes, or -1. */
double bench_forward_macs(const struct arch *a, const struct bench_opts *o);

/* Resident set size of this process in KiB (from /proc/self/statm), or -1. */
long rss_kib(void);
#endif
