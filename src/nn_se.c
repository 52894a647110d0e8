/* nn_se.c — squeeze-and-excitation forward and backward. See nn_se.h. */
/* Full vectorisation (-O2 vectorises only the cheapest loops); the Makefile stays at -O2. */
#pragma GCC optimize("O3")
#include "nn_se.h"

#include <math.h>
#include <string.h>

void se_forward(float *y, struct se_saved *sv, const float *x, const float *w1, const float *b1,
		const float *w2, const float *b2, int N, int P, int C, int R)
{
	#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		float *restrict p = sv->p + (size_t)n * C;
		float *restrict z1 = sv->z1 + (size_t)n * R;
		float *restrict s = sv->s + (size_t)n * C;
		const float *xn = x + (size_t)n * P * C;
		for (int c = 0; c < C; c++)
			p[c] = 0;
		for (int i = 0; i < P; i++)
			for (int c = 0; c < C; c++)
				p[c] += xn[(size_t)i * C + c];
		for (int c = 0; c < C; c++)
			p[c] /= (float)P;
		for (int r = 0; r < R; r++) {
			float a = b1[r];
			for (int c = 0; c < C; c++)
				a += w1[(size_t)r * C + c] * p[c];
			z1[r] = a;
		}
		for (int c = 0; c < C; c++) {
			float a = b2[c];
			for (int r = 0; r < R; r++)
				a += w2[(size_t)c * R + r] * (z1[r] > 0 ? z1[r] : 0);
			s[c] = 1.0f / (1.0f + expf(-a));
		}
		float *yn = y + (size_t)n * P * C;
		for (int i = 0; i < P; i++)
			for (int c = 0; c < C; c++)
				yn[(size_t)i * C + c] = xn[(size_t)i * C + c] * s[c];
	}
}

void se_backward(float *dx, float *dw1, float *db1, float *dw2, float *db2, struct se_saved *sv,
		 const float *dy, const float *x, const float *w1, const float *w2, int N, int P,
		 int C, int R, int accum)
{
	/* Per image: ds = Σ_P dy·x; dz2 = ds·s(1-s) (kept in dp for now); da1 = dz2·w2; dz1. */
	#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		const float *xn = x + (size_t)n * P * C, *gn = dy + (size_t)n * P * C;
		const float *s = sv->s + (size_t)n * C, *z1 = sv->z1 + (size_t)n * R;
		float *restrict dz2 = sv->dp + (size_t)n * C;
		float *restrict dz1 = sv->dz1 + (size_t)n * R;
		for (int c = 0; c < C; c++)
			dz2[c] = 0;
		for (int i = 0; i < P; i++)
			for (int c = 0; c < C; c++)
				dz2[c] += gn[(size_t)i * C + c] * xn[(size_t)i * C + c];
		for (int c = 0; c < C; c++)
			dz2[c] *= s[c] * (1 - s[c]);
		for (int r = 0; r < R; r++) {
			float a = 0;
			if (z1[r] > 0)
				for (int c = 0; c < C; c++)
					a += dz2[c] * w2[(size_t)c * R + r];
			dz1[r] = a;
		}
	}
	/* Parameter gradients: reductions over the batch. */
	#pragma omp parallel for schedule(static)
	for (int c = 0; c < C; c++) {
		float gb = 0;
		for (int n = 0; n < N; n++)
			gb += sv->dp[(size_t)n * C + c];
		db2[c] = gb;
		for (int r = 0; r < R; r++) {
			float g = 0;
			for (int n = 0; n < N; n++) {
				float z = sv->z1[(size_t)n * R + r];
				g += sv->dp[(size_t)n * C + c] * (z > 0 ? z : 0);
			}
			dw2[(size_t)c * R + r] = g;
		}
	}
	#pragma omp parallel for schedule(static)
	for (int r = 0; r < R; r++) {
		float gb = 0;
		for (int n = 0; n < N; n++)
			gb += sv->dz1[(size_t)n * R + r];
		db1[r] = gb;
		for (int c = 0; c < C; c++) {
			float g = 0;
			for (int n = 0; n < N; n++)
				g += sv->dz1[(size_t)n * R + r] * sv->p[(size_t)n * C + c];
			dw1[(size_t)r * C + c] = g;
		}
	}
	if (!dx)
		return;
	/* dp = dz1·w1 / P is the gradient through the pool; dx (+)= dy·s + dp. */
	#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		float *restrict dpn = sv->dp + (size_t)n * C; /* reuse: dz2 no longer needed */
		const float *dz1 = sv->dz1 + (size_t)n * R, *s = sv->s + (size_t)n * C;
		for (int c = 0; c < C; c++) {
			float a = 0;
			for (int r = 0; r < R; r++)
				a += dz1[r] * w1[(size_t)r * C + c];
			dpn[c] = a / (float)P;
		}
		const float *gn = dy + (size_t)n * P * C;
		float *dxn = dx + (size_t)n * P * C;
		for (int i = 0; i < P; i++)
			for (int c = 0; c < C; c++) {
				float v = gn[(size_t)i * C + c] * s[c] + dpn[c];
				if (accum)
					dxn[(size_t)i * C + c] += v;
				else
					dxn[(size_t)i * C + c] = v;
			}
	}
}
