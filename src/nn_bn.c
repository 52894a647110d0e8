/* nn_bn.c — batch normalisation, NHWC. See nn_bn.h.
 *
 * Per-channel sums run over channel groups of BN_GROUP (one thread per group, double
 * accumulators, the inner loop over contiguous channels); element-wise passes run over rows. */
#include "nn_bn.h"

#include <math.h>
#include <stddef.h>

#define BN_GROUP 16

/* s1[c] = Σ_m a[m][c] and, when b != NULL, s2[c] = Σ_m a[m][c]·b[m][c] - or, with sub != NULL,
 * s2[c] = Σ_m (a[m][c] - sub[c])² (two-pass variance). Accumulated in double. */
static void channel_sums(double *s1, double *s2, const float *a, const float *b, const float *sub,
			 int M, int C)
{
	const int groups = (C + BN_GROUP - 1) / BN_GROUP;
	#pragma omp parallel for schedule(static)
	for (int g = 0; g < groups; g++) {
		int c0 = g * BN_GROUP, n = C - c0 < BN_GROUP ? C - c0 : BN_GROUP;
		double acc1[BN_GROUP] = {0}, acc2[BN_GROUP] = {0};
		for (int m = 0; m < M; m++) {
			const float *ar = a + (size_t)m * C + c0;
			if (b) {
				const float *br = b + (size_t)m * C + c0;
				for (int j = 0; j < n; j++) {
					acc1[j] += ar[j];
					acc2[j] += (double)ar[j] * br[j];
				}
			} else if (sub) {
				for (int j = 0; j < n; j++) {
					double d = (double)ar[j] - sub[c0 + j];
					acc2[j] += d * d;
				}
			} else {
				for (int j = 0; j < n; j++)
					acc1[j] += ar[j];
			}
		}
		for (int j = 0; j < n; j++) {
			if (s1)
				s1[c0 + j] = acc1[j];
			if (s2)
				s2[c0 + j] = acc2[j];
		}
	}
}

/* y = x·scale[c] + shift[c] */
static void scale_shift(float *y, const float *x, const float *scale, const float *shift, int M,
			int C)
{
	#pragma omp parallel for schedule(static)
	for (int m = 0; m < M; m++) {
		const float *restrict xr = x + (size_t)m * C;
		float *restrict yr = y + (size_t)m * C;
		for (int c = 0; c < C; c++)
			yr[c] = xr[c] * scale[c] + shift[c];
	}
}

void bn_forward_train(float *y, float *mean, float *invstd, float *run_mean, float *run_var,
		      const float *x, const float *gamma, const float *beta, int M, int C)
{
	/* Pass 1: mean. Pass 2: variance about the mean (accurate for large M). */
	double *s1 = __builtin_alloca(sizeof(double) * (size_t)C);
	double *s2 = __builtin_alloca(sizeof(double) * (size_t)C);
	channel_sums(s1, NULL, x, NULL, NULL, M, C);
	for (int c = 0; c < C; c++)
		mean[c] = (float)(s1[c] / M);
	channel_sums(NULL, s2, x, NULL, mean, M, C);
	float *scale = __builtin_alloca(sizeof(float) * (size_t)C);
	float *shift = __builtin_alloca(sizeof(float) * (size_t)C);
	for (int c = 0; c < C; c++) {
		double var = s2[c] / M;
		invstd[c] = (float)(1.0 / sqrt(var + BN_EPS));
		scale[c] = gamma[c] * invstd[c];
		shift[c] = beta[c] - mean[c] * scale[c];
		double unbiased = M > 1 ? s2[c] / (M - 1) : var;
		run_mean[c] = (1 - BN_MOMENTUM) * run_mean[c] + BN_MOMENTUM * mean[c];
		run_var[c] = (float)((1 - BN_MOMENTUM) * run_var[c] + BN_MOMENTUM * unbiased);
	}
	scale_shift(y, x, scale, shift, M, C);
}

void bn_forward_infer(float *y, const float *x, const float *gamma, const float *beta,
		      const float *run_mean, const float *run_var, int M, int C)
{
	float *scale = __builtin_alloca(sizeof(float) * (size_t)C);
	float *shift = __builtin_alloca(sizeof(float) * (size_t)C);
	for (int c = 0; c < C; c++) {
		scale[c] = gamma[c] / sqrtf(run_var[c] + BN_EPS);
		shift[c] = beta[c] - run_mean[c] * scale[c];
	}
	scale_shift(y, x, scale, shift, M, C);
}

/* With xhat = (x - mean)·invstd:
 *   dbeta = Σ dy,  dgamma = Σ dy·xhat,
 *   dx = gamma·invstd/M · (M·dy - dbeta - xhat·dgamma). */
void bn_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
		 const float *mean, const float *invstd, const float *gamma, int M, int C, int accum)
{
	double *sdy = __builtin_alloca(sizeof(double) * (size_t)C);
	double *sdyx = __builtin_alloca(sizeof(double) * (size_t)C);
	channel_sums(sdy, sdyx, dy, x, NULL, M, C);
	float *a = __builtin_alloca(sizeof(float) * (size_t)C);
	float *b = __builtin_alloca(sizeof(float) * (size_t)C);
	float *k = __builtin_alloca(sizeof(float) * (size_t)C);
	for (int c = 0; c < C; c++) {
		/* Σ dy·xhat = invstd·(Σ dy·x - mean·Σ dy) */
		double dg = invstd[c] * (sdyx[c] - mean[c] * sdy[c]);
		dgamma[c] = (float)dg;
		dbeta[c] = (float)sdy[c];
		/* dx = k·dy + a·x + b, with k = gamma·invstd, a = -k·invstd·dg/M,
		 * b = -k·dbeta/M - a·mean */
		k[c] = gamma[c] * invstd[c];
		a[c] = (float)(-k[c] * invstd[c] * dg / M);
		b[c] = (float)(-k[c] * sdy[c] / M) - a[c] * mean[c];
	}
	if (!dx)
		return;
	#pragma omp parallel for schedule(static)
	for (int m = 0; m < M; m++) {
		const float *restrict g = dy + (size_t)m * C;
		const float *restrict xr = x + (size_t)m * C;
		float *restrict d = dx + (size_t)m * C;
		if (accum)
			for (int c = 0; c < C; c++)
				d[c] += k[c] * g[c] + a[c] * xr[c] + b[c];
		else
			for (int c = 0; c < C; c++)
				d[c] = k[c] * g[c] + a[c] * xr[c] + b[c];
	}
}
