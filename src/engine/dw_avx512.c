/* dw_avx512.c — depthwise sums in AVX-512 registers: the stride-1 convolution, the weight
 * gradient's row pairs and the input gradient at stride 2 and more. See dw_avx512.h.
 *
 * Stride 1: along a row, input pixel p feeds output p - kx through tap kx, so each x vector (16 channels)
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
 * nn_conv.c's dw_grad_row8 with 16-lane vectors (one width per file, as sgemm_small_avx512.c
 * beside sgemm_small.c): the k taps of a row pair summed side by side over the row's pixels (the
 * interior ones first, then the border ones), then added into part: per channel the same sums in
 * the same order. */
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
void dw_avx512_grad_row(float *part, const float *xr, const float *g, const struct dw_shape *s,
			int lo, int hi)
{
	if (s->k == 3)
		grad_rows_k(part, xr, g, s, lo, hi, 3);
	else
		grad_rows_k(part, xr, g, s, lo, hi, 5);
}

/* ---- input gradient, stride 2 and more ----
 * Input pixel ix is reached through the taps kx = q, q + stride, ... with q = (ix + pad) mod
 * stride, from output columns ox = (ix + pad - kx) / stride: for the inputs of one class q,
 * ix = ix0 + stride·j, the output column of tap kx is that of ix0 less the tap's rank, plus j.
 * So a block of r inputs of one class is a row of dy summed with the class's weights, and each
 * dy vector is loaded once for all the taps that use it; rows likewise by the class of iy. */
#define DW_AVX512_DX_MAX_M 4 /* taps of one class: ceil(7 / 2) */

int dw_avx512_dx_fits(const struct dw_shape *s)
{
	return s->C % 16 == 0 && s->stride >= 2 && s->k <= 7 && cpu_features_detect().avx512f;
}

/* Output rows (columns) reached from input rows [0, n): from (pad - k + 1) / stride, rounded
 * towards -infinity, to (n - 1 + pad) / stride; the margins are what lies outside [0, out). */
static int margin_before(const struct dw_shape *s)
{
	int reach = s->k - 1 - s->pad;
	return reach > 0 ? (reach + s->stride - 1) / s->stride : 0;
}

static int margin_after(const struct dw_shape *s, int n, int out)
{
	int last = (n - 1 + s->pad) / s->stride;
	return last >= out ? last - out + 1 : 0;
}

void dw_avx512_dx_margins(const struct dw_shape *s, struct dw_margins *m)
{
	m->top = m->left = margin_before(s);
	m->bottom = margin_after(s, s->H, s->OH);
	m->right = margin_after(s, s->W, s->OW);
}

/* The taps of class q (q, q + stride, ...) below k. */
static int class_taps(const struct dw_shape *s, int q)
{
	return q < s->k ? (s->k - q + s->stride - 1) / s->stride : 0;
}

/* dx for r inputs of column class q from ix0 (stride apart), row iy, channels c0 .. c0 + 16:
 * r and M (the class's taps) constants where inlined. b0: dy's padded column of ix0's first
 * tap (kx = q); rows: dy's padded row of iy's first tap (ky = qy), My of them. */
static inline __attribute__((always_inline)) void
dx_block(float *restrict dxrow, const float *restrict dyp, const float *restrict w,
	 const struct dw_shape *s, size_t pw, int row0, int qy, int My, int q, int ix0, int b0,
	 int c0, int r, int M, int add)
{
	const size_t C = (size_t)s->C;
	vec16 acc[DW_AVX512_BLOCK], wv[DW_AVX512_DX_MAX_M];
#pragma GCC unroll 8
	for (int j = 0; j < r; j++)
		acc[j] = (vec16){0};
	for (int a = 0; a < My; a++) { /* ky = qy + stride·a ascending, one dy row up each */
		const float *dr = dyp + (size_t)(row0 - a) * pw * C + (size_t)(b0 - (M - 1)) * C + c0;
		const float *wr = w + (size_t)(qy + s->stride * a) * s->k * C + c0;
#pragma GCC unroll 4
		for (int m = 0; m < M; m++)
			wv[m] = *(const vec16 *)(wr + (size_t)(q + s->stride * m) * C);
		/* tap m of output j reads dy column p = j - m + M - 1: p descending gives each j its
		 * taps kx ascending */
#pragma GCC unroll 11
		for (int p = r + M - 2; p >= 0; p--) {
			vec16 gv = *(const vec16 *)(dr + (size_t)p * C);
#pragma GCC unroll 4
			for (int m = 0; m < M; m++)
				if (p + m - (M - 1) >= 0 && p + m - (M - 1) < r)
					acc[p + m - (M - 1)] += gv * wv[m];
		}
	}
#pragma GCC unroll 8
	for (int j = 0; j < r; j++) {
		float *out = dxrow + (size_t)(ix0 + s->stride * j) * C + c0;
		if (add)
			acc[j] += *(const vec16 *)out;
		*(vec16 *)out = acc[j];
	}
}

