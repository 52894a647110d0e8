/* nn_bn.c — batch normalisation, NHWC. See nn_bn.h.
 *
 * Per-channel sums split the rows across threads; each thread sums blocks of BN_BLOCK rows in
 * float (block_sums, or bn_sums_avx512_block in registers where the CPU has AVX-512: the same
 * bits) and adds the blocks in double. Element-wise passes run over rows. */
/* Full vectorisation (-O2 vectorises only the cheapest loops); the Makefile stays at -O2. */
#pragma GCC optimize("O3")
#include "engine/nn_bn.h"
#include "engine/nn_act.h"
#include "engine/bn_sums_avx512.h"

#include <math.h>
#include <omp.h>
#include <stddef.h>

#define BN_BLOCK 32 /* rows summed in float before adding into the double totals */

/* The activation fused after BN, for the backward's first pass: before row r is summed, its
 * gradient dy[r] (the array summed as a) becomes dz[r] = act'(x·scale + shift)·dy[r],
 * in place. */
struct dz_rows {
	float *dy;
	int act;
	const float *scale, *shift;
};

/* One block of rows of a [rows][C] (and b): f1, f2 as sums_part says, from +0, added into the
 * double totals d1, d2. The plain loop, kept beside bn_sums_avx512_block (same bits), which
 * runs where this CPU has AVX-512. */
__attribute__((target_clones("arch=x86-64-v3", "default")))
static void block_sums(const float *a, const float *b, const float *k, int rows, int C,
		       double *d1, double *d2)
{
	float *f1 = __builtin_alloca(sizeof(float) * 2 * (size_t)C), *f2 = f1 + C;
	for (int c = 0; c < C; c++)
		f1[c] = f2[c] = 0;
	for (int r = 0; r < rows; r++) {
		const float *restrict ar = a + (size_t)r * C;
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

/* One pass over a [M][C] (and b [M][C] when given), row ranges split across threads:
 *   without b: s1[c] = Σ (a - k[c]),      s2[c] = Σ (a - k[c])²   (k: a shift, e.g. a sample)
 *   with b:    s1[c] = Σ a,               s2[c] = Σ a·(b - k[c])
 * Rows are summed in float in blocks of BN_BLOCK (block_sums), blocks are added in double. With
 * dz (and b = x), the block's rows of a are first turned into dz by the activation's derivative
 * while they are in cache. */
static void sums_part(const float *a, const float *b, const float *k, const struct dz_rows *dz,
		      int C, int m0, int m1, double *d1, double *d2)
{
	const int fast = bn_sums_avx512_fits();
	for (int c = 0; c < C; c++)
		d1[c] = d2[c] = 0;
	for (int m = m0; m < m1; m += BN_BLOCK) {
		int rows = (m + BN_BLOCK < m1 ? m + BN_BLOCK : m1) - m;
		const float *ab = a + (size_t)m * C, *bb = b ? b + (size_t)m * C : NULL;
		for (int r = 0; dz && r < rows; r++)
			act_affine_backward_row((enum act)dz->act, dz->dy + (size_t)(m + r) * C,
						bb + (size_t)r * C, dz->scale, dz->shift, C);
		if (fast)
			bn_sums_avx512_block(ab, bb, k, rows, C, d1, d2);
		else
			block_sums(ab, bb, k, rows, C, d1, d2);
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

void bn_forward_train(float *y, float *mean, float *invstd, float *run_mean, float *run_var,
		      const float *x, const float *gamma, const float *beta, int M, int C, int act)
{
	/* One pass, shifted by the first row (a sample near the mean) so that
	 * var = Σd²/M - (Σd/M)² does not cancel. Run as [M/r][r·C] (row_group). */
	const int r = row_group(M, C), Mr = M / r, Cr = C * r;
	int threads = sum_threads(Mr);
	double *work = __builtin_alloca(sizeof(double) * 2 * (size_t)threads * Cr);
	double *w1 = __builtin_alloca(sizeof(double) * (size_t)Cr);
	double *w2 = __builtin_alloca(sizeof(double) * (size_t)Cr);
	double *s1 = __builtin_alloca(sizeof(double) * (size_t)C);
	double *s2 = __builtin_alloca(sizeof(double) * (size_t)C);
	float *k = __builtin_alloca(sizeof(float) * (size_t)Cr);
	float *scale = __builtin_alloca(sizeof(float) * (size_t)Cr);
	float *shift = __builtin_alloca(sizeof(float) * (size_t)Cr);
	repeat(k, x, C, r);
	channel_sums(w1, w2, x, NULL, k, NULL, Mr, Cr, work, threads);
	fold(s1, w1, C, r);
	fold(s2, w2, C, r);
	for (int c = 0; c < C; c++) {
		double dm = s1[c] / M, m = x[c] + dm;
		double var = s2[c] / M - dm * dm;
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
