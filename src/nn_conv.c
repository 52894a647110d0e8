/* nn_conv.c — pointwise (GEMM) and depthwise convolutions, NHWC. See nn_conv.h. */
/* Full vectorisation (-O2 vectorises only the cheapest loops); the Makefile stays at -O2. */
#pragma GCC optimize("O3")
#include "nn_conv.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

/* C[M][N] = op(A)[M][K] · op(B)[K][N] + beta·C, split by rows of C across the OpenMP threads,
 * each calling single-threaded OpenBLAS (one thread pool in the process: net_set_threads keeps
 * OpenBLAS at one thread so its workers never compete with OpenMP's). */
static void gemm_part(int trans_a, int trans_b, int r0, int r1, int N, int K, const float *A,
		      int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
	if (r1 > r0)
		cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
			    trans_b ? CblasTrans : CblasNoTrans, r1 - r0, N, K, 1.0f,
			    trans_a ? A + r0 : A + (size_t)r0 * lda, lda, B, ldb, beta,
			    C + (size_t)r0 * ldc, ldc);
}

/* Parallel regions always use the whole team (never num_threads(k) with a varying k: libgomp
 * allocates a new team each time the size changes); small problems run serially instead. */
void gemm_rows(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda,
	       const float *B, int ldb, float beta, float *C, int ldc)
{
	int threads = omp_get_max_threads();
	if (threads == 1 || M < 8 * threads || (long)M * N * K < 200000) {
		gemm_part(trans_a, trans_b, 0, M, N, K, A, lda, B, ldb, beta, C, ldc);
		return;
	}
	#pragma omp parallel
	{
		int t = omp_get_thread_num(), nt = omp_get_num_threads();
		int step = (M + nt - 1) / nt;
		step = (step + 7) / 8 * 8;
		int r0 = t * step < M ? t * step : M, r1 = r0 + step < M ? r0 + step : M;
		gemm_part(trans_a, trans_b, r0, r1, N, K, A, lda, B, ldb, beta, C, ldc);
	}
}

/* y[M][cout] = x[M][cin] · w[cout][cin]ᵀ */
void conv1x1_forward(float *y, const float *x, const float *w, int M, int cin, int cout)
{
	gemm_rows(0, 1, M, cout, cin, x, cin, w, cin, 0.0f, y, cout);
}

/* dw[cout][cin] = dyᵀ · x;  dx[M][cin] (+)= dy[M][cout] · w[cout][cin] */
void conv1x1_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
		      int M, int cin, int cout, int accum)
{
	gemm_rows(1, 0, cout, cin, M, dy, cout, x, cin, 0.0f, dw, cin);
	if (dx)
		gemm_rows(0, 0, M, cin, cout, dy, cout, w, cin, accum ? 1.0f : 0.0f, dx, cin);
}

void conv1x1_forward_ref(float *y, const float *x, const float *w, int M, int cin, int cout)
{
	for (int m = 0; m < M; m++)
		for (int o = 0; o < cout; o++) {
			float s = 0;
			for (int i = 0; i < cin; i++)
				s += x[(size_t)m * cin + i] * w[(size_t)o * cin + i];
			y[(size_t)m * cout + o] = s;
		}
}

/* Channels are split into chunks of DW_CHUNK so that two threads never write the same cache line
 * of dx or dw; within a chunk the inner loop runs over contiguous channels and vectorises. */
#define DW_CHUNK 32

