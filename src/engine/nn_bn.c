/* nn_bn.c — batch normalisation, NHWC. See nn_bn.h.
 *
 * Per-channel sums run over channel groups of BN_GROUP (one thread per group, double
 * accumulators, the inner loop over contiguous channels); element-wise passes run over rows. */
/* Full vectorisation (-O2 vectorises only the cheapest loops); the Makefile stays at -O2. */
#pragma GCC optimize("O3")
#include "engine/nn_bn.h"
#include "engine/nn_act.h"

#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define BN_BLOCK 32 /* rows summed in float before adding into the double totals */

/* The activation fused after BN, for the backward's first pass: before row r is summed, its
 * gradient dy[r] (the array summed as a) becomes dz[r] = act'(x·scale + shift)·dy[r],
 * in place. */
struct dz_rows {
	float *dy;
	int act;
	const float *scale, *shift;
};

/* One pass over a [M][C] (and b [M][C] when given), row ranges split across threads:
 *   without b: s1[c] = Σ (a - k[c]),      s2[c] = Σ (a - k[c])²   (k: a shift, e.g. a sample)
 *   with b:    s1[c] = Σ a,               s2[c] = Σ a·(b - k[c])
 * Rows are summed in float in blocks of BN_BLOCK (the inner loop runs over contiguous channels
 * and vectorises), blocks are added in double. With dz (and b = x), each row of a is first
 * turned into dz by the activation's derivative while it is in cache. */
__attribute__((target_clones("arch=x86-64-v3", "default")))
static void sums_part(const float *a, const float *b, const float *k, const struct dz_rows *dz,
		      int C, int m0, int m1, double *d1, double *d2)
{
	float *f1 = __builtin_alloca(sizeof(float) * 2 * (size_t)C), *f2 = f1 + C;
	for (int c = 0; c < C; c++)
		d1[c] = d2[c] = 0;
	for (int m = m0; m < m1; m += BN_BLOCK) {
		int me = m + BN_BLOCK < m1 ? m + BN_BLOCK : m1;
		for (int c = 0; c < C; c++)
			f1[c] = f2[c] = 0;
		for (int r = m; r < me; r++) {
			const float *restrict ar = a + (size_t)r * C;
			if (dz)
				act_affine_backward_row((enum act)dz->act, dz->dy + (size_t)r * C,
							b + (size_t)r * C, dz->scale, dz->shift, C);
			if (b) {
				const float *restrict br = b + (size_t)r * C;
				for (int c = 0; c < C; c++) {
					f1[c] += ar[c];
					f2[c] += ar[c] * (br[c] - k[c]);
				}
			} else {
				for (int c = 0; c < C; c++) {
					float d = ar[c] - k[c];
					f1[c] += d;
					f2[c] += d * d;
				}
			}
		}
		for (int c = 0; c < C; c++) {
			d1[c] += f1[c];
			d2[c] += f2[c];
		}
	}
}

static void channel_sums(double *s1, double *s2, const float *a, const float *b, const float *k,
			 const struct dz_rows *dz, int M, int C, double *work, int threads)
{
	if (threads == 1) {
		sums_part(a, b, k, dz, C, 0, M, work, work + C);
	} else {
		#pragma omp parallel
		{
			int t = omp_get_thread_num(), nt = omp_get_num_threads();
			int m0 = (int)((long)M * t / nt), m1 = (int)((long)M * (t + 1) / nt);
			sums_part(a, b, k, dz, C, m0, m1, work + (size_t)2 * t * C,
				  work + (size_t)2 * t * C + C);
		}
	}
	for (int c = 0; c < C; c++) {
		s1[c] = s2[c] = 0;
		for (int t = 0; t < threads; t++) {
			s1[c] += work[(size_t)2 * t * C + c];
			s2[c] += work[(size_t)2 * t * C + C + c];
		}
	}
}

static int sum_threads(int M)
{
	int t = omp_get_max_threads();
	return M < 64 * t ? 1 : t;
}

/* Narrow tensors are run as wide ones: [M][C] is read as [M/r][r·C] (the same memory), with
 * every per-channel array repeated r times and the sums folded back to C channels. A row of 3
 * or 16 channels is too short for the vector loops, and the per-row work (the fused
 * activation's call, the block sums) would cost as much as the arithmetic. r: the power of 2
 * that brings r·C to BN_WIDE channels or more, as far as it divides M. */
#define BN_WIDE 64

