/* test_bn_sums.c — batch norm's block sums in AVX-512 registers (engine/bn_sums_avx512.h) give
 * the bits of the plain loop nn_bn.c runs elsewhere, for every channel count (the last vector
 * masked) and block length, with and without the second operand. */
#include "t.h"
#include "core/prng.h"
#include "engine/bn_sums_avx512.h"

#include <string.h>

/* nn_bn.c's block_sums: the same loop, the same flags (no fused multiply-add under -std=c11). */
static void plain_block_sums(const float *a, const float *b, const float *k, int rows, int C,
			     double *d1, double *d2)
{
	float f1[256] = {0}, f2[256] = {0};
	for (int r = 0; r < rows; r++) {
		const float *ar = a + (size_t)r * C;
		for (int c = 0; c < C; c++) {
			if (b) {
				f1[c] += ar[c];
				f2[c] += ar[c] * (b[(size_t)r * C + c] - k[c]);
			} else {
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

static void check(int C, int rows, int with_b, struct prng *r)
{
	float a[32 * 256], b[32 * 256], k[256];
	double d1[2][256], d2[2][256];
	for (int i = 0; i < rows * C; i++) {
		a[i] = (float)(4 * prng_unit(r) - 1);
		b[i] = (float)(2 * prng_unit(r));
	}
	for (int c = 0; c < C; c++) {
		k[c] = (float)prng_unit(r);
		d1[0][c] = d1[1][c] = prng_unit(r) * 100; /* totals of earlier blocks */
		d2[0][c] = d2[1][c] = prng_unit(r) * 100;
	}
	d1[1][C] = d2[1][C] = 12345; /* past C: must stay */
	bn_sums_avx512_block(a, with_b ? b : NULL, k, rows, C, d1[1], d2[1]);
	plain_block_sums(a, with_b ? b : NULL, k, rows, C, d1[0], d2[0]);
	T_CHECK(!memcmp(d1[0], d1[1], sizeof(double) * C) &&
		!memcmp(d2[0], d2[1], sizeof(double) * C) && d1[1][C] == 12345 &&
		d2[1][C] == 12345,
		"C=%d, %d rows, %s: the plain loop's sums, bit for bit", C, rows,
		with_b ? "Σa and Σa·(b - k)" : "Σ(a - k) and Σ(a - k)²");
}

int main(void)
{
	if (!bn_sums_avx512_fits()) {
		t_skip_cpu("this CPU has no AVX-512: nn_bn.c runs the plain loop only");
		return t_done();
	}
	struct prng r;
	prng_seed(&r, 3);
	static const int cs[] = {1, 3, 15, 16, 17, 64, 72, 96, 144, 200};
	static const int rows[] = {1, 7, 32};
	for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++)
		for (size_t j = 0; j < sizeof rows / sizeof rows[0]; j++)
			for (int with_b = 0; with_b < 2; with_b++)
				check(cs[i], rows[j], with_b, &r);
	return t_done();
}
