/* bn_sums_avx512.c — batch norm's block sums in AVX-512 registers. See bn_sums_avx512.h.
 *
 * Channels go in groups of 64 (four vectors of 16; the lanes past C masked off): a group's
 * eight sums stay in registers while the block's rows go by, so each row costs its loads and
 * the arithmetic alone. The Makefile's -std=c11 keeps a·b + s two roundings (no contraction into
 * a fused multiply-add), as in nn_bn.c. */
#include "engine/bn_sums_avx512.h"
#include "core/cpu.h"

#include <immintrin.h>
#include <stddef.h>

#define GROUP 4 /* vectors of 16 channels summed together */

int bn_sums_avx512_fits(void)
{
	return cpu_features_detect().avx512f;
}

/* The lanes of channels [c0, c0 + 16) below C. */
__attribute__((target("avx512f"))) static __mmask16 lanes(int c0, int C)
{
	int n = C - c0;
	return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* d[c0 .. c0 + 16) += f, in double, for the lanes in m */
__attribute__((target("avx512f"))) static void add_double(double *d, __m512 f, __mmask16 m)
{
	__m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(f));
	__m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1)));
	__mmask8 mlo = (__mmask8)(m & 0xff), mhi = (__mmask8)(m >> 8);
	_mm512_mask_storeu_pd(d, mlo, _mm512_add_pd(_mm512_maskz_loadu_pd(mlo, d), lo));
	_mm512_mask_storeu_pd(d + 8, mhi, _mm512_add_pd(_mm512_maskz_loadu_pd(mhi, d + 8), hi));
}

/* Channels [c0, c0 + 64) of the block. */
__attribute__((target("avx512f"))) static void group_sums(const float *a, const float *b,
							 const float *k, int rows, int C, int c0,
							 double *d1, double *d2)
{
	__m512 f1[GROUP], f2[GROUP], kv[GROUP];
	__mmask16 m[GROUP];
	for (int j = 0; j < GROUP; j++) {
		m[j] = lanes(c0 + 16 * j, C);
		kv[j] = _mm512_maskz_loadu_ps(m[j], k + c0 + 16 * j);
		f1[j] = f2[j] = _mm512_setzero_ps();
	}
	if (b) {
		for (int r = 0; r < rows; r++)
			for (int j = 0; j < GROUP; j++) {
				const size_t at = (size_t)r * C + c0 + 16 * j;
				__m512 av = _mm512_maskz_loadu_ps(m[j], a + at);
				__m512 bv = _mm512_maskz_loadu_ps(m[j], b + at);
				f1[j] = _mm512_add_ps(f1[j], av);
				f2[j] = _mm512_add_ps(f2[j], _mm512_mul_ps(av, _mm512_sub_ps(bv, kv[j])));
			}
	} else {
		for (int r = 0; r < rows; r++)
			for (int j = 0; j < GROUP; j++) {
				__m512 d = _mm512_sub_ps(
					_mm512_maskz_loadu_ps(m[j], a + (size_t)r * C + c0 + 16 * j),
					kv[j]);
				f1[j] = _mm512_add_ps(f1[j], d);
				f2[j] = _mm512_add_ps(f2[j], _mm512_mul_ps(d, d));
			}
	}
	for (int j = 0; j < GROUP && m[j]; j++) {
		add_double(d1 + c0 + 16 * j, f1[j], m[j]);
		add_double(d2 + c0 + 16 * j, f2[j], m[j]);
	}
}

__attribute__((target("avx512f"))) void bn_sums_avx512_block(const float *a, const float *b,
							    const float *k, int rows, int C,
							    double *d1, double *d2)
{
	for (int c0 = 0; c0 < C; c0 += 16 * GROUP)
		group_sums(a, b, k, rows, C, c0, d1, d2);
}