static int row_group(int M, int C)
{
	int r = 1;
	while (C > 0 && r * C < BN_WIDE && M % (2 * r) == 0)
		r *= 2;
	return r;
}

/* dst[j·C + c] = src[c] for j < r */
static void repeat(float *dst, const float *src, int C, int r)
{
	for (int j = 0; j < r; j++)
		for (int c = 0; c < C; c++)
			dst[(size_t)j * C + c] = src[c];
}

/* s[c] = Σ_j wide[j·C + c] for j < r */
static void fold(double *s, const double *wide, int C, int r)
{
	for (int c = 0; c < C; c++) {
		s[c] = 0;
		for (int j = 0; j < r; j++)
			s[c] += wide[(size_t)j * C + c];
	}
}

/* y = act(x·scale[c] + shift[c]), or without act (BN_NO_ACT) the affine map alone */
static void scale_shift(float *y, const float *x, const float *scale, const float *shift, int M,
			int C, int act)
{
	#pragma omp parallel for schedule(static)
	for (int m = 0; m < M; m++) {
		const float *restrict xr = x + (size_t)m * C;
		float *restrict yr = y + (size_t)m * C;
		if (act != BN_NO_ACT) {
			act_affine_forward_row((enum act)act, yr, xr, scale, shift, C);
			continue;
		}
		for (int c = 0; c < C; c++)
			yr[c] = xr[c] * scale[c] + shift[c];
	}
}

/* ---- statistics gathered by the op writing the tensor ---- */

struct bn_stats *bn_stats_new(int C, int threads)
{
	struct bn_stats *st = xcalloc(1, sizeof *st);
	st->C = C;
	st->threads = threads;
	st->n = xcalloc((size_t)threads, sizeof *st->n);
	st->k = xcalloc((size_t)threads * C, sizeof *st->k);
	st->s = xcalloc((size_t)threads * 2 * C, sizeof *st->s);
	return st;
}

void bn_stats_free(struct bn_stats *st)
{
	if (!st)
		return;
	free(st->n);
	free(st->k);
	free(st->s);
	free(st);
}

void bn_stats_clear(struct bn_stats *st)
{
	for (int t = 0; t < st->threads; t++)
		st->n[t] = 0;
}

typedef float vec8 __attribute__((vector_size(32), aligned(4), may_alias)); /* as nn_conv.c's */
typedef float vec4 __attribute__((vector_size(16)));
typedef double vec4d __attribute__((vector_size(32), aligned(8), may_alias));

/* s[0..8) += *a, in double (a by address: a vector argument's ABI differs without AVX) */
static inline __attribute__((always_inline)) void add_to_double(double *s, const vec8 *a)
{
	vec4 lo, hi;
	memcpy(&lo, a, sizeof lo);
	memcpy(&hi, (const char *)a + sizeof lo, sizeof hi);
	*(vec4d *)s += __builtin_convertvector(lo, vec4d);
	*(vec4d *)(s + 4) += __builtin_convertvector(hi, vec4d);
}

/* s1[c] += Σ_r (y[r][c] - k[c]), s2[c] += Σ_r (y[r][c] - k[c])² over rows [0, rows) of
 * y [rows][C]: each vector of 8 channels summed down BN_BLOCK rows in registers (the rows are
 * in cache: the op writing them has just done so), then added in double. */
__attribute__((target_clones("arch=x86-64-v3", "default")))
static void block_sums(const float *y, const float *k, int rows, int C, double *s1, double *s2)
{
	for (int m = 0; m < rows; m += BN_BLOCK) {
		int me = m + BN_BLOCK < rows ? m + BN_BLOCK : rows, c = 0;
		for (; c + 8 <= C; c += 8) {
			vec8 kv = *(const vec8 *)(k + c), a1 = {0}, a2 = {0};
			for (int r = m; r < me; r++) {
				vec8 d = *(const vec8 *)(y + (size_t)r * C + c) - kv;
				a1 += d;
				a2 += d * d;
			}
			add_to_double(s1 + c, &a1);
			add_to_double(s2 + c, &a2);
		}
		for (; c < C; c++) {
			float a1 = 0, a2 = 0;
			for (int r = m; r < me; r++) {
				float d = y[(size_t)r * C + c] - k[c];
				a1 += d;
				a2 += d * d;
			}
			s1[c] += a1;
			s2[c] += a2;
		}
	}
}

