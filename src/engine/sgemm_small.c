/* sgemm_small.c — register-blocked AVX2 + FMA product for the 1x1 convolutions, and the
 * dispatch to the AVX-512 one (sgemm_small_avx512.c) on CPUs that have it. See sgemm_small.h. */
/* Full unrolling of the block's loops (acc stays in registers); the Makefile stays at -O2. */
#pragma GCC optimize("O3")
#include "engine/sgemm_small.h"
#include "core/cpu.h"

#include <immintrin.h>

#define MR 6  /* rows of C per block: 6 x 2 accumulators + 2 of B + 1 of A = 15 registers */
#define NR 16 /* columns of C per block: two vectors of 8 */

int sgemm_small_available(void)
{
	return cpu_features_detect().avx2_fma;
}

/* The first n (1 to 8) lanes on. */
__attribute__((target("avx2,fma"))) static inline __m256i lanes(int n)
{
	const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

/* One block: C[0..mr)[0..8·nv) (+)= Σ_{k<K} A(i, k)·B[k][..], the last vector masked to `last`
 * lanes when masked. mr, nv and masked are constants where it is inlined (see block_switch). */
static inline __attribute__((always_inline, target("avx2,fma"))) void
block(int mr, int nv, int masked, int K, const float *a, size_t ars, size_t aks,
      const float *b, size_t ldb, float *c, size_t ldc, int add, __m256i mask)
{
	__m256 acc[MR][2];
#pragma GCC unroll 6
	for (int i = 0; i < mr; i++)
#pragma GCC unroll 2
		for (int v = 0; v < nv; v++)
			acc[i][v] = _mm256_setzero_ps();
	for (int k = 0; k < K; k++) {
		const float *bk = b + (size_t)k * ldb;
		__m256 b0, b1 = _mm256_setzero_ps();
		if (nv == 2) {
			b0 = _mm256_loadu_ps(bk);
			b1 = masked ? _mm256_maskload_ps(bk + 8, mask) : _mm256_loadu_ps(bk + 8);
		} else {
			b0 = masked ? _mm256_maskload_ps(bk, mask) : _mm256_loadu_ps(bk);
		}
		const float *ak = a + (size_t)k * aks;
#pragma GCC unroll 6
		for (int i = 0; i < mr; i++) {
			__m256 ai = _mm256_broadcast_ss(ak + (size_t)i * ars);
			acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
			if (nv == 2)
				acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
		}
	}
#pragma GCC unroll 6
	for (int i = 0; i < mr; i++)
#pragma GCC unroll 2
		for (int v = 0; v < nv; v++) {
			float *p = c + (size_t)i * ldc + 8 * v;
			int m = masked && v == nv - 1;
			if (add)
				acc[i][v] = _mm256_add_ps(acc[i][v], m ? _mm256_maskload_ps(p, mask)
								       : _mm256_loadu_ps(p));
			if (m)
				_mm256_maskstore_ps(p, mask, acc[i][v]);
			else
				_mm256_storeu_ps(p, acc[i][v]);
		}
}

/* A block of mr rows (1 to MR) and n columns (1 to NR), each case compiled with constants. */
__attribute__((target("avx2,fma"))) static void
block_switch(int mr, int n, int K, const float *a, size_t ars, size_t aks, const float *b,
	     size_t ldb, float *c, size_t ldc, int add)
{
	int nv = n > 8 ? 2 : 1, masked = n != 8 * nv;
	__m256i mask = lanes(n - 8 * (nv - 1));
#define CASE(R)                                                                                  \
	case R:                                                                                  \
		if (nv == 2 && !masked)                                                          \
			block(R, 2, 0, K, a, ars, aks, b, ldb, c, ldc, add, mask);              \
		else if (nv == 2)                                                                \
			block(R, 2, 1, K, a, ars, aks, b, ldb, c, ldc, add, mask);              \
		else if (!masked)                                                                \
			block(R, 1, 0, K, a, ars, aks, b, ldb, c, ldc, add, mask);              \
		else                                                                             \
			block(R, 1, 1, K, a, ars, aks, b, ldb, c, ldc, add, mask);              \
		break;
	switch (mr) {
	CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6)
	}
#undef CASE
}

void sgemm_small_sweep(sgemm_block_fn *block, int mr_max, int nr_max, int M, int N, int K,
		       const float *a, size_t ars, size_t aks, const float *b, size_t ldb, float *c,
		       size_t ldc, int add)
{
	for (int k0 = 0; k0 < K; k0 += SGEMM_SMALL_KC) {
		int kc = K - k0 < SGEMM_SMALL_KC ? K - k0 : SGEMM_SMALL_KC;
		int add_k = add || k0 > 0;
		const float *ak = a + (size_t)k0 * aks, *bk = b + (size_t)k0 * ldb;
		for (int m0 = 0; m0 < M; m0 += mr_max) {
			int mr = M - m0 < mr_max ? M - m0 : mr_max;
			for (int n0 = 0; n0 < N; n0 += nr_max)
				block(mr, N - n0 < nr_max ? N - n0 : nr_max, kc, ak + (size_t)m0 * ars,
				      ars, aks, bk + n0, ldb, c + (size_t)m0 * ldc + n0, ldc, add_k);
		}
	}
}

void sgemm_small_avx2(int M, int N, int K, const float *a, size_t ars, size_t aks,
		      const float *b, size_t ldb, float *c, size_t ldc, int add)
{
	sgemm_small_sweep(block_switch, MR, NR, M, N, K, a, ars, aks, b, ldb, c, ldc, add);
}

void sgemm_small(int M, int N, int K, const float *a, size_t ars, size_t aks, const float *b,
		 size_t ldb, float *c, size_t ldc, int add)
{
	if (K == 0) {
		if (!add)
			for (int m = 0; m < M; m++)
				for (int n = 0; n < N; n++)
					c[(size_t)m * ldc + n] = 0;
		return;
	}
	if (sgemm_small_avx512_available())
		sgemm_small_avx512(M, N, K, a, ars, aks, b, ldb, c, ldc, add);
	else
		sgemm_small_avx2(M, N, K, a, ars, aks, b, ldb, c, ldc, add);
}

void sgemm_small_ref(int M, int N, int K, const float *a, size_t ars, size_t aks,
		     const float *b, size_t ldb, float *c, size_t ldc, int add)
{
	for (int m = 0; m < M; m++)
		for (int n = 0; n < N; n++) {
			float s = 0;
			for (int k = 0; k < K; k++)
				s += a[(size_t)m * ars + (size_t)k * aks] * b[(size_t)k * ldb + n];
			c[(size_t)m * ldc + n] = add ? c[(size_t)m * ldc + n] + s : s;
		}
}
