/* sgemm_small_avx512.c — sgemm_small's product with AVX-512 registers, for CPUs that have them
 * (sgemm_small dispatches here; see sgemm_small.h). The same sweep as the AVX2 kernel with twice
 * the lanes and twice the registers: a block of up to 12 rows x 32 columns of C stays in 24 of
 * the 32 zmm registers over a slice of K, and the last vector of a row is masked (AVX-512 masks
 * cost nothing), so every N takes the same code. */
/* Full unrolling of the block's loops (acc stays in registers); the Makefile stays at -O2. */
#pragma GCC optimize("O3")
#include "engine/sgemm_small.h"
#include "core/cpu.h"

#include <immintrin.h>

#define MR 12 /* rows of C per block: 12 x 2 accumulators + 2 of B + 1 of A = 27 registers */
#define NR 32 /* columns of C per block: two vectors of 16 */

int sgemm_small_avx512_available(void)
{
	return cpu_features_detect().avx512f;
}

/* One block: C[0..mr)[0..16·nv) (+)= Σ_{k<K} A(i, k)·B[k][..], the last vector's lanes given by
 * last (all 16 when N fills it). mr and nv are constants where it is inlined. */
static inline __attribute__((always_inline, target("avx512f"))) void
block(int mr, int nv, int K, const float *a, size_t ars, size_t aks, const float *b,
      size_t ldb, float *c, size_t ldc, int add, __mmask16 last)
{
	__m512 acc[MR][2];
#pragma GCC unroll 12
	for (int i = 0; i < mr; i++)
#pragma GCC unroll 2
		for (int v = 0; v < nv; v++)
			acc[i][v] = _mm512_setzero_ps();
	for (int k = 0; k < K; k++) {
		const float *bk = b + (size_t)k * ldb;
		__m512 b0, b1 = _mm512_setzero_ps();
		if (nv == 2) {
			b0 = _mm512_loadu_ps(bk);
			b1 = _mm512_maskz_loadu_ps(last, bk + 16);
		} else {
			b0 = _mm512_maskz_loadu_ps(last, bk);
		}
		const float *ak = a + (size_t)k * aks;
#pragma GCC unroll 12
		for (int i = 0; i < mr; i++) {
			__m512 ai = _mm512_set1_ps(ak[(size_t)i * ars]);
			acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
			if (nv == 2)
				acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
		}
	}
#pragma GCC unroll 12
	for (int i = 0; i < mr; i++)
#pragma GCC unroll 2
		for (int v = 0; v < nv; v++) {
			float *p = c + (size_t)i * ldc + 16 * v;
			__mmask16 m = v == nv - 1 ? last : (__mmask16)0xffff;
			if (add)
				acc[i][v] = _mm512_add_ps(acc[i][v], _mm512_maskz_loadu_ps(m, p));
			_mm512_mask_storeu_ps(p, m, acc[i][v]);
		}
}

/* A block of mr rows (1 to MR) and n columns (1 to NR), each case compiled with constants. */
__attribute__((target("avx512f"))) static void
block_switch(int mr, int n, int K, const float *a, size_t ars, size_t aks, const float *b,
	     size_t ldb, float *c, size_t ldc, int add)
{
	int nv = n > 16 ? 2 : 1;
	__mmask16 last = (__mmask16)((1u << (n - 16 * (nv - 1))) - 1);
#define CASE(R)                                                                                  \
	case R:                                                                                  \
		if (nv == 2)                                                                     \
			block(R, 2, K, a, ars, aks, b, ldb, c, ldc, add, last);                 \
		else                                                                             \
			block(R, 1, K, a, ars, aks, b, ldb, c, ldc, add, last);                 \
		break;
	switch (mr) {
	CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6)
	CASE(7) CASE(8) CASE(9) CASE(10) CASE(11) CASE(12)
	}
#undef CASE
}

void sgemm_small_avx512(int M, int N, int K, const float *a, size_t ars, size_t aks,
			const float *b, size_t ldb, float *c, size_t ldc, int add)
{
	sgemm_small_sweep(block_switch, MR, NR, M, N, K, a, ars, aks, b, ldb, c, ldc, add);
}