void bn_stats_add(struct bn_stats *st, int t, const float *y, int rows)
{
	const int C = st->C;
	float *k = st->k + (size_t)t * C;
	double *s1 = st->s + (size_t)2 * t * C, *s2 = s1 + C;
	if (rows < 1)
		return;
	if (st->n[t] == 0) {
		memcpy(k, y, sizeof(float) * C);
		for (int c = 0; c < C; c++)
			s1[c] = s2[c] = 0;
	}
	block_sums(y, k, rows, C, s1, s2);
	st->n[t] += rows;
}

/* Channel c's mean and biased variance from the threads' shifted sums, merged by Chan's
 * formula (the moments of two parts: n = na + nb, mean = ma + δ·nb/n,
 * m2 = m2a + m2b + δ²·na·nb/n with δ = mb - ma). */
static void stats_moments(const struct bn_stats *st, int c, double *mean, double *var)
{
	double n = 0, mu = 0, m2 = 0;
	for (int t = 0; t < st->threads; t++) {
		double nt = (double)st->n[t];
		if (nt == 0)
			continue;
		const double *s1 = st->s + (size_t)2 * t * st->C, *s2 = s1 + st->C;
		double mt = st->k[(size_t)t * st->C + c] + s1[c] / nt;
		double m2t = s2[c] - s1[c] * s1[c] / nt;
		double d = mt - mu, nn = n + nt;
		mu += d * nt / nn;
		m2 += (m2t > 0 ? m2t : 0) + d * d * n * nt / nn;
		n = nn;
	}
	*mean = mu;
	*var = n > 0 ? m2 / n : 0;
}

static long stats_rows(const struct bn_stats *st)
{
	long n = 0;
	for (int t = 0; t < st->threads; t++)
		n += st->n[t];
	return n;
}

/* Per-channel mean and biased variance of x [M][C] in one pass, shifted by the first row (a
 * sample near the mean) so that var = Σd²/M - (Σd/M)² does not cancel. Run as [M/r][r·C]
 * (row_group). */
static void own_moments(double *mean, double *var, const float *x, int M, int C)
{
	const int r = row_group(M, C), Mr = M / r, Cr = C * r;
	int threads = sum_threads(Mr);
	double *work = __builtin_alloca(sizeof(double) * 2 * (size_t)threads * Cr);
	double *w1 = __builtin_alloca(sizeof(double) * (size_t)Cr);
	double *w2 = __builtin_alloca(sizeof(double) * (size_t)Cr);
	double *s1 = __builtin_alloca(sizeof(double) * (size_t)C);
	double *s2 = __builtin_alloca(sizeof(double) * (size_t)C);
	float *k = __builtin_alloca(sizeof(float) * (size_t)Cr);
	repeat(k, x, C, r);
	channel_sums(w1, w2, x, NULL, k, NULL, Mr, Cr, work, threads);
	fold(s1, w1, C, r);
	fold(s2, w2, C, r);
	for (int c = 0; c < C; c++) {
		double dm = s1[c] / M;
		mean[c] = x[c] + dm;
		var[c] = s2[c] / M - dm * dm;
	}
}

void bn_forward_train(float *y, float *mean, float *invstd, float *run_mean, float *run_var,
		      const float *x, const float *gamma, const float *beta, int M, int C, int act,
		      const struct bn_stats *stats)
{
	const int r = row_group(M, C), Mr = M / r, Cr = C * r; /* [M/r][r·C]: row_group */
	double *mu = __builtin_alloca(sizeof(double) * (size_t)C);
	double *vr = __builtin_alloca(sizeof(double) * (size_t)C);
	float *scale = __builtin_alloca(sizeof(float) * (size_t)Cr);
	float *shift = __builtin_alloca(sizeof(float) * (size_t)Cr);
	if (stats && stats->C == C && stats_rows(stats) == M)
		for (int c = 0; c < C; c++)
			stats_moments(stats, c, &mu[c], &vr[c]);
	else
		own_moments(mu, vr, x, M, C);
	for (int c = 0; c < C; c++) {
		double m = mu[c], var = vr[c];
		if (var < 0)
			var = 0;
		mean[c] = (float)m;
		invstd[c] = (float)(1.0 / sqrt(var + BN_EPS));
		scale[c] = gamma[c] * invstd[c];
		shift[c] = beta[c] - mean[c] * scale[c]; /* as bn_backward recomputes it */
		double unbiased = M > 1 ? var * M / (M - 1) : var;
		run_mean[c] = (float)((1 - BN_MOMENTUM) * run_mean[c] + BN_MOMENTUM * m);
		run_var[c] = (float)((1 - BN_MOMENTUM) * run_var[c] + BN_MOMENTUM * unbiased);
	}
	repeat(scale + C, scale, C, r - 1);
	repeat(shift + C, shift, C, r - 1);
	scale_shift(y, x, scale, shift, Mr, Cr, act);
}

