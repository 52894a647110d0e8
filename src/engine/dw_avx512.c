/* dw_avx512.c — stride-1 depthwise sums in AVX-512 registers. See dw_avx512.h.
 *
 * Along a row, input pixel p feeds output p - kx through tap kx, so each x vector (16 channels)
 * is loaded once and multiplied by the row's k weight vectors held in registers: a block of 8
 * outputs keeps 8 sums, 7 weights and x in 16 of the 32 zmm registers. nn_conv.c's pixel blocks
 * load x once per product instead, in 8-lane vectors. */
/* Full unrolling of the block's loops (the sums stay in registers); the Makefile stays at -O2.
 * fp-contract=fast makes acc += x·w one fused multiply-add, as in nn_conv.c's kernels. */
#pragma GCC optimize("O3", "fp-contract=fast")
#include "engine/dw_avx512.h"
#include "core/cpu.h"

#include <stddef.h>

#define DW_AVX512_BLOCK 8 /* output pixels per block */
#define DW_AVX512_MAX_K 7

/* 16 floats at any float-aligned address, allowed to alias float arrays. */
typedef float vec16 __attribute__((vector_size(64), aligned(4), may_alias));

int dw_avx512_fits(const struct dw_shape *s)
{
	return s->C % 16 == 0 && s->stride == 1 && (s->k == 3 || s->k == 5 || s->k == 7) &&
	       cpu_features_detect().avx512f;
}

/* yrow[ox0 + j][c0 .. c0 + 16) (+)= Σ_taps xp·w for j < r, output row oy; r and k constants
 * where inlined. */
static inline __attribute__((always_inline)) void
block(float *restrict yrow, const float *restrict xp, const float *restrict w,
      const struct dw_shape *s, int oy, int ox0, int c0, int r, int k, int add)
{
	const size_t C = (size_t)s->C, row = (size_t)(s->OW + k - 1) * C;
	vec16 acc[DW_AVX512_BLOCK], wv[DW_AVX512_MAX_K];
#pragma GCC unroll 8
	for (int j = 0; j < r; j++)
		acc[j] = (vec16){0};
	for (int ky = 0; ky < k; ky++) {
		const float *xr = xp + (size_t)(oy + ky) * row + (size_t)ox0 * C + c0;
		const float *wr = w + (size_t)ky * k * C + c0;
#pragma GCC unroll 7
		for (int kx = 0; kx < k; kx++)
			wv[kx] = *(const vec16 *)(wr + (size_t)kx * C);
#pragma GCC unroll 14
		for (int p = 0; p < r + k - 1; p++) {
			vec16 xv = *(const vec16 *)(xr + (size_t)p * C);
#pragma GCC unroll 7
			for (int kx = 0; kx < k; kx++)
				if (p - kx >= 0 && p - kx < r)
					acc[p - kx] += xv * wv[kx];
		}
	}
#pragma GCC unroll 8
	for (int j = 0; j < r; j++) {
		float *out = yrow + (size_t)(ox0 + j) * C + c0;
		if (add)
			acc[j] += *(const vec16 *)out;
		*(vec16 *)out = acc[j];
	}
}

/* Blocks of r pixels from ox0 while they fit in the row; returns the first pixel not done. */
static inline __attribute__((always_inline)) int
blocks(float *yrow, const float *xp, const float *w, const struct dw_shape *s, int oy, int ox0,
       int r, int k, int add)
{
	int ox = ox0;
	for (; ox + r <= s->OW; ox += r)
		for (int c0 = 0; c0 < s->C; c0 += 16)
			block(yrow, xp, w, s, oy, ox, c0, r, k, add);
	return ox;
}

/* Output row oy: blocks of 8 pixels, then 4, 2 and 1. */
static inline __attribute__((always_inline)) void
row(float *yrow, const float *xp, const float *w, const struct dw_shape *s, int oy, int k,
    int add)
{
	int ox = blocks(yrow, xp, w, s, oy, 0, 8, k, add);
	ox = blocks(yrow, xp, w, s, oy, ox, 4, k, add);
	ox = blocks(yrow, xp, w, s, oy, ox, 2, k, add);
	blocks(yrow, xp, w, s, oy, ox, 1, k, add);
}