/* One output row (n, oy) for channels [c0, c1). */
__attribute__((target_clones("arch=x86-64-v3", "default")))
static void dw_row_forward(float *restrict yrow, const float *restrict x,
			   const float *restrict w, const struct dw_shape *s, int n, int oy,
			   int c0, int c1)
{
	const int C = s->C, k = s->k;
	for (int ox = 0; ox < s->OW; ox++) {
		float *restrict yo = yrow + (size_t)ox * C;
		for (int c = c0; c < c1; c++)
			yo[c] = 0;
		for (int ky = 0; ky < k; ky++) {
			int iy = oy * s->stride - s->pad + ky;
			if (iy < 0 || iy >= s->H)
				continue;
			const float *xr = x + ((size_t)n * s->H + iy) * s->W * C;
			for (int kx = 0; kx < k; kx++) {
				int ix = ox * s->stride - s->pad + kx;
				if (ix < 0 || ix >= s->W)
					continue;
				const float *restrict xi = xr + (size_t)ix * C;
				const float *restrict wk = w + ((size_t)ky * k + kx) * C;
				for (int c = c0; c < c1; c++)
					yo[c] += xi[c] * wk[c];
			}
		}
	}
}

/* Backward for channels [c0, c1) over the whole batch: dx (+)= Σ w·dy, dw = Σ x·dy. */
static void dw_backward_chunk(float *restrict dx, float *restrict dw, const float *restrict dy,
			      const float *restrict x, const float *restrict w,
			      const struct dw_shape *s, int accum, int c0, int c1)
{
	const int C = s->C, k = s->k;
	for (int t = 0; t < k * k; t++)
		for (int c = c0; c < c1; c++)
			dw[(size_t)t * C + c] = 0;
	if (dx && !accum)
		for (size_t p = 0; p < (size_t)s->N * s->H * s->W; p++)
			for (int c = c0; c < c1; c++)
				dx[p * C + c] = 0;
	for (int n = 0; n < s->N; n++)
		for (int oy = 0; oy < s->OH; oy++)
			for (int ox = 0; ox < s->OW; ox++) {
				const float *restrict g =
					dy + (((size_t)n * s->OH + oy) * s->OW + ox) * C;
				for (int ky = 0; ky < k; ky++) {
					int iy = oy * s->stride - s->pad + ky;
					if (iy < 0 || iy >= s->H)
						continue;
					for (int kx = 0; kx < k; kx++) {
						int ix = ox * s->stride - s->pad + kx;
						if (ix < 0 || ix >= s->W)
							continue;
						size_t xo = (((size_t)n * s->H + iy) * s->W + ix) * C;
						size_t wo = ((size_t)ky * k + kx) * C;
						const float *restrict xi = x + xo;
						float *restrict dwk = dw + wo;
						for (int c = c0; c < c1; c++)
							dwk[c] += xi[c] * g[c];
						if (dx) {
							float *restrict dxi = dx + xo;
							const float *restrict wk = w + wo;
							for (int c = c0; c < c1; c++)
								dxi[c] += wk[c] * g[c];
						}
					}
				}
			}
}

void depthwise_forward_ref(float *y, const float *x, const float *w, const struct dw_shape *s)
{
	for (int n = 0; n < s->N; n++)
		for (int oy = 0; oy < s->OH; oy++)
			for (int ox = 0; ox < s->OW; ox++)
				for (int c = 0; c < s->C; c++) {
					float acc = 0;
					for (int ky = 0; ky < s->k; ky++)
						for (int kx = 0; kx < s->k; kx++) {
							int iy = oy * s->stride - s->pad + ky;
							int ix = ox * s->stride - s->pad + kx;
							if (iy < 0 || iy >= s->H || ix < 0 || ix >= s->W)
								continue;
							acc += x[(((size_t)n * s->H + iy) * s->W + ix) * s->C + c] *
							       w[((size_t)ky * s->k + kx) * s->C + c];
						}
					y[(((size_t)n * s->OH + oy) * s->OW + ox) * s->C + c] = acc;
				}
}

void depthwise_backward_ref(float *dx, float *dw, const float *dy, const float *x, const float *w,
			    const struct dw_shape *s, int accum)
{
	dw_backward_chunk(dx, dw, dy, x, w, s, accum, 0, s->C);
}

