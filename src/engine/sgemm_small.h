/* sgemm_small.h — single-threaded C (+)= A·B for the thin shapes of the 1x1 convolutions.
 *
 * The pointwise convolutions of small nets multiply a long matrix by a narrow one (K and N from
 * 3 to a few hundred channels, M up to hundreds of thousands of pixels). A general SGEMM packs
 * both operands and clears C in passes of their own before it computes; at these shapes those
 * passes cost as much as the arithmetic. This kernel reads A and B where they lie and keeps a
 * block of C in registers over a whole slice of K (6 x 16 with AVX2, 12 x 32 with AVX-512): no
 * packing, no separate pass over C.
 *
 *   C[m][n] = Σ_k A(m, k)·B[k][n]  (+ C[m][n] when add),  m < M, n < N, k < K
 *   A(m, k) = a[m·ars + k·aks]: a row-major A has ars = lda, aks = 1; a transposed one (Aᵀ
 *   stored [K][M]) has ars = 1, aks = lda. B is row-major with row stride ldb, C with ldc.
 *
 * sgemm_small needs AVX2 and FMA: call it only when sgemm_small_available() (checked on the
 * CPU the program runs on). It runs sgemm_small_avx512 where sgemm_small_avx512_available(),
 * else sgemm_small_avx2 (both take K > 0; the tests call each). sgemm_small_ref is the same
 * product in plain loops. */
#ifndef LMNAS_SGEMM_SMALL_H
#define LMNAS_SGEMM_SMALL_H
#include <stddef.h>

int sgemm_small_available(void);
void sgemm_small(int M, int N, int K, const float *a, size_t ars, size_t aks, const float *b,
		 size_t ldb, float *c, size_t ldc, int add);
int sgemm_small_avx512_available(void);
void sgemm_small_avx2(int M, int N, int K, const float *a, size_t ars, size_t aks,
		      const float *b, size_t ldb, float *c, size_t ldc, int add);
void sgemm_small_avx512(int M, int N, int K, const float *a, size_t ars, size_t aks,
			const float *b, size_t ldb, float *c, size_t ldc, int add);

/* For the kernels: C's blocks in turn, K in slices of SGEMM_SMALL_KC (a slice of A's rows and of
 * B stays in L2 while it is swept; the first slice writes or adds as asked, the others add);
 * within a slice, blocks of mr_max rows, each swept across all of N in blocks of nr_max columns
 * while its rows of A sit in L1. block computes one (mr <= mr_max rows, n <= nr_max columns). */
#define SGEMM_SMALL_KC 256
typedef void sgemm_block_fn(int mr, int n, int K, const float *a, size_t ars, size_t aks,
			    const float *b, size_t ldb, float *c, size_t ldc, int add);
void sgemm_small_sweep(sgemm_block_fn *block, int mr_max, int nr_max, int M, int N, int K,
		       const float *a, size_t ars, size_t aks, const float *b, size_t ldb, float *c,
		       size_t ldc, int add);

void sgemm_small_ref(int M, int N, int K, const float *a, size_t ars, size_t aks,
		     const float *b, size_t ldb, float *c, size_t ldc, int add);
#endif
