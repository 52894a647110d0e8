/* bn_sums_avx512.h — batch norm's per-channel block sums in AVX-512 registers, called by
 * nn_bn.c where this CPU has AVX-512. One block of rows of a [rows][C] tensor (and b [rows][C]
 * when given), its float sums added into double totals:
 *
 *   without b:  f1[c] = Σ_r (a[r][c] - k[c]),  f2[c] = Σ_r (a[r][c] - k[c])²
 *   with b:     f1[c] = Σ_r a[r][c],           f2[c] = Σ_r a[r][c]·(b[r][c] - k[c])
 *   then d1[c] += f1[c], d2[c] += f2[c] in double.
 *
 * Each f sums its rows in order from +0, every product rounded before it is added (no fused
 * multiply-add): the sums of nn_bn.c's plain block_sums, bit for bit. nn_bn.c's loop kept the
 * sums in memory, loading and storing them for every row; here 64 channels' sums stay in
 * registers over the block. */
#ifndef LMNAS_BN_SUMS_AVX512_H
#define LMNAS_BN_SUMS_AVX512_H

/* Whether this CPU has AVX-512 (any C: the last 16 channels are masked). */
int bn_sums_avx512_fits(void);
void bn_sums_avx512_block(const float *a, const float *b, const float *k, int rows, int C,
			  double *d1, double *d2);
#endif