/* ---- fast depthwise ----
 * Stride 1: for one output row and one tap (ky, kx), the output pixels whose input is inside the
 * image form a contiguous range [lo, hi), and y[ox][c] += x[ox + kx - pad][c]·w[ky][kx][c] is one
 * flat loop over (ox, c) with the weights replicated along the row (wrep: [k·k][OW·C]), so it
 * vectorises whatever C is. Stride 2 loops over ox, then c. The backward runs images in
 * parallel, each thread with its own partial weight gradient (also [k·k][OW·C] for stride 1 and
 * fewer than 64 channels, [k·k][C] otherwise), folded into dw at the end.
 * The row kernels are also compiled for AVX2 + FMA (x86-64-v3), chosen at load time where the
 * CPU has them. */

size_t dw_work_floats(const struct dw_shape *s, int threads)
{
	size_t per = (size_t)s->k * s->k * s->OW * s->C;
	return per * (1 + (size_t)threads);
}

/* Output columns [lo, hi) whose input column ox·stride - pad + kx lies in [0, W). */
static void ox_range(const struct dw_shape *s, int kx, int *lo, int *hi)
{
	int off = kx - s->pad;
	int l = off < 0 ? (-off + s->stride - 1) / s->stride : 0;
	int h = s->W - 1 - off < 0 ? 0 : (s->W - 1 - off) / s->stride + 1;
	*lo = l;
	*hi = h < s->OW ? h : s->OW;
}

static void build_wrep(float *wrep, const float *w, const struct dw_shape *s)
{
	size_t owc = (size_t)s->OW * s->C;
	for (int t = 0; t < s->k * s->k; t++)
		for (int ox = 0; ox < s->OW; ox++)
			memcpy(wrep + t * owc + (size_t)ox * s->C, w + (size_t)t * s->C,
			       sizeof(float) * s->C);
}

__attribute__((target_clones("arch=x86-64-v3", "default")))
static void dw_row_forward_s1(float *restrict yrow, const float *restrict x,
			      const float *restrict wrep, const struct dw_shape *s, int n, int oy)
{
	const int C = s->C, k = s->k;
	const size_t owc = (size_t)s->OW * C;
	memset(yrow, 0, sizeof(float) * owc);
	for (int ky = 0; ky < k; ky++) {
		int iy = oy - s->pad + ky;
		if (iy < 0 || iy >= s->H)
			continue;
		const float *restrict xrow = x + ((size_t)n * s->H + iy) * s->W * C;
		for (int kx = 0; kx < k; kx++) {
			int lo, hi;
			ox_range(s, kx, &lo, &hi);
			const long shift = (long)(kx - s->pad) * C;
			const float *restrict wr = wrep + ((size_t)ky * k + kx) * owc;
			for (long j = (long)lo * C; j < (long)hi * C; j++)
				yrow[j] += xrow[j + shift] * wr[j];
		}
	}
}

void depthwise_forward(float *y, const float *x, const float *w, const struct dw_shape *s,
		       const struct dw_work *work)
{
	const int rows = s->N * s->OH;
	const int fast = work && s->stride == 1;
	if (fast)
		build_wrep(work->buf, w, s);
	#pragma omp parallel for schedule(static)
	for (int r = 0; r < rows; r++) {
		int n = r / s->OH, oy = r % s->OH;
		float *yrow = y + (size_t)r * s->OW * s->C;
		if (fast)
			dw_row_forward_s1(yrow, x, work->buf, s, n, oy);
		else
			dw_row_forward(yrow, x, w, s, n, oy, 0, s->C);
	}
}

/* Backward of image n: dx (+)= Σ w·dy, partial dw += Σ x·dy (part: [k·k][OW·C] for stride 1
 * with wrep, [k·k][C] otherwise). */
