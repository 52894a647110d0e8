/* nn_conv.c — pointwise (GEMM) and depthwise convolutions, NHWC. See nn_conv.h. */
/* Full vectorisation (-O2 vectorises only the cheapest loops); the Makefile stays at -O2.
 * fp-contract=fast lets a*b + c become one fused multiply-add on CPUs that have it (-std=c11
 * turns contraction off; the sums then differ from the plain loops' by rounding only). */
#pragma GCC optimize("O3", "fp-contract=fast")
#include "engine/nn_conv.h"
#include "engine/dw_avx512.h"
#include "engine/gemm_amx.h"
#include "engine/sgemm_small.h"
#include "core/util.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

static enum gemm_precision precision = GEMM_FP32;

int gemm_set_precision(enum gemm_precision p, char *err, size_t errlen)
{
	if (p == GEMM_BF16 && !gemm_amx_ready())
		return fail(err, errlen, "bf16 GEMMs need AMX-BF16 tiles, which this CPU (or its "
			    "kernel) does not give: use fp32");
	precision = p;
	return 0;
}

enum gemm_precision gemm_get_precision(void)
{
	return precision;
}

int gemm_precision_parse(const char *s, enum gemm_precision *p)
{
	if (!strcmp(s, "fp32"))
		*p = GEMM_FP32;
	else if (!strcmp(s, "bf16"))
		*p = GEMM_BF16;
	else
		return -1;
	return 0;
}

const char *gemm_precision_name(enum gemm_precision p)
{
	return p == GEMM_BF16 ? "bf16" : "fp32";
}

/* Widest C of a product over a transposed A (the conv1x1 weight gradient dyᵀ·x, summed over the
 * pixels) that sgemm_small takes: measured on a Zen 3 at M = 6400 to 25600 pixels, it beat
 * OpenBLAS by 1.3 to 1.5x up to 32 input channels and lost by 10 to 20% from 64 up (it reads Aᵀ
 * a cache line per pixel where OpenBLAS packs it first). */
#define SMALL_TRANS_A_MAX_N 32

/* Whether the AMX tiles take C[M][N] (+)= op(A)·B in bf16: sums of 16 products and more (the
 * tiles sum 32 at a time: fewer leave most of them zeros), and for the weight gradient (trans_a)
 * at least 1024 outputs; below, at 3 or 16 channels, the GEMM runs at the memory's speed in fp32
 * already and the packing only adds to it (measured at 80x80x16, batch 32). */
static int amx_pays(int trans_a, int M, int N, int K, float beta)
{
	if (trans_a)
		return beta == 0 && (long)M * N >= 1024;
	return (beta == 0 || beta == 1) && K >= 16;
}

/* Rows [r0, r1) of C[M][N] = op(A)[M][K] · op(B)[K][N] + beta·C on this thread: in bf16 on AMX
 * tiles when the precision is bf16, B is not transposed (the conv1x1 shapes) and amx_pays; else
 * sgemm_small where the CPU has it and B is not transposed (no packing, C written once),
 * otherwise single-threaded OpenBLAS (one thread pool in the process: net_set_threads keeps
 * OpenBLAS at one thread so its workers never compete with OpenMP's). */
static void gemm_part(int trans_a, int trans_b, int r0, int r1, int N, int K, const float *A,
		      int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
	if (r1 <= r0)
		return;
	const float *a = trans_a ? A + r0 : A + (size_t)r0 * lda;
	float *c = C + (size_t)r0 * ldc;
	if (precision == GEMM_BF16 && !trans_b && amx_pays(trans_a, r1 - r0, N, K, beta)) {
		if (trans_a)
			gemm_amx_tn(r1 - r0, N, K, a, lda, B, ldb, c, ldc);
		else
			gemm_amx_nn(r1 - r0, N, K, a, lda, B, ldb, c, ldc, beta == 1);
		return;
	}
	if (!trans_b && (!trans_a || N <= SMALL_TRANS_A_MAX_N) && (beta == 0 || beta == 1) &&
	    sgemm_small_available()) {
		sgemm_small(r1 - r0, N, K, a, trans_a ? 1 : (size_t)lda, trans_a ? (size_t)lda : 1,
			    B, (size_t)ldb, c, (size_t)ldc, beta == 1);
		return;
	}
	cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
		    trans_b ? CblasTrans : CblasNoTrans, r1 - r0, N, K, 1.0f, a, lda, B, ldb, beta,
		    c, ldc);
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

/* y[M][cout] = x[M][cin] · w[cout][cin]ᵀ; with sgemm_small and scratch, through wᵀ [cin][cout]
 * written into the scratch first (sgemm_small reads B row by row). */
void conv1x1_forward(float *y, const float *x, const float *w, int M, int cin, int cout,
		     const struct pw_work *work)
{
	if (!work || !sgemm_small_available()) {
		gemm_rows(0, 1, M, cout, cin, x, cin, w, cin, 0.0f, y, cout);
		return;
	}
	float *wt = work->buf;
	for (int o = 0; o < cout; o++)
		for (int i = 0; i < cin; i++)
			wt[(size_t)i * cout + o] = w[(size_t)o * cin + i];
	gemm_rows(0, 0, M, cout, cin, x, cin, wt, cout, 0.0f, y, cout);
}

size_t pw_work_floats(int cin, int cout, int threads)
{
	return (size_t)cin * cout * (threads > 1 ? threads - 1 : 1);
}