/* The inputs of class q in row iy in blocks of r (a constant) from the i-th of the class while
 * they fit; returns the first not done. */
static inline __attribute__((always_inline)) int
dx_blocks(float *dxrow, const float *dyp, const float *w, const struct dw_shape *s, size_t pw,
	  int row0, int qy, int My, int q, int first, int count, int b_first, int i, int r, int M,
	  int add)
{
	for (; i + r <= count; i += r)
		for (int c0 = 0; c0 < s->C; c0 += 16)
			dx_block(dxrow, dyp, w, s, pw, row0, qy, My, q, first + s->stride * i,
				 b_first + i, c0, r, M, add);
	return i;
}

static inline __attribute__((always_inline)) void
dx_class(float *dxrow, const float *dyp, const float *w, const struct dw_shape *s, size_t pw,
	 int row0, int qy, int My, int q, int first, int count, int b_first, int M, int add)
{
	int i = dx_blocks(dxrow, dyp, w, s, pw, row0, qy, My, q, first, count, b_first, 0, 8, M,
			  add);
	i = dx_blocks(dxrow, dyp, w, s, pw, row0, qy, My, q, first, count, b_first, i, 4, M, add);
	i = dx_blocks(dxrow, dyp, w, s, pw, row0, qy, My, q, first, count, b_first, i, 2, M, add);
	dx_blocks(dxrow, dyp, w, s, pw, row0, qy, My, q, first, count, b_first, i, 1, M, add);
}

__attribute__((target("arch=x86-64-v4")))
void dw_avx512_dx_image(float *dx, const float *dyp, const float *w, const struct dw_shape *s,
			int add)
{
	const int st = s->stride;
	struct dw_margins mg;
	dw_avx512_dx_margins(s, &mg);
	const size_t pw = (size_t)(mg.left + s->OW + mg.right), C = (size_t)s->C;
	for (int iy = 0; iy < s->H; iy++) {
		float *dxrow = dx + (size_t)iy * s->W * C;
		int qy = (iy + s->pad) % st, My = class_taps(s, qy);
		int row0 = (iy + s->pad - qy) / st + mg.top; /* dy's padded row of tap ky = qy */
		for (int q = 0; q < st; q++) {
			int first = ((q - s->pad) % st + st) % st; /* the first ix of class q */
			if (first >= s->W)
				continue;
			int count = (s->W - 1 - first) / st + 1, M = class_taps(s, q);
			int b_first = (first + s->pad - q) / st + mg.left; /* its tap kx = q */
			/* M a constant in each call; no taps in the class (M 0): no rows */
			int rows = M ? My : 0;
			if (M <= 1)
				dx_class(dxrow, dyp, w, s, pw, row0, qy, rows, q, first, count,
					 b_first, 1, add);
			else if (M == 2)
				dx_class(dxrow, dyp, w, s, pw, row0, qy, rows, q, first, count,
					 b_first, 2, add);
			else if (M == 3)
				dx_class(dxrow, dyp, w, s, pw, row0, qy, rows, q, first, count,
					 b_first, 3, add);
			else
				dx_class(dxrow, dyp, w, s, pw, row0, qy, rows, q, first, count,
					 b_first, 4, add);
		}
	}
}