void bn_forward_infer(float *y, const float *x, const float *gamma, const float *beta,
		      const float *run_mean, const float *run_var, int M, int C, int act)
{
	const int r = row_group(M, C); /* [M/r][r·C]: row_group */
	float *scale = __builtin_alloca(sizeof(float) * (size_t)C * r);
	float *shift = __builtin_alloca(sizeof(float) * (size_t)C * r);
	for (int c = 0; c < C; c++) {
		scale[c] = gamma[c] / sqrtf(run_var[c] + BN_EPS);
		shift[c] = beta[c] - run_mean[c] * scale[c];
	}
	repeat(scale + C, scale, C, r - 1);
	repeat(shift + C, shift, C, r - 1);
	scale_shift(y, x, scale, shift, M / r, C * r, act);
}

/* With xhat = (x - mean)·invstd and dz the gradient at BN's output (dy itself, or, with the
 * fused activation, act'(z)·dy, written over dy by the first pass):
 *   dbeta = Σ dz,  dgamma = Σ dz·xhat,
 *   dx = gamma·invstd/M · (M·dz - dbeta - xhat·dgamma). */
void bn_backward(float *dx, float *dgamma, float *dbeta, float *dy, const float *x,
		 const float *mean, const float *invstd, const float *gamma, const float *beta,
		 int M, int C, int accum, int act)
{
	const int r = row_group(M, C), Mr = M / r, Cr = C * r; /* [M/r][r·C]: row_group */
	int threads = sum_threads(Mr);
	double *work = __builtin_alloca(sizeof(double) * 2 * (size_t)threads * Cr);
	double *w1 = __builtin_alloca(sizeof(double) * (size_t)Cr);
	double *w2 = __builtin_alloca(sizeof(double) * (size_t)Cr);
	double *sdz = __builtin_alloca(sizeof(double) * (size_t)C);
	double *sdzx = __builtin_alloca(sizeof(double) * (size_t)C);
	float *scale = __builtin_alloca(sizeof(float) * (size_t)Cr);
	float *shift = __builtin_alloca(sizeof(float) * (size_t)Cr);
	float *k = __builtin_alloca(sizeof(float) * (size_t)Cr);
	for (int c = 0; c < C; c++) { /* as the forward computed them, so z is the same */
		scale[c] = gamma[c] * invstd[c];
		shift[c] = beta[c] - mean[c] * scale[c];
	}
	repeat(scale + C, scale, C, r - 1);
	repeat(shift + C, shift, C, r - 1);
	repeat(k, mean, C, r);
	struct dz_rows dz = {dy, act, scale, shift};
	channel_sums(w1, w2, dy, x, k, act == BN_NO_ACT ? NULL : &dz, Mr, Cr, work,
		     threads); /* Σdz, Σdz·(x - mean) */
	fold(sdz, w1, C, r);
	fold(sdzx, w2, C, r);
	float *a = __builtin_alloca(sizeof(float) * (size_t)Cr);
	float *b = __builtin_alloca(sizeof(float) * (size_t)Cr);
	for (int c = 0; c < C; c++) {
		double dg = invstd[c] * sdzx[c]; /* Σ dz·xhat */
		dgamma[c] = (float)dg;
		dbeta[c] = (float)sdz[c];
		/* dx = scale·dz + a·x + b, with scale = gamma·invstd, a = -scale·invstd·dg/M,
		 * b = -scale·dbeta/M - a·mean */
		a[c] = (float)(-scale[c] * invstd[c] * dg / M);
		b[c] = (float)(-scale[c] * sdz[c] / M) - a[c] * mean[c];
	}
	if (!dx)
		return;
	repeat(a + C, a, C, r - 1);
	repeat(b + C, b, C, r - 1);
	#pragma omp parallel for schedule(static)
	for (int m = 0; m < Mr; m++) {
		const float *restrict g = dy + (size_t)m * Cr; /* dz by now */
		const float *restrict xr = x + (size_t)m * Cr;
		float *restrict d = dx + (size_t)m * Cr;
		if (accum)
			for (int c = 0; c < Cr; c++)
				d[c] += scale[c] * g[c] + a[c] * xr[c] + b[c];
		else
			for (int c = 0; c < Cr; c++)
				d[c] = scale[c] * g[c] + a[c] * xr[c] + b[c];
	}
}
