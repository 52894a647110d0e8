/* bench_peak.c — the figures that put a training throughput in proportion: the arithmetic of one
 * image (check-cost's MAC count) and the CPU's measured fp32 peak. See bench.h. */
#include "engine/bench.h"
#include "cost/cost.h"
#include "engine/nn_conv.h"
#include "core/prng.h"
#include "core/util.h"

#include <stdlib.h>

/* The CPU's attainable fp32 peak on these threads: the best of a few 1536x1536x1536 SGEMMs run
 * the way the engine runs its GEMMs (gemm_rows: rows split over the OpenMP team, OpenBLAS on one
 * thread each). A measured figure, so it holds for whatever CPU and clock this is. */
double bench_sgemm_gflops(void)
{
	enum { N = 1536, REPS = 4 };
	float *a = xmalloc(sizeof(float) * N * N), *b = xmalloc(sizeof(float) * N * N);
	float *c = xmalloc(sizeof(float) * N * N);
	uint64_t rng = 12345;
	for (size_t i = 0; i < (size_t)N * N; i++) {
		a[i] = (float)prng_xorshift_unit(&rng) - 0.5f;
		b[i] = (float)prng_xorshift_unit(&rng) - 0.5f;
	}
	double best = 0;
	for (int r = 0; r < REPS; r++) {
		double t0 = now_seconds();
		gemm_rows(0, 1, N, N, N, a, N, b, N, 0.0f, c, N);
		double secs = now_seconds() - t0;
		double gf = 2.0 * N * N * N / secs / 1e9;
		best = gf > best ? gf : best;
	}
	free(a);
	free(b);
	free(c);
	return best;
}

/* Forward multiply-accumulates of one image (check-cost's count), or -1. */
double bench_forward_macs(const struct arch *a, const struct bench_opts *o)
{
	struct arch_net an;
	struct cost c;
	char err[256];
	if (arch_expand(a, o->res_h, o->res_w, o->classes, &an, err, sizeof err) ||
	    cost_compute(&an, &c, err, sizeof err))
		return -1;
	return (double)c.macs;
}
