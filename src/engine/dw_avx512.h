/* dw_avx512.h — depthwise kernels with AVX-512 registers, called by nn_conv.c where this CPU
 * has AVX-512. The stride-1 convolution (3x3, 5x5, 7x7) over one zero-padded image, for
 * depthwise_forward and for the input gradient (the forward over dy with the kernel turned
 * round); nn_conv.c pads the image and calls it where dw_avx512_fits:
 *
 *   y[oy][ox][c] (+)= Σ_{ky, kx} xp[oy + ky][ox + kx][c]·w[ky][kx][c]
 *   xp: [OH + k - 1][OW + k - 1][C], the input with pad zero pixels around it; y: [OH][OW][C].
 *
 * Each output's products are added tap by tap, kx ascending within ky ascending, starting from
 * +0, one fused multiply-add each: the sums of nn_conv.c's tap lists and pixel blocks, bit for
 * bit (the taps on the padding add 0·w, which leaves a sum as it is: +0 + ±0 is +0, a + ±0 is
 * a, and a sum that starts at +0 never becomes -0). */
#ifndef LMNAS_DW_AVX512_H
#define LMNAS_DW_AVX512_H
#include "engine/nn_conv.h"

/* Whether dw_avx512_image takes s: this CPU has AVX-512, C is a multiple of 16, stride 1 and
 * k is 3, 5 or 7. */
int dw_avx512_fits(const struct dw_shape *s);
void dw_avx512_image(float *y, const float *xp, const float *w, const struct dw_shape *s,
		     int add);

/* The weight gradient's row-pair sums (nn_conv.h: dw_grad_row_fn) in 16 lanes, where
 * dw_avx512_grad_fits: this CPU has AVX-512, C is a multiple of 16, k is 3 or 5, any stride. */
int dw_avx512_grad_fits(const struct dw_shape *s);
dw_grad_row_fn dw_avx512_grad_row;

/* Zero pixels around an image: rows above and below, columns left and right. */
struct dw_margins {
	int top, left, bottom, right;
};

/* The input gradient at stride 2 and more of one image, where dw_avx512_dx_fits (this CPU has
 * AVX-512, C a multiple of 16, stride 2 or more, k up to 7):
 *   dx[iy][ix][c] (+)= Σ dy[oy][ox][c]·w[ky][kx][c] over the taps with iy = oy·stride - pad + ky,
 *   ix = ox·stride - pad + kx, ky ascending, then kx ascending, each sum from +0 and then added
 *   to dx when add: the order of nn_conv.c's tap lists (taps_of_input), bit for bit.
 * dyp: image n of dy with the margins dw_avx512_dx_margins gives (zeros); dx: the image's. */
int dw_avx512_dx_fits(const struct dw_shape *s);
void dw_avx512_dx_margins(const struct dw_shape *s, struct dw_margins *m);
void dw_avx512_dx_image(float *dx, const float *dyp, const float *w, const struct dw_shape *s,
			int add);
#endif
