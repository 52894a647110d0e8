/* nn_head.c — global average pool, dropout, linear, softmax cross-entropy, residual add. */
/* Full vectorisation (-O2 vectorises only the cheapest loops); the Makefile stays at -O2. */
#pragma GCC optimize("O3")
#include "engine/nn_head.h"
#include "core/prng.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void gap_forward(float *y, const float *x, int N, int P, int C)
{
	#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++) {
		float *restrict yn = y + (size_t)n * C;
		const float *xn = x + (size_t)n * P * C;
		for (int c = 0; c < C; c++)
			yn[c] = 0;
		for (int i = 0; i < P; i++)
			for (int c = 0; c < C; c++)
				yn[c] += xn[(size_t)i * C + c];
		for (int c = 0; c < C; c++)
			yn[c] /= (float)P;
	}
}

void gap_backward(float *dx, const float *dy, int N, int P, int C, int accum)
{
	#pragma omp parallel for schedule(static)
	for (int n = 0; n < N; n++)
		for (int i = 0; i < P; i++) {
			float *restrict d = dx + ((size_t)n * P + i) * C;
			const float *g = dy + (size_t)n * C;
			for (int c = 0; c < C; c++)
				d[c] = (accum ? d[c] : 0) + g[c] / (float)P;
		}
}

void dropout_forward(float *y, float *mask, const float *x, size_t n, float p, uint64_t *rng)
{
	float keep = 1.0f / (1.0f - p);
	for (size_t i = 0; i < n; i++) {
		mask[i] = p > 0 && prng_xorshift_unit(rng) < p ? 0.0f : keep;
		y[i] = x[i] * mask[i];
	}
}

void dropout_backward(float *dx, const float *dy, const float *mask, size_t n, int accum)
{
	for (size_t i = 0; i < n; i++)
		dx[i] = (accum ? dx[i] : 0) + dy[i] * mask[i];
}

void linear_forward(float *y, const float *x, const float *w, const float *b, int N, int nin, int O)
{
	for (int n = 0; n < N; n++)
		memcpy(y + (size_t)n * O, b, sizeof(float) * (size_t)O);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, O, nin, 1.0f, x, nin, w, nin, 1.0f, y, O);
}

void linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
		     const float *w, int N, int nin, int O, int accum)
{
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, O, nin, N, 1.0f, dy, O, x, nin, 0.0f, dw, nin);
	for (int o = 0; o < O; o++) {
		float s = 0;
		for (int n = 0; n < N; n++)
			s += dy[(size_t)n * O + o];
		db[o] = s;
	}
	if (dx)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, nin, O, 1.0f, dy, O, w, nin,
			    accum ? 1.0f : 0.0f, dx, nin);
}

int logits_argmax(const float *v, int n)
{
	int best = 0;
	for (int i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

double softmax_xent(float *dlogits, const float *logits, const int *labels, int N, int O)
{
	double total = 0;
	for (int n = 0; n < N; n++) {
		const float *z = logits + (size_t)n * O;
		int t = labels[n];
		if (t < 0 || t >= O)
			return NAN;
		float mx = z[0];
		for (int o = 1; o < O; o++)
			mx = z[o] > mx ? z[o] : mx;
		double sum = 0;
		for (int o = 0; o < O; o++)
			sum += exp((double)z[o] - mx);
		double lse = mx + log(sum);
		total += lse - z[t];
		if (dlogits)
			for (int o = 0; o < O; o++)
				dlogits[(size_t)n * O + o] =
					(float)((exp((double)z[o] - lse) - (o == t)) / N);
	}
	return total / N;
}

void add_forward(float *restrict y, const float *restrict a, const float *restrict b, size_t n)
{
	#pragma omp parallel for simd schedule(static)
	for (size_t i = 0; i < n; i++)
		y[i] = a[i] + b[i];
}

void pass_backward(float *restrict dx, const float *restrict dy, size_t n, int accum)
{
	if (accum) {
		#pragma omp parallel for simd schedule(static)
		for (size_t i = 0; i < n; i++)
			dx[i] += dy[i];
	} else {
		memcpy(dx, dy, sizeof(float) * n);
	}
}