__attribute__((target("arch=x86-64-v4")))
void dw_avx512_image(float *y, const float *xp, const float *w, const struct dw_shape *s,
		     int add)
{
	const size_t out_row = (size_t)s->OW * s->C;
	for (int oy = 0; oy < s->OH; oy++) {
		if (s->k == 3)
			row(y + oy * out_row, xp, w, s, oy, 3, add);
		else if (s->k == 5)
			row(y + oy * out_row, xp, w, s, oy, 5, add);
		else
			row(y + oy * out_row, xp, w, s, oy, 7, add);
	}
}

/* ---- weight gradient, 3x3 and 5x5, any stride ----
 * nn_conv.c's dw_image_grad_blocked with 16-lane vectors: for each pair of rows (output row oy
 * of dy, input row iy = oy·stride - pad + ky) the k taps of the row are summed side by side over
 * the row's pixels (the interior ones first, then the border ones), then added into part: per
 * channel the same sums in the same order. */
#define DW_AVX512_GRAD_MAX_K 5

int dw_avx512_grad_fits(const struct dw_shape *s)
{
	return s->C % 16 == 0 && (s->k == 3 || s->k == 5) && cpu_features_detect().avx512f;
}

/* part[kx][c0 .. c0 + 16·nv) += Σ_ox xr[ox·stride - pad + kx]·g[ox] for kx < K; K and nv
 * constants where inlined. Columns [lo, hi) have all their taps inside the row. */
static inline __attribute__((always_inline)) void
grad_rows(float *restrict part, const float *restrict xr, const float *restrict g,
	  const struct dw_shape *s, int lo, int hi, int c0, int K, int nv)
{
	const int C = s->C, st = s->stride;
	vec16 acc[DW_AVX512_GRAD_MAX_K][2];
	for (int kx = 0; kx < K; kx++)
		for (int v = 0; v < nv; v++)
			acc[kx][v] = (vec16){0};
	for (int ox = lo; ox < hi; ox++) {
		const float *gp = g + (size_t)ox * C + c0;
		const float *xp = xr + (size_t)(ox * st - s->pad) * C + c0;
		vec16 gv[2];
		for (int v = 0; v < nv; v++)
			gv[v] = *(const vec16 *)(gp + 16 * v);
		for (int kx = 0; kx < K; kx++)
			for (int v = 0; v < nv; v++)
				acc[kx][v] += *(const vec16 *)(xp + (size_t)kx * C + 16 * v) * gv[v];
	}
	for (int ox = 0; ox < s->OW; ox++) {
		if (ox == lo)
			ox = hi;
		if (ox >= s->OW)
			break;
		for (int kx = 0; kx < K; kx++) {
			int ix = ox * st - s->pad + kx;
			if (ix < 0 || ix >= s->W)
				continue;
			for (int v = 0; v < nv; v++)
				acc[kx][v] += *(const vec16 *)(xr + (size_t)ix * C + c0 + 16 * v) *
					      *(const vec16 *)(g + (size_t)ox * C + c0 + 16 * v);
		}
	}
	for (int kx = 0; kx < K; kx++)
		for (int v = 0; v < nv; v++)
			*(vec16 *)(part + (size_t)kx * C + c0 + 16 * v) += acc[kx][v];
}

/* One row pair over all channels: two vectors at a time, then one. */
static inline __attribute__((always_inline)) void
grad_rows_k(float *part, const float *xr, const float *g, const struct dw_shape *s, int lo,
	    int hi, int K)
{
	int c0 = 0;
	for (; c0 + 32 <= s->C; c0 += 32)
		grad_rows(part, xr, g, s, lo, hi, c0, K, 2);
	for (; c0 < s->C; c0 += 16)
		grad_rows(part, xr, g, s, lo, hi, c0, K, 1);
}

__attribute__((target("arch=x86-64-v4")))
void dw_avx512_grad_image(float *part, const float *dy, const float *x, const struct dw_shape *s,
			  int n, int lo, int hi)
{
	for (int oy = 0; oy < s->OH; oy++)
		for (int ky = 0; ky < s->k; ky++) {
			int iy = oy * s->stride - s->pad + ky;
			if (iy < 0 || iy >= s->H)
				continue;
			const float *xr = x + ((size_t)n * s->H + iy) * s->W * s->C;
			const float *g = dy + ((size_t)n * s->OH + oy) * s->OW * s->C;
			float *p = part + (size_t)ky * s->k * s->C;
			if (s->k == 3)
				grad_rows_k(p, xr, g, s, lo, hi, 3);
			else
				grad_rows_k(p, xr, g, s, lo, hi, 5);
		}
}