__attribute__((target_clones("arch=x86-64-v3", "default")))
static void dw_image_backward(float *dx, float *restrict part, const float *dy, const float *x,
			      const float *w, const float *wrep, const struct dw_shape *s, int n)
{
	const int C = s->C, k = s->k;
	const size_t owc = (size_t)s->OW * C;
	for (int oy = 0; oy < s->OH; oy++) {
		const float *restrict g = dy + ((size_t)n * s->OH + oy) * owc;
		for (int ky = 0; ky < k; ky++) {
			int iy = oy * s->stride - s->pad + ky;
			if (iy < 0 || iy >= s->H)
				continue;
			size_t rowoff = ((size_t)n * s->H + iy) * s->W * C;
			const float *restrict xrow = x + rowoff;
			float *restrict dxrow = dx ? dx + rowoff : NULL;
			for (int kx = 0; kx < k; kx++) {
				int lo, hi, t = ky * k + kx;
				ox_range(s, kx, &lo, &hi);
				if (wrep) {
					const long shift = (long)(kx - s->pad) * C;
					const float *restrict wr = wrep + t * owc;
					float *restrict p = part + t * owc;
					for (long j = (long)lo * C; j < (long)hi * C; j++)
						p[j] += xrow[j + shift] * g[j];
					if (dxrow)
						for (long j = (long)lo * C; j < (long)hi * C; j++)
							dxrow[j + shift] += wr[j] * g[j];
					continue;
				}
				const float *restrict wk = w + (size_t)t * C;
				float *restrict p = part + (size_t)t * C;
				for (int ox = lo; ox < hi; ox++) {
					int ix = ox * s->stride - s->pad + kx;
					const float *restrict xi = xrow + (size_t)ix * C;
					const float *restrict gi = g + (size_t)ox * C;
					for (int c = 0; c < C; c++)
						p[c] += xi[c] * gi[c];
					if (dxrow) {
						float *restrict di = dxrow + (size_t)ix * C;
						for (int c = 0; c < C; c++)
							di[c] += wk[c] * gi[c];
					}
				}
			}
		}
	}
}

void depthwise_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
			const struct dw_shape *s, int accum, const struct dw_work *work)
{
	if (!work) {
		depthwise_backward_ref(dx, dw, dy, x, w, s, accum);
		return;
	}
	const int C = s->C, kk = s->k * s->k;
	/* replicated weights and partials pay off for few channels; with many, the [k·k][C]
	 * partial stays in cache while the [k·k][OW·C] one would not */
	const int rep = s->stride == 1 && C < 64;
	const size_t owc = (size_t)s->OW * C, per = (size_t)kk * owc;
	const size_t part_len = rep ? per : (size_t)kk * C;
	if (omp_get_max_threads() > work->threads) { /* more threads than scratch: plain */
		depthwise_backward_ref(dx, dw, dy, x, w, s, accum);
		return;
	}
	if (rep)
		build_wrep(work->buf, w, s);
	const size_t img = (size_t)s->H * s->W * C;
	#pragma omp parallel
	{
		int t = omp_get_thread_num(), nt = omp_get_num_threads();
		float *part = work->buf + per * (1 + (size_t)t);
		memset(part, 0, sizeof(float) * part_len);
		int n0 = s->N * t / nt, n1 = s->N * (t + 1) / nt;
		for (int n = n0; n < n1; n++) {
			if (dx && !accum)
				memset(dx + n * img, 0, sizeof(float) * img);
			dw_image_backward(dx, part, dy, x, w, rep ? work->buf : NULL, s, n);
		}
		#pragma omp barrier
		/* fold: dw[t][c] = Σ_threads Σ_ox part[t][ox][c] */
		#pragma omp for schedule(static)
		for (int tap = 0; tap < kk; tap++) {
			float *restrict d = dw + (size_t)tap * C;
			for (int c = 0; c < C; c++)
				d[c] = 0;
			for (int u = 0; u < nt; u++) {
				const float *p = work->buf + per * (1 + (size_t)u);
				if (rep) {
					for (int ox = 0; ox < s->OW; ox++)
						for (int c = 0; c < C; c++)
							d[c] += p[tap * owc + (size_t)ox * C + c];
				} else {
					for (int c = 0; c < C; c++)
						d[c] += p[(size_t)tap * C + c];
				}
			}
		}
	}
}