/* dw[cout][cin] = dy[M][cout]ᵀ · x[M][cin], thread t summing pixels [M·t/nt, M·(t+1)/nt) into
 * dw (t = 0) or its part of work, then the parts added into dw. */
static void weight_grad_split_pixels(float *dw, const float *dy, const float *x, int M, int cin,
				     int cout, const struct pw_work *work)
{
	const size_t len = (size_t)cout * cin;
	#pragma omp parallel
	{
		int t = omp_get_thread_num(), nt = omp_get_num_threads();
		int m0 = (int)((long)M * t / nt), m1 = (int)((long)M * (t + 1) / nt);
		float *dst = t == 0 ? dw : work->buf + (size_t)(t - 1) * len;
		gemm_part(1, 0, 0, cout, cin, m1 - m0, dy + (size_t)m0 * cout, cout,
			  x + (size_t)m0 * cin, cin, 0.0f, dst, cin);
		#pragma omp barrier
		#pragma omp for schedule(static)
		for (size_t i = 0; i < len; i++)
			for (int u = 1; u < nt; u++)
				dw[i] += work->buf[(size_t)(u - 1) * len + i];
	}
}

/* dw[cout][cin] = dyᵀ · x;  dx[M][cin] (+)= dy[M][cout] · w[cout][cin] */
void conv1x1_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
		      int M, int cin, int cout, int accum, const struct pw_work *work)
{
	int threads = omp_get_max_threads();
	if (work && threads > 1 && threads <= work->threads && M >= 64 * threads)
		weight_grad_split_pixels(dw, dy, x, M, cin, cout, work);
	else
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

void conv1x1_backward_ref(float *dx, float *dw, const float *dy, const float *x, const float *w,
			  int M, int cin, int cout, int accum)
{
	for (int o = 0; o < cout; o++)
		for (int i = 0; i < cin; i++) {
			float s = 0;
			for (int m = 0; m < M; m++)
				s += dy[(size_t)m * cout + o] * x[(size_t)m * cin + i];
			dw[(size_t)o * cin + i] = s;
		}
	if (!dx)
		return;
	for (int m = 0; m < M; m++)
		for (int i = 0; i < cin; i++) {
			float s = 0;
			for (int o = 0; o < cout; o++)
				s += dy[(size_t)m * cout + o] * w[(size_t)o * cin + i];
			dx[(size_t)m * cin + i] = accum ? dx[(size_t)m * cin + i] + s : s;
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
 * Two families, both threaded over output rows (forward) or images (backward, each thread with
 * its own partial weight gradient, folded into dw at the end):
 *  - stride 1 with fewer than DW_REP_MAX_C channels: for one output row and one tap (ky, kx),
 *    the output pixels whose input is inside the image form a contiguous range [lo, hi), and
 *    y[ox][c] += x[ox + kx - pad][c]·w[ky][kx][c] is one flat loop over (ox, c) with the weights
 *    replicated along the row (wrep: [k·k][OW·C]), so it vectorises however few channels there
 *    are; the partial weight gradient is [k·k][OW·C] too;
 *  - everything else: register-blocked sums over lists of taps (taps_dot below), partial weight
 *    gradient [k·k][C].
 * The inner kernels are also compiled for AVX2 + FMA (x86-64-v3), chosen at load time where the
 * CPU has them. On CPUs with AVX-512, over a multiple of 16 channels, stride 1 at 3x3, 5x5 and
 * 7x7 (the forward, and the input gradient where it is the forward over dy), the input gradient
 * at larger strides and the 3x3 and 5x5 weight gradient go to dw_avx512.c instead: the
 * convolutions threaded over images, each padded with zeros into a per-thread scratch, and
 * every sum made in the same order, so the results do not depend on which ran. */

/* work->buf: [per] the replicated or turned weights, [threads][per] partial weight gradients,
 * then [threads][padded] an image padded for dw_avx512 (x's for the forward, dy's for the input
 * gradient: padded holds the largest). */
static size_t dw_work_per(const struct dw_shape *s)
{
	return (size_t)s->k * s->k * s->OW * s->C;
}

static size_t dw_work_padded(const struct dw_shape *s)
{
	size_t in = (size_t)(s->H + 2 * s->pad) * (s->W + 2 * s->pad) * s->C;
	int pad_dy = s->k - 1 - s->pad; /* the input gradient's padding at stride 1 (sflip) */
	size_t dy = (size_t)(s->OH + 2 * pad_dy) * (s->OW + 2 * pad_dy) * s->C;
	struct dw_margins m; /* and at larger strides */
	dw_avx512_dx_margins(s, &m);
	size_t dys = (size_t)(m.top + s->OH + m.bottom) * (m.left + s->OW + m.right) * s->C;
	size_t most = in > dy ? in : dy;
	return most > dys ? most : dys;
}

size_t dw_work_floats(const struct dw_shape *s, int threads)
{
	return dw_work_per(s) * (1 + (size_t)threads) + dw_work_padded(s) * (size_t)threads;
}

/* Thread t's padded image in work (shape s: the op's own, also for its input gradient). */
static float *dw_work_image(const struct dw_work *work, const struct dw_shape *s, int t)
{
	return work->buf + dw_work_per(s) * (1 + (size_t)work->threads) +
	       dw_work_padded(s) * (size_t)t;
}

/* xp = image n of x ([N][H][W][C]) with m's zero pixels around it:
 * [top + H + bottom][left + W + right][C]. */
static void dw_pad_image(float *restrict xp, const float *restrict x, int H, int W, int C, int n,
			 const struct dw_margins *m)
{
	const size_t row = (size_t)W * C, left = (size_t)m->left * C, right = (size_t)m->right * C;
	const size_t prow = left + row + right;
	memset(xp, 0, sizeof(float) * prow * m->top);
	for (int iy = 0; iy < H; iy++) {
		float *d = xp + (size_t)(iy + m->top) * prow;
		memset(d, 0, sizeof(float) * left);
		memcpy(d + left, x + ((size_t)n * H + iy) * row, sizeof(float) * row);
		memset(d + left + row, 0, sizeof(float) * right);
	}
	memset(xp + (size_t)(H + m->top) * prow, 0, sizeof(float) * prow * m->bottom);
}

/* Images [n0, n1) of y (+)= the depthwise convolution of x, with dw_avx512 (dw_avx512_fits(s)),
 * each image padded into xp first. */
static void dw_images_avx512(float *y, const float *x, const float *w, const struct dw_shape *s,
			     int n0, int n1, float *xp, int add)
{
	const struct dw_margins m = {s->pad, s->pad, s->pad, s->pad};
	for (int n = n0; n < n1; n++) {
		dw_pad_image(xp, x, s->H, s->W, s->C, n, &m);
		dw_avx512_image(y + (size_t)n * s->OH * s->OW * s->C, xp, w, s, add);
	}
}

/* The input gradient of image n at stride 2 and more with dw_avx512 (dw_avx512_dx_fits(s)), dy's
 * image padded into dyp first. */
static void dw_dx_avx512(float *dx, const float *dy, const float *w, const struct dw_shape *s,
			 int n, float *dyp, int add)
{
	struct dw_margins m;
	dw_avx512_dx_margins(s, &m);
	dw_pad_image(dyp, dy, s->OH, s->OW, s->C, n, &m);
	dw_avx512_dx_image(dx + (size_t)n * s->H * s->W * s->C, dyp, w, s, add);
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

/* ---- register-blocked depthwise (every stride; stride 1 from DW_REP_MAX_C channels up) ----
 * Each sum is a short list of pairs of channel vectors: y[ox] = Σ_taps x·w (forward),
 * dx[ix] = Σ_taps dy·w and dw[tap] += Σ_ox x·dy (backward). taps_dot adds a list up with the
 * channel vectors held in registers, so each product costs two loads and no store. */
#define DW_MAX_TAPS 225 /* 15 x 15, arch.h's largest kernel */
#define DW_REP_MAX_C 32 /* stride 1 below this many channels: the replicated-weight kernels */
#define DW_PIXELS 64    /* output pixels per list in the weight gradient */

/* 8 floats at any float-aligned address, allowed to alias float arrays: *(vec8 *)p reads or
 * writes p[0..7] as one vector. */
typedef float vec8 __attribute__((vector_size(32), aligned(4), may_alias));

/* out[c0 .. c0 + 8·nv) = Σ_i a[aoff[i] + c]·b[boff[i] + c], written (add 0) or added (add 1),
 * nv (1 to 4) vectors of 8 channels summed side by side in registers. */
static inline __attribute__((always_inline)) void
taps_dot_vectors(float *restrict out, const float *restrict a, const size_t *aoff,
		 const float *restrict b, const size_t *boff, int n, int c0, int add, int nv)
{
	vec8 s[4] = {{0}};
	for (int i = 0; i < n; i++) {
		const float *pa = a + aoff[i] + c0, *pb = b + boff[i] + c0;
		for (int v = 0; v < nv; v++)
			s[v] += *(const vec8 *)(pa + 8 * v) * *(const vec8 *)(pb + 8 * v);
	}
	for (int v = 0; v < nv; v++) {
		if (add)
			s[v] += *(const vec8 *)(out + c0 + 8 * v);
		*(vec8 *)(out + c0 + 8 * v) = s[v];
	}
}

/* 8 ints, lane masks for vec8: -1 where a lane is taken, 0 where it is not. */
typedef int vec8i __attribute__((vector_size(32), aligned(4), may_alias));

/* The last channels [done, C) of taps_dot when C >= 8 is not a multiple of 8: the vector of
 * channels [C - 8, C), its lanes below done (already summed) kept as they are. Each lane's sum
 * is the scalar loop's, product by product. */
static inline __attribute__((always_inline)) void
taps_dot_tail(float *restrict out, const float *restrict a, const size_t *aoff,
	      const float *restrict b, const size_t *boff, int n, int C, int done, int add)
{
	const int c0 = C - 8;
	vec8 s = {0};
	for (int i = 0; i < n; i++)
		s += *(const vec8 *)(a + aoff[i] + c0) * *(const vec8 *)(b + boff[i] + c0);
	vec8 o = *(const vec8 *)(out + c0);
	if (add)
		s += o;
	const vec8i lane = {0, 1, 2, 3, 4, 5, 6, 7};
	vec8i keep = lane < done - c0;
	*(vec8i *)(out + c0) = (*(const vec8i *)&o & keep) | (*(const vec8i *)&s & ~keep);
}

/* out[c] = Σ_i a[aoff[i] + c]·b[boff[i] + c] for c in [0, C), written (add 0) or added (add 1):
 * 32 channels at a time (four independent sums keep the multiply-adds flowing), then 16 and 8;
 * the last C % 8 in the vector of the last 8 channels (taps_dot_tail), or one at a time below 8
 * channels. */
__attribute__((target_clones("arch=x86-64-v3", "default")))
static void taps_dot(float *restrict out, const float *restrict a, const size_t *aoff,
		     const float *restrict b, const size_t *boff, int n, int C, int add)
{
	int c = 0;
	for (; c + 32 <= C; c += 32)
		taps_dot_vectors(out, a, aoff, b, boff, n, c, add, 4);
	for (; c + 16 <= C; c += 16)
		taps_dot_vectors(out, a, aoff, b, boff, n, c, add, 2);
	for (; c + 8 <= C; c += 8)
		taps_dot_vectors(out, a, aoff, b, boff, n, c, add, 1);
	if (c < C && C >= 8) {
		taps_dot_tail(out, a, aoff, b, boff, n, C, c, add);
		return;
	}
	for (; c < C; c++) {
		float s = 0;
		for (int i = 0; i < n; i++)
			s += a[aoff[i] + c] * b[boff[i] + c];
		out[c] = add ? out[c] + s : s;
	}
}

/* The taps of output pixel (n, oy, ox) that fall inside the image: offsets into x and w. */
static int taps_of_output(const struct dw_shape *s, int n, int oy, int ox, size_t *xoff,
			  size_t *woff)
{
	int nt = 0;
	for (int ky = 0; ky < s->k; ky++) {
		int iy = oy * s->stride - s->pad + ky;
		if (iy < 0 || iy >= s->H)
			continue;
		for (int kx = 0; kx < s->k; kx++) {
			int ix = ox * s->stride - s->pad + kx;
			if (ix < 0 || ix >= s->W)
				continue;
			xoff[nt] = (((size_t)n * s->H + iy) * s->W + ix) * s->C;
			woff[nt++] = ((size_t)ky * s->k + kx) * s->C;
		}
	}
	return nt;
}

/* The taps through which input pixel (n, iy, ix) reaches an output: offsets into dy and w.
 * Tap ky reaches output row oy = (iy + pad - ky) / stride when that divides exactly, so the taps
 * step by stride from the first that does, and each step is one output row further up. */
static int taps_of_input(const struct dw_shape *s, int n, int iy, int ix, size_t *dyoff,
			 size_t *woff)
{
	const int st = s->stride, ky0 = (iy + s->pad) % st, kx0 = (ix + s->pad) % st;
	int nt = 0;
	for (int ky = ky0, oy = (iy + s->pad - ky0) / st; ky < s->k && oy >= 0; ky += st, oy--) {
		if (oy >= s->OH)
			continue;
		for (int kx = kx0, ox = (ix + s->pad - kx0) / st; kx < s->k && ox >= 0;
		     kx += st, ox--) {
			if (ox >= s->OW)
				continue;
			dyoff[nt] = (((size_t)n * s->OH + oy) * s->OW + ox) * s->C;
			woff[nt++] = ((size_t)ky * s->k + kx) * s->C;
		}
	}
	return nt;
}

/* One output row (n, oy): y[ox][c] = Σ_taps x·w. */
static void dw_row_forward(float *yrow, const float *x, const float *w, const struct dw_shape *s,
			   int n, int oy)
{
	size_t xoff[DW_MAX_TAPS], woff[DW_MAX_TAPS];
	for (int ox = 0; ox < s->OW; ox++) {
		int nt = taps_of_output(s, n, oy, ox, xoff, woff);
		taps_dot(yrow + (size_t)ox * s->C, x, xoff, w, woff, nt, s->C, 0);
	}
}

/* Input gradient of image n: dx[iy][ix][c] (+)= Σ_taps dy·w. */
static void dw_image_backward_dx(float *dx, const float *dy, const float *w,
				 const struct dw_shape *s, int n, int accum)
{
	size_t dyoff[DW_MAX_TAPS], woff[DW_MAX_TAPS];
	for (int iy = 0; iy < s->H; iy++)
		for (int ix = 0; ix < s->W; ix++) {
			int nt = taps_of_input(s, n, iy, ix, dyoff, woff);
			float *out = dx + (((size_t)n * s->H + iy) * s->W + ix) * s->C;
			taps_dot(out, dy, dyoff, w, woff, nt, s->C, accum);
		}
}

/* Weight gradient of image n, added into part[k·k][C]: Σ_{oy, ox} x·dy per tap. */
static void dw_image_backward_dw(float *part, const float *dy, const float *x,
				 const struct dw_shape *s, int n)
{
	size_t xoff[DW_PIXELS], dyoff[DW_PIXELS];
	for (int oy = 0; oy < s->OH; oy++)
		for (int ky = 0; ky < s->k; ky++) {
			int iy = oy * s->stride - s->pad + ky;
			if (iy < 0 || iy >= s->H)
				continue;
			for (int kx = 0; kx < s->k; kx++) {
				int lo, hi;
				ox_range(s, kx, &lo, &hi);
				for (int o0 = lo; o0 < hi; o0 += DW_PIXELS) {
					int m = hi - o0 < DW_PIXELS ? hi - o0 : DW_PIXELS;
					for (int j = 0; j < m; j++) {
						int ox = o0 + j, ix = ox * s->stride - s->pad + kx;
						xoff[j] = (((size_t)n * s->H + iy) * s->W + ix) * s->C;
						dyoff[j] = (((size_t)n * s->OH + oy) * s->OW + ox) * s->C;
					}
					float *p = part + ((size_t)ky * s->k + kx) * s->C;
					taps_dot(p, x, xoff, dy, dyoff, m, s->C, 1);
				}
			}
		}
}

/* ---- pixel-blocked depthwise (channels a multiple of 8, every stride) ----
 * For the output pixels whose taps all lie inside the row (the interior), DW_BLOCK pixels of one
 * 8-channel vector are summed side by side in registers: each tap's weight vector is loaded once
 * for the block, so a multiply-add costs one load instead of the tap lists' two (and no list is
 * built). The border pixels go through the tap lists. The input gradient at stride 1 is the
 * same sum over dy with the kernel flipped (dw_flip). */
#define DW_BLOCK 8  /* output pixels per block */
#define DW_GROUP 32 /* channels per group (a block of 7x7 taps at stride 1 reads 12 KiB) */

/* Output columns [*lo, *hi) all of whose k taps fall inside [0, W). */
static void interior_range(const struct dw_shape *s, int *lo, int *hi)
{
	int l = (s->pad + s->stride - 1) / s->stride;
	int h = s->W - s->k + s->pad < 0 ? 0 : (s->W - s->k + s->pad) / s->stride + 1;
	*lo = l < s->OW ? l : s->OW;
	*hi = h < s->OW ? h : s->OW;
	if (*hi < *lo)
		*hi = *lo;
}

/* yrow[ox0 + j][c0 .. c0 + 8) (+)= Σ_taps x·w for j < r (r a constant where inlined), the
 * pixels inside the interior. */
static inline __attribute__((always_inline)) void
dw_block(float *restrict yrow, const float *restrict x, const float *restrict w,
	 const struct dw_shape *s, int n, int oy, int ox0, int c0, int r, int add)
{
	const int C = s->C, k = s->k, st = s->stride;
	vec8 acc[DW_BLOCK];
	for (int j = 0; j < r; j++)
		acc[j] = (vec8){0};
	for (int ky = 0; ky < k; ky++) {
		int iy = oy * st - s->pad + ky;
		if (iy < 0 || iy >= s->H)
			continue;
		const float *xr = x + (((size_t)n * s->H + iy) * s->W + (size_t)(ox0 * st - s->pad)) * C + c0;
		const float *wr = w + (size_t)ky * k * C + c0;
		for (int kx = 0; kx < k; kx++) {
			vec8 wv = *(const vec8 *)(wr + (size_t)kx * C);
			const float *xk = xr + (size_t)kx * C;
			for (int j = 0; j < r; j++)
				acc[j] += *(const vec8 *)(xk + (size_t)j * st * C) * wv;
		}
	}
	for (int j = 0; j < r; j++) {
		float *p = yrow + (size_t)(ox0 + j) * C + c0;
		if (add)
			acc[j] += *(const vec8 *)p;
		*(vec8 *)p = acc[j];
	}
}

/* One output row (n, oy), C a multiple of 8: y[ox][c] (+)= Σ_taps x·w. */
__attribute__((target_clones("arch=x86-64-v3", "default")))
static void dw_row_blocked(float *yrow, const float *x, const float *w, const struct dw_shape *s,
			   int n, int oy, int add)
{
	size_t xoff[DW_MAX_TAPS], woff[DW_MAX_TAPS];
	int lo, hi;
	interior_range(s, &lo, &hi);
	for (int ox = 0; ox < s->OW; ox++) {
		if (ox == lo)
			ox = hi;
		if (ox >= s->OW)
			break;
		int nt = taps_of_output(s, n, oy, ox, xoff, woff);
		taps_dot(yrow + (size_t)ox * s->C, x, xoff, w, woff, nt, s->C, add);
	}
	/* channel groups of DW_GROUP outer, then pixel blocks, then the group's vectors: a
	 * block's input (k rows of DW_BLOCK·stride + k pixels of the group) stays in L1 */
	for (int g0 = 0; g0 < s->C; g0 += DW_GROUP) {
		int g1 = g0 + DW_GROUP < s->C ? g0 + DW_GROUP : s->C;
		int ox = lo;
		for (; ox + DW_BLOCK <= hi; ox += DW_BLOCK)
			for (int c0 = g0; c0 < g1; c0 += 8)
				dw_block(yrow, x, w, s, n, oy, ox, c0, DW_BLOCK, add);
		for (; ox + 4 <= hi; ox += 4)
			for (int c0 = g0; c0 < g1; c0 += 8)
				dw_block(yrow, x, w, s, n, oy, ox, c0, 4, add);
		for (; ox < hi; ox++)
			for (int c0 = g0; c0 < g1; c0 += 8)
				dw_block(yrow, x, w, s, n, oy, ox, c0, 1, add);
	}
}

/* ---- pixel-blocked weight gradient (channels a multiple of 8, kernels 3 and 5) ----
 * dw[ky][kx][c] = Σ_{oy, ox} x[iy][ox·stride - pad + kx][c]·dy[oy][ox][c] for one pair of rows
 * (iy = oy·stride - pad + ky): the k taps of a row summed side by side in registers, so each
 * output pixel's dy vector is loaded once for k multiply-adds (the tap lists load both operands
 * of every product). The rows of x and dy stay in L1 while the channel vectors are swept. */
#define DW_GRAD_MAX_K 5

/* part[kx][c0 .. c0 + 8·nv) += Σ_ox xr[ox·stride - pad + kx]·g[ox] for kx < K; K and nv
 * constants where inlined. xr, g: the input row iy and the output row oy of dy. Columns
 * [lo, hi) have all their taps inside the row; the others check each tap. */
static inline __attribute__((always_inline)) void
dw_grad_rows(float *restrict part, const float *restrict xr, const float *restrict g,
	     const struct dw_shape *s, int lo, int hi, int c0, int K, int nv)
{
	const int C = s->C, st = s->stride;
	vec8 acc[DW_GRAD_MAX_K][2];
	for (int kx = 0; kx < K; kx++)
		for (int v = 0; v < nv; v++)
			acc[kx][v] = (vec8){0};
	for (int ox = lo; ox < hi; ox++) {
		const float *gp = g + (size_t)ox * C + c0;
		const float *xp = xr + (size_t)(ox * st - s->pad) * C + c0;
		vec8 gv[2];
		for (int v = 0; v < nv; v++)
			gv[v] = *(const vec8 *)(gp + 8 * v);
		for (int kx = 0; kx < K; kx++)
			for (int v = 0; v < nv; v++)
				acc[kx][v] += *(const vec8 *)(xp + (size_t)kx * C + 8 * v) * gv[v];
	}
	for (int ox = 0; ox < s->OW; ox++) {
		if (ox == lo)
			ox = hi;
		if (ox >= s->OW)
			break;
		for (int kx = 0; kx < K; kx++) {
			int ix = ox * st - s->pad + kx;
			if (ix < 0 || ix >= s->W)
				continue;
			for (int v = 0; v < nv; v++)
				acc[kx][v] += *(const vec8 *)(xr + (size_t)ix * C + c0 + 8 * v) *
					      *(const vec8 *)(g + (size_t)ox * C + c0 + 8 * v);
		}
	}
	for (int kx = 0; kx < K; kx++)
		for (int v = 0; v < nv; v++)
			*(vec8 *)(part + (size_t)kx * C + c0 + 8 * v) += acc[kx][v];
}

/* One row pair over all channels (dw_grad_row_fn): two vectors at a time, then one. */
static inline __attribute__((always_inline)) void
dw_grad_rows_k(float *part, const float *xr, const float *g, const struct dw_shape *s, int lo,
	       int hi, int K)
{
	int c0 = 0;
	for (; c0 + 16 <= s->C; c0 += 16)
		dw_grad_rows(part, xr, g, s, lo, hi, c0, K, 2);
	for (; c0 < s->C; c0 += 8)
		dw_grad_rows(part, xr, g, s, lo, hi, c0, K, 1);
}

__attribute__((target_clones("arch=x86-64-v3", "default")))
static void dw_grad_row8(float *part, const float *xr, const float *g, const struct dw_shape *s,
			 int lo, int hi)
{
	if (s->k == 3)
		dw_grad_rows_k(part, xr, g, s, lo, hi, 3);
	else
		dw_grad_rows_k(part, xr, g, s, lo, hi, 5);
}

/* Measured single-threaded on a Zen 3 over lmanet-elite's shapes at 160x160 (batch 32): 10 to
 * 25% faster than the tap lists at 3x3 and 5x5; not at 7x7 (7 sums of one vector, and on 10x10
 * maps most pixels are on the border), which keeps the tap lists. */
static int dw_grad_blocked_fits(const struct dw_shape *s)
{
	return s->C % 8 == 0 && (s->k == 3 || s->k == 5);
}

/* Weight gradient of image n, added into part[k·k][C] (dw_grad_blocked_fits(s)): each pair of
 * rows (output row oy of dy, input row iy = oy·stride - pad + ky) summed by row into part's row
 * ky (dw_grad_row8, or dw_avx512_grad_row in 16 lanes where it fits). */
static void dw_image_grad_blocked(float *part, const float *dy, const float *x,
				  const struct dw_shape *s, int n, dw_grad_row_fn *row)
{
	int lo, hi;
	interior_range(s, &lo, &hi);
	for (int oy = 0; oy < s->OH; oy++)
		for (int ky = 0; ky < s->k; ky++) {
			int iy = oy * s->stride - s->pad + ky;
			if (iy < 0 || iy >= s->H)
				continue;
			const float *xr = x + ((size_t)n * s->H + iy) * s->W * s->C;
			const float *g = dy + ((size_t)n * s->OH + oy) * s->OW * s->C;
			row(part + (size_t)ky * s->k * s->C, xr, g, s, lo, hi);
		}
}

/* The weight gradient of image n into part[k·k][C]: blocked where it fits, else tap lists. */
static void dw_image_weight_grad(float *part, const float *dy, const float *x,
				 const struct dw_shape *s, int n)
{
	if (dw_avx512_grad_fits(s))
		dw_image_grad_blocked(part, dy, x, s, n, dw_avx512_grad_row);
	else if (dw_grad_blocked_fits(s))
		dw_image_grad_blocked(part, dy, x, s, n, dw_grad_row8);
	else
		dw_image_backward_dw(part, dy, x, s, n);
}

/* ---- strided depthwise over fewer than 8 channels (the first layer's 3 input channels) ----
 * Too few channels for a vector and, with a stride, no flat row to vectorise along: plain sums
 * with the channel count a constant, so the channel loop unrolls and no tap list is built. */
#define DW_SMALL_C 8

static inline __attribute__((always_inline)) void
dw_row_small_c(float *restrict yrow, const float *restrict x, const float *restrict w,
	       const struct dw_shape *s, int n, int oy, int C)
{
	for (int ox = 0; ox < s->OW; ox++) {
		float acc[DW_SMALL_C] = {0};
		for (int ky = 0; ky < s->k; ky++) {
			int iy = oy * s->stride - s->pad + ky;
			if (iy < 0 || iy >= s->H)
				continue;
			for (int kx = 0; kx < s->k; kx++) {
				int ix = ox * s->stride - s->pad + kx;
				if (ix < 0 || ix >= s->W)
					continue;
				const float *xp = x + (((size_t)n * s->H + iy) * s->W + ix) * C;
				const float *wp = w + ((size_t)ky * s->k + kx) * C;
				for (int c = 0; c < C; c++)
					acc[c] += xp[c] * wp[c];
			}
		}
		for (int c = 0; c < C; c++)
			yrow[(size_t)ox * C + c] = acc[c];
	}
}

/* Backward of image n: dx (already zeroed or to be added to) += Σ w·dy, part[k·k][C] += Σ x·dy. */
static inline __attribute__((always_inline)) void
dw_image_backward_small_c(float *restrict dx, float *restrict part, const float *restrict dy,
			  const float *restrict x, const float *restrict w,
			  const struct dw_shape *s, int n, int C)
{
	for (int oy = 0; oy < s->OH; oy++)
		for (int ox = 0; ox < s->OW; ox++) {
			const float *g = dy + (((size_t)n * s->OH + oy) * s->OW + ox) * C;
			for (int ky = 0; ky < s->k; ky++) {
				int iy = oy * s->stride - s->pad + ky;
				if (iy < 0 || iy >= s->H)
					continue;
				for (int kx = 0; kx < s->k; kx++) {
					int ix = ox * s->stride - s->pad + kx;
					if (ix < 0 || ix >= s->W)
						continue;
					size_t xo = (((size_t)n * s->H + iy) * s->W + ix) * C;
					size_t t = ((size_t)ky * s->k + kx) * C;
					for (int c = 0; c < C; c++)
						part[t + c] += x[xo + c] * g[c];
					if (dx)
						for (int c = 0; c < C; c++)
							dx[xo + c] += w[t + c] * g[c];
				}
			}
		}
}

/* The two above with C (1 to 7) a constant. */
static void dw_row_small_switch(float *yrow, const float *x, const float *w,
				const struct dw_shape *s, int n, int oy)
{
	switch (s->C) {
	case 1: dw_row_small_c(yrow, x, w, s, n, oy, 1); break;
	case 2: dw_row_small_c(yrow, x, w, s, n, oy, 2); break;
	case 3: dw_row_small_c(yrow, x, w, s, n, oy, 3); break;
	case 4: dw_row_small_c(yrow, x, w, s, n, oy, 4); break;
	default: dw_row_small_c(yrow, x, w, s, n, oy, s->C); break;
	}
}

static void dw_image_backward_small_switch(float *dx, float *part, const float *dy,
					   const float *x, const float *w,
					   const struct dw_shape *s, int n)
{
	switch (s->C) {
	case 1: dw_image_backward_small_c(dx, part, dy, x, w, s, n, 1); break;
	case 2: dw_image_backward_small_c(dx, part, dy, x, w, s, n, 2); break;
	case 3: dw_image_backward_small_c(dx, part, dy, x, w, s, n, 3); break;
	case 4: dw_image_backward_small_c(dx, part, dy, x, w, s, n, 4); break;
	default: dw_image_backward_small_c(dx, part, dy, x, w, s, n, s->C); break;
	}
}

/* Whether the pixel blocks beat the tap lists on s: measured single-threaded on a Zen 3 over
 * the shapes of lmanet-elite (batch 32, 10x10 to 80x80), they were 1.3 to 1.9x faster up to 64
 * channels and at 7x7 stride 1, even at 5x5 from 96 channels up, and 1.5 to 2x slower at 3x3
 * with 144 channels or more (the tap lists read each pixel's channels as one stream). */
static int dw_blocked_wins(const struct dw_shape *s)
{
	return s->C % 8 == 0 && (s->C <= 64 || (s->k >= 7 && s->stride == 1));
}

/* The kernel turned by 180 degrees: wf[ky][kx][c] = w[k-1-ky][k-1-kx][c]. */
static void dw_flip(float *wf, const float *w, const struct dw_shape *s)
{
	const int k = s->k;
	for (int t = 0; t < k * k; t++)
		memcpy(wf + (size_t)t * s->C, w + (size_t)(k * k - 1 - t) * s->C,
		       sizeof(float) * s->C);
}

/* ---- stride 1, few channels: weights replicated along the row ---- */

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
	if (s->k * s->k > DW_MAX_TAPS) {
		depthwise_forward_ref(y, x, w, s);
		return;
	}
	const int rows = s->N * s->OH;
	if (dw_avx512_fits(s) && work && omp_get_max_threads() <= work->threads &&
	    s->N >= omp_get_max_threads()) {
		#pragma omp parallel
		{
			int t = omp_get_thread_num(), nt = omp_get_num_threads();
			dw_images_avx512(y, x, w, s, s->N * t / nt, s->N * (t + 1) / nt,
					 dw_work_image(work, s, t), 0);
		}
		return;
	}
	if (dw_blocked_wins(s)) {
		#pragma omp parallel for schedule(static)
		for (int r = 0; r < rows; r++)
			dw_row_blocked(y + (size_t)r * s->OW * s->C, x, w, s, r / s->OH, r % s->OH, 0);
		return;
	}
	if (s->stride > 1 && s->C < DW_SMALL_C) {
		#pragma omp parallel for schedule(static)
		for (int r = 0; r < rows; r++)
			dw_row_small_switch(y + (size_t)r * s->OW * s->C, x, w, s, r / s->OH,
					    r % s->OH);
		return;
	}
	const int rep = work && s->stride == 1 && s->C < DW_REP_MAX_C;
	if (rep)
		build_wrep(work->buf, w, s);
	#pragma omp parallel for schedule(static)
	for (int r = 0; r < rows; r++) {
		int n = r / s->OH, oy = r % s->OH;
		float *yrow = y + (size_t)r * s->OW * s->C;
		if (rep)
			dw_row_forward_s1(yrow, x, work->buf, s, n, oy);
		else
			dw_row_forward(yrow, x, w, s, n, oy);
	}
}

/* Backward of image n, stride 1 with replicated weights:
 * dx += Σ w·dy, part[k·k][OW·C] += Σ x·dy. */
__attribute__((target_clones("arch=x86-64-v3", "default")))
static void dw_image_backward_rep(float *dx, float *restrict part, const float *dy,
				  const float *x, const float *wrep, const struct dw_shape *s, int n)
{
	const int C = s->C, k = s->k;
	const size_t owc = (size_t)s->OW * C;
	for (int oy = 0; oy < s->OH; oy++) {
		const float *restrict g = dy + ((size_t)n * s->OH + oy) * owc;
		for (int ky = 0; ky < k; ky++) {
			int iy = oy - s->pad + ky;
			if (iy < 0 || iy >= s->H)
				continue;
			size_t rowoff = ((size_t)n * s->H + iy) * s->W * C;
			const float *restrict xrow = x + rowoff;
			float *restrict dxrow = dx ? dx + rowoff : NULL;
			for (int kx = 0; kx < k; kx++) {
				int lo, hi, t = ky * k + kx;
				ox_range(s, kx, &lo, &hi);
				const long shift = (long)(kx - s->pad) * C;
				const float *restrict wr = wrep + t * owc;
				float *restrict p = part + t * owc;
				for (long j = (long)lo * C; j < (long)hi * C; j++)
					p[j] += xrow[j + shift] * g[j];
				if (dxrow)
					for (long j = (long)lo * C; j < (long)hi * C; j++)
						dxrow[j + shift] += wr[j] * g[j];
			}
		}
	}
}

void depthwise_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
			const struct dw_shape *s, int accum, const struct dw_work *work)
{
	/* no scratch, or room for fewer threads than will run, or a kernel beyond the tap lists */
	if (!work || omp_get_max_threads() > work->threads || s->k * s->k > DW_MAX_TAPS) {
		depthwise_backward_ref(dx, dw, dy, x, w, s, accum);
		return;
	}
	const int C = s->C, kk = s->k * s->k;
	/* stride 1 where the pixel blocks win: dx is the forward over dy with the flipped kernel
	 * (sflip: dy's shape in, x's out, padding k-1-pad) */
	const int flip = s->stride == 1 && dw_blocked_wins(s);
	const int rep = !flip && s->stride == 1 && C < DW_REP_MAX_C;
	const int small = s->stride > 1 && C < DW_SMALL_C;
	const size_t owc = (size_t)s->OW * C, per = (size_t)kk * owc;
	const size_t part_len = rep ? per : (size_t)kk * C;
	struct dw_shape sflip = {.N = s->N, .H = s->OH, .W = s->OW, .C = C, .OH = s->H,
				 .OW = s->W, .k = s->k, .stride = 1, .pad = s->k - 1 - s->pad};
	if (rep)
		build_wrep(work->buf, w, s);
	if (flip)
		dw_flip(work->buf, w, s);
	const size_t img = (size_t)s->H * s->W * C;
	#pragma omp parallel
	{
		int t = omp_get_thread_num(), nt = omp_get_num_threads();
		float *part = work->buf + per * (1 + (size_t)t);
		memset(part, 0, sizeof(float) * part_len);
		int n0 = s->N * t / nt, n1 = s->N * (t + 1) / nt;
		for (int n = n0; n < n1; n++) {
			if (small) {
				if (dx && !accum)
					memset(dx + n * img, 0, sizeof(float) * img);
				dw_image_backward_small_switch(dx, part, dy, x, w, s, n);
				continue;
			}
			if (flip) {
				if (dx && dw_avx512_fits(&sflip))
					dw_images_avx512(dx, dy, work->buf, &sflip, n, n + 1,
							 dw_work_image(work, s, t), accum);
				else
					for (int iy = 0; dx && iy < s->H; iy++)
						dw_row_blocked(dx + ((size_t)n * s->H + iy) * s->W * C,
							       dy, work->buf, &sflip, n, iy, accum);
				dw_image_weight_grad(part, dy, x, s, n);
				continue;
			}
			if (!rep) {
				if (dx && dw_avx512_dx_fits(s))
					dw_dx_avx512(dx, dy, w, s, n, dw_work_image(work, s, t), accum);
				else if (dx)
					dw_image_backward_dx(dx, dy, w, s, n, accum);
				dw_image_weight_grad(part, dy, x, s, n);
				continue;
			}
			if (dx && !accum)
				memset(dx + n * img, 0, sizeof(float) * img);
			dw_image_backward_rep(dx, part, dy, x, work->buf, s, n);
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
