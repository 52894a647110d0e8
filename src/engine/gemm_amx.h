/* gemm_amx.h — the 1x1 convolutions' GEMMs in bf16 on Intel AMX tiles, with fp32 sums.
 *
 * Where the engine runs its GEMMs in bf16 (gemm_set_precision in nn_conv.h), nn_conv.c's
 * gemm_part sends these shapes here:
 *
 *   gemm_amx_nn:  C[M][N] (+)= A[M][K] · B[K][N]           (the forward, the input gradient)
 *   gemm_amx_tn:  C[P][Q]   = A[R][P]ᵀ · B[R][Q]            (the weight gradient: R pixels)
 *
 * Every operand is rounded to bf16 (to nearest, ties to even) as it is packed into tiles; the
 * products are summed in fp32 inside the tiles, in an order of their own (blocks of 32 along
 * the sum), so the results differ from an fp32 GEMM's by bf16's rounding of the operands
 * (8 significant bits) and from the plain reference (gemm_amx_ref) only by the order of the fp32
 * sums. C stays fp32. All matrices row-major with the row strides given. Single-threaded: each
 * OpenMP thread calls with its own rows.
 *
 * gemm_amx_ready() says whether this CPU has AMX-BF16 and AVX512-BF16 and whether the kernel
 * lets this process use the tiles (Linux asks a program to request them: arch_prctl). */
#ifndef LMNAS_GEMM_AMX_H
#define LMNAS_GEMM_AMX_H

int gemm_amx_ready(void);
void gemm_amx_nn(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
		 int ldc, int add);
void gemm_amx_tn(int P, int Q, int R, const float *A, int lda, const float *B, int ldb, float *C,
		 int ldc);

/* One core's rate of tile products (tdpbf16ps on tiles held in registers, the best of five
 * timings; a multiply and an add are two), in GFLOP/s; -1 where !gemm_amx_ready() or a product
 * came out wrong. */
double gemm_amx_gflops_core(void);

/* x rounded to bf16 (to nearest, ties to even) and back to float: what the tiles multiply. */
float gemm_amx_round(float x);
/* The same products in plain loops over operands rounded by gemm_amx_round, summed in double
 * (trans_a: C = Aᵀ·B, A [K][M]; else C (+)= A·B, A [M][K]). */
void gemm_amx_ref(int trans_a, int M, int N, int K, const float *A, int lda, const float *B,
		  int ldb, float *C, int ldc, int add);
#endif
