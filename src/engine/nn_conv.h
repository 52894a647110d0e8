/* nn_conv.h — convolutions on NHWC float activations, forward and backward side by side.
 *
 *   conv1x1: pointwise convolution = one GEMM (sgemm_small.h where the CPU has AVX2 + FMA,
 *     otherwise OpenBLAS cblas_sgemm; in bf16 on AMX tiles when gemm_set_precision says so).
 *     x: [M][cin] (M = N*H*W pixels), w: [cout][cin] (PyTorch OIHW with H=W=1), y: [M][cout]
 *   depthwise: k x k, stride s, padding p, one filter per channel.
 *     x: [N][H][W][C], w: [k][k][C] (transposed from PyTorch's [C][1][k][k]), y: [N][OH][OW][C]
 *
 * Backward functions write the parameter gradient (=), and write (accum == 0) or add
 * (accum == 1) the input gradient; dx may be NULL when the input needs no gradient. */
#ifndef LMNAS_NN_CONV_H
#define LMNAS_NN_CONV_H
#include <stddef.h>

/* The arithmetic of the 1x1 convolutions' GEMMs: fp32 (the default), or operands rounded to
 * bf16 with fp32 sums on AMX tiles (gemm_amx.h; CPUs with AMX-BF16). Weights, activations and
 * their gradients stay fp32 either way. gemm_set_precision: before any thread starts a GEMM; -1
 * (with a message) where this CPU cannot run it. */
enum gemm_precision { GEMM_FP32, GEMM_BF16 };
int gemm_set_precision(enum gemm_precision p, char *err, size_t errlen);
enum gemm_precision gemm_get_precision(void);
/* "fp32" | "bf16" -> p; 0 on success */
int gemm_precision_parse(const char *s, enum gemm_precision *p);
const char *gemm_precision_name(enum gemm_precision p);

/* C[M][N] = op(A) · op(B) + beta·C (row-major; op = transpose when trans_*), threaded by rows
 * of C. */
void gemm_rows(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda,
	       const float *B, int ldb, float beta, float *C, int ldc);

/* Scratch of the 1x1 convolutions (pw_work_floats floats, made once at net build):
 *  - conv1x1_backward's weight gradient dw = dyᵀ·x is a sum over all M pixels: the pixels are
 *    split across threads and every thread but the first writes its partial [cout][cin] product
 *    here. Without it (NULL, or more threads than it has room for) the threads split dw's rows
 *    and each reads every pixel;
 *  - conv1x1_forward writes the transposed weights [cin][cout] here for sgemm_small (without
 *    it, OpenBLAS multiplies by the weights as they are). */
struct pw_work {
	float *buf;
	int threads; /* the most threads buf has room for */
};
size_t pw_work_floats(int cin, int cout, int threads);

void conv1x1_forward(float *y, const float *x, const float *w, int M, int cin, int cout,
		     const struct pw_work *work);
void conv1x1_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
		      int M, int cin, int cout, int accum, const struct pw_work *work);

struct dw_shape {
	int N, H, W, C;  /* input */
	int OH, OW;      /* output */
	int k, stride, pad;
};

/* Scratch for the fast depthwise kernels: replicated weights, per-thread partial weight
 * gradients and per-thread padded images, dw_work_floats(s, threads) floats, made once (at net
 * build). With work == NULL the
 * kernels fall back to simpler threaded loops. */
struct dw_work {
	float *buf;
	int threads; /* the most threads buf has room for */
};
size_t dw_work_floats(const struct dw_shape *s, int threads);

/* The weight gradient's sums over one pair of rows, for every channel: part[kx][c] +=
 * Σ_ox xr[ox·stride - pad + kx][c]·g[ox][c] for kx < k (3 or 5), the columns [lo, hi) whose
 * taps all lie inside the row first, then the others, tap by tap. xr: an input row, g: the
 * output row of dy it feeds through the kernel's row; part: that kernel row's [k][C]. */
typedef void dw_grad_row_fn(float *part, const float *xr, const float *g,
			    const struct dw_shape *s, int lo, int hi);

void depthwise_forward(float *y, const float *x, const float *w, const struct dw_shape *s,
		       const struct dw_work *work);
void depthwise_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
			const struct dw_shape *s, int accum, const struct dw_work *work);

/* Plain reference versions (straight loops, no threads), kept to test the fast ones against. */
void conv1x1_forward_ref(float *y, const float *x, const float *w, int M, int cin, int cout);
void conv1x1_backward_ref(float *dx, float *dw, const float *dy, const float *x, const float *w,
			  int M, int cin, int cout, int accum);
void depthwise_forward_ref(float *y, const float *x, const float *w, const struct dw_shape *s);
void depthwise_backward_ref(float *dx, float *dw, const float *dy, const float *x, const float *w,
			    const struct dw_shape *s, int accum);
#endif
