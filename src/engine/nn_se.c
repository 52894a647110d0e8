/* nn_se.c — squeeze-and-excitation forward and backward. See nn_se.h.
 * The two 1x1 convolutions act on [N][C] pooled vectors: small GEMMs (OpenBLAS); the pooling,
 * the scaling and their gradients are per-image passes over x, threaded by image. */
/* Full vectorisation (-O2 vectorises only the cheapest loops); the Makefile stays at -O2. */
#pragma GCC optimize("O3")
#include "engine/nn_se.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* out[N][O] = in[N][nin] · w[O][nin]ᵀ + b[O] */
static void fc_forward(float *out, const float *in, const float *w, const float *b, int N, int nin,
		       int O)
{
	for (int n = 0; n < N; n++)
		memcpy(out + (size_t)n * O, b, sizeof(float) * (size_t)O);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, O, nin, 1.0f, in, nin, w, nin, 1.0f, out,
		    O);
}

/* db[O] = Σ_n d[n][O] */
static void col_sums(float *db, const float *d, int N, int O)
{
	for (int o = 0; o < O; o++)
		db[o] = 0;
	for (int n = 0; n < N; n++)
		for (int o = 0; o < O; o++)
			db[o] += d[(size_t)n * O + o];
}

void se_forward(float *y, struct se_saved *sv, const float *x, const float *w1, const float *b1,
		const float *w2, const float *b2, int N, int P, int C, int R)
{
	/* p = mean over pixels */
	#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		float *restrict p = sv->p + (size_t)n * C;
		const float *xn = x + (size_t)n * P * C;
		for (int c = 0; c < C; c++)
			p[c] = 0;
		for (int i = 0; i < P; i++)
			for (int c = 0; c < C; c++)
				p[c] += xn[(size_t)i * C + c];
		for (int c = 0; c < C; c++)
			p[c] /= (float)P;
	}
	const struct se_tap *tap = sv->tap.forward ? &sv->tap : NULL;
	size_t nc = (size_t)N * C, nr = (size_t)N * R;
	if (tap)
		tap->forward(tap->ctx, SE_POOL, sv->p, nc, sv->train);
	/* z1 = p·w1ᵀ + b1; a1 = relu(z1) */
	fc_forward(sv->z1, sv->p, w1, b1, N, C, R);
	for (size_t i = 0; i < nr; i++)
		sv->a1[i] = sv->z1[i] > 0 ? sv->z1[i] : 0;
	if (tap)
		tap->forward(tap->ctx, SE_FC1, sv->a1, nr, sv->train);
	/* s = sigmoid(a1·w2ᵀ + b2) */
	fc_forward(sv->s, sv->a1, w2, b2, N, R, C);
	if (tap)
		tap->forward(tap->ctx, SE_FC2_PRE, sv->s, nc, sv->train);
	for (size_t i = 0; i < nc; i++)
		sv->s[i] = 1.0f / (1.0f + expf(-sv->s[i]));
	if (tap)
		tap->forward(tap->ctx, SE_GATE, sv->s, nc, sv->train);
	#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		const float *restrict s = sv->s + (size_t)n * C;
		const float *restrict xn = x + (size_t)n * P * C;
		float *restrict yn = y + (size_t)n * P * C;
		for (int i = 0; i < P; i++)
			for (int c = 0; c < C; c++)
				yn[(size_t)i * C + c] = xn[(size_t)i * C + c] * s[c];
	}
}

void se_backward(float *dx, float *dw1, float *db1, float *dw2, float *db2, struct se_saved *sv,
		 const float *dy, const float *x, const float *w1, const float *w2, int N, int P,
		 int C, int R, int accum)
{
	const struct se_tap *tap = sv->tap.backward ? &sv->tap : NULL;
	size_t nc = (size_t)N * C, nr = (size_t)N * R;
	/* ds = Σ_P dy·x per image, into dp */
	#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		const float *restrict xn = x + (size_t)n * P * C, *restrict gn = dy + (size_t)n * P * C;
		float *restrict ds = sv->dp + (size_t)n * C;
		for (int c = 0; c < C; c++)
			ds[c] = 0;
		for (int i = 0; i < P; i++)
			for (int c = 0; c < C; c++)
				ds[c] += gn[(size_t)i * C + c] * xn[(size_t)i * C + c];
	}
	if (tap)
		tap->backward(tap->ctx, SE_GATE, sv->dp, nc);
	/* dz2 = ds·s(1-s) */
	for (size_t i = 0; i < nc; i++)
		sv->dp[i] *= sv->s[i] * (1 - sv->s[i]);
	if (tap)
		tap->backward(tap->ctx, SE_FC2_PRE, sv->dp, nc);
	/* dw2 = dz2ᵀ·a1, db2 = Σ dz2 */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, R, N, 1.0f, sv->dp, C, sv->a1, R,
		    0.0f, dw2, R);
	col_sums(db2, sv->dp, N, C);
	/* dz1 = (dz2·w2) ⊙ [z1 > 0] */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, R, C, 1.0f, sv->dp, C, w2, R,
		    0.0f, sv->dz1, R);
	if (tap)
		tap->backward(tap->ctx, SE_FC1, sv->dz1, nr);
	for (size_t i = 0; i < nr; i++)
		sv->dz1[i] = sv->z1[i] > 0 ? sv->dz1[i] : 0;
	/* dw1 = dz1ᵀ·p, db1 = Σ dz1 */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, R, C, N, 1.0f, sv->dz1, R, sv->p, C,
		    0.0f, dw1, C);
	col_sums(db1, sv->dz1, N, R);
	if (!dx)
		return;
	/* the gradient through the pool: dp = dz1·w1 / P (dz2 no longer needed) */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, R, 1.0f / (float)P, sv->dz1, R,
		    w1, C, 0.0f, sv->dp, C);
	if (tap) /* the gradient at the pooled mean (the 1/P folded in: a mask is linear) */
		tap->backward(tap->ctx, SE_POOL, sv->dp, nc);
	/* dx (+)= dy·s + dp */
	#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		const float *restrict dpn = sv->dp + (size_t)n * C, *restrict s = sv->s + (size_t)n * C;
		const float *restrict gn = dy + (size_t)n * P * C;
		float *restrict dxn = dx + (size_t)n * P * C;
		if (accum) {
			for (int i = 0; i < P; i++)
				for (int c = 0; c < C; c++)
					dxn[(size_t)i * C + c] += gn[(size_t)i * C + c] * s[c] + dpn[c];
		} else {
			for (int i = 0; i < P; i++)
				for (int c = 0; c < C; c++)
					dxn[(size_t)i * C + c] = gn[(size_t)i * C + c] * s[c] + dpn[c];
		}
	}
}
