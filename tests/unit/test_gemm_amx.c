/* test_gemm_amx.c — the bf16 GEMMs on AMX tiles (engine/gemm_amx.h) against plain loops over
 * the same bf16-rounded operands, on shapes with every kind of edge: K below and across the
 * tiles' 32, N and P not multiples of 16 or 32, M not a multiple of 32, R across the chunks. */
#include "t.h"
#include "core/prng.h"
#include "engine/gemm_amx.h"
#include "engine/nn_conv.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

static float bits_float(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

/* Rounding to nearest with ties to even, the hardware's conversion. */
static void test_round(void)
{
	T_CHECK(gemm_amx_round(1.0f) == 1.0f, "1 stays 1");
	T_CHECK(gemm_amx_round(bits_float(0x3f808000u)) == 1.0f,
		"1 + 2^-8 (a tie) rounds to even: 1");
	T_CHECK(gemm_amx_round(bits_float(0x3f818000u)) == bits_float(0x3f820000u),
		"1 + 3·2^-8 (a tie) rounds to even: 1 + 2^-6");
	T_CHECK(gemm_amx_round(bits_float(0x3f808001u)) == bits_float(0x3f810000u),
		"just above a tie rounds up");
	T_CHECK(gemm_amx_round(-bits_float(0x3f807fffu)) == -1.0f, "just below a tie rounds down");
	T_CHECK(isinf(gemm_amx_round(INFINITY)) && isnan(gemm_amx_round(NAN)),
		"inf and NaN stay what they are");
	T_CHECK(gemm_amx_round(bits_float(0x7f7fffffu)) == INFINITY,
		"the largest float rounds up to inf, as bf16 has no larger number");
	T_CHECK(gemm_amx_round(bits_float(0x00400000u)) == 0.0f, "subnormals become zero");
}

static void fill(float *v, size_t n, struct prng *r)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (float)(2 * prng_unit(r) - 1);
}

/* |got - want| within fp32 rounding of a sum of k products of magnitude up to 1 */
static int close_enough(const float *got, const float *want, int rows, int cols, int ld, int k,
			double *worst)
{
	*worst = 0;
	for (int i = 0; i < rows; i++)
		for (int j = 0; j < cols; j++) {
			double e = fabs((double)got[(size_t)i * ld + j] - want[(size_t)i * ld + j]);
			if (!(e <= *worst))
				*worst = e;
		}
	return *worst <= 4e-7 * (k + 8);
}

static void check_nn(int M, int N, int K, int add, struct prng *r)
{
	const int lda = K + 3, ldb = N + 1, ldc = N + 2;
	float *A = calloc((size_t)M * lda + 1, sizeof *A), *B = calloc((size_t)K * ldb + 1, sizeof *B);
	float *C = calloc((size_t)M * ldc, sizeof *C), *W = calloc((size_t)M * ldc, sizeof *W);
	fill(A, (size_t)M * lda, r);
	fill(B, (size_t)K * ldb, r);
	fill(C, (size_t)M * ldc, r);
	memcpy(W, C, sizeof *C * (size_t)M * ldc);
	gemm_amx_nn(M, N, K, A, lda, B, ldb, C, ldc, add);
	gemm_amx_ref(0, M, N, K, A, lda, B, ldb, W, ldc, add);
	int pad_kept = 1; /* the columns between N and ldc are not C's */
	for (int i = 0; i < M; i++)
		for (int j = N; j < ldc; j++)
			pad_kept &= C[(size_t)i * ldc + j] == W[(size_t)i * ldc + j];
	double worst;
	int ok = close_enough(C, W, M, N, ldc, K, &worst);
	T_CHECK(ok && pad_kept,
		"nn M=%d N=%d K=%d %s: the rounded operands' product (worst %.2g)%s", M, N, K,
		add ? "added" : "written", worst, pad_kept ? "" : ", wrote past N");
	free(A), free(B), free(C), free(W);
}

static void check_tn(int P, int Q, int R, struct prng *r)
{
	const int lda = P + 5, ldb = Q + 1, ldc = Q + 3;
	float *A = calloc((size_t)R * lda + 1, sizeof *A), *B = calloc((size_t)R * ldb + 1, sizeof *B);
	float *C = calloc((size_t)P * ldc, sizeof *C), *W = calloc((size_t)P * ldc, sizeof *W);
	fill(A, (size_t)R * lda, r);
	fill(B, (size_t)R * ldb, r);
	gemm_amx_tn(P, Q, R, A, lda, B, ldb, C, ldc);
	gemm_amx_ref(1, P, Q, R, A, lda, B, ldb, W, ldc, 0);
	double worst;
	int ok = close_enough(C, W, P, Q, ldc, R, &worst);
	T_CHECK(ok,
		"tn P=%d Q=%d R=%d: the rounded operands' product (worst %.2g)", P, Q, R, worst);
	free(A), free(B), free(C), free(W);
}

/* The tiles multiply bf16, not fp32: an fp32 product differs by far more than the tolerance. */
static void check_rounds_operands(void)
{
	float a[32], b[32], c = 0, w = 0;
	for (int k = 0; k < 32; k++)
		a[k] = b[k] = 1 + 1.0f / 512; /* rounds to 1 in bf16 */
	gemm_amx_nn(1, 1, 32, a, 32, b, 1, &c, 1, 0);
	for (int k = 0; k < 32; k++)
		w += a[k] * b[k];
	T_CHECK(c == 32 && w > 32.1f, "operands are rounded to bf16: 32 x (1 + 2^-9)² gives 32 (%g)",
		c);
}

/* conv1x1 with gemm_set_precision(GEMM_BF16) on two threads: the forward, the input gradient
 * (added) and the weight gradient (pixels split over the threads) are the tiles' products of
 * the rounded operands; with fp32 again, sgemm_small's or OpenBLAS's (far closer to fp32). */
static void check_conv1x1(struct prng *r)
{
	enum { M = 300, CI = 48, CO = 40 };
	char err[256];
	static float x[M * CI], w[CO * CI], wt[CI * CO], y[M * CO], dy[M * CO], dx[M * CI];
	static float want_y[M * CO], want_dx[M * CI], dw[CO * CI], want_dw[CO * CI];
	fill(x, M * CI, r);
	fill(w, CO * CI, r);
	fill(dy, M * CO, r);
	fill(dx, M * CI, r);
	memcpy(want_dx, dx, sizeof dx);
	for (int o = 0; o < CO; o++)
		for (int i = 0; i < CI; i++)
			wt[i * CO + o] = w[o * CI + i];
	omp_set_num_threads(2);
	struct pw_work pw = {calloc(pw_work_floats(CI, CO, 2), sizeof(float)), 2};
	T_CHECK(gemm_set_precision(GEMM_BF16, err, sizeof err) == 0 &&
		gemm_get_precision() == GEMM_BF16, "gemm_set_precision(bf16) on a CPU with AMX");
	conv1x1_forward(y, x, w, M, CI, CO, &pw);
	conv1x1_backward(dx, dw, dy, x, w, M, CI, CO, 1, &pw);
	gemm_amx_ref(0, M, CO, CI, x, CI, wt, CO, want_y, CO, 0);
	gemm_amx_ref(0, M, CI, CO, dy, CO, w, CI, want_dx, CI, 1);
	gemm_amx_ref(1, CO, CI, M, dy, CO, x, CI, want_dw, CI, 0);
	double e1, e2, e3;
	int ok = close_enough(y, want_y, M, CO, CO, CI, &e1);
	ok &= close_enough(dx, want_dx, M, CI, CI, CO, &e2);
	ok &= close_enough(dw, want_dw, CO, CI, CI, M, &e3);
	T_CHECK(ok, "conv1x1 in bf16: forward, input and weight gradients are the tiles' (%.2g, %.2g, "
		"%.2g)", e1, e2, e3);
	gemm_set_precision(GEMM_FP32, err, sizeof err);
	conv1x1_forward(y, x, w, M, CI, CO, &pw);
	close_enough(y, want_y, M, CO, CO, CI, &e1);
	T_CHECK(e1 > 1e-4, "back in fp32 the forward is not the bf16 product (differs by %.2g)", e1);
	free(pw.buf);
}

int main(void)
{
	test_round();
	if (!gemm_amx_ready()) {
		t_skip_cpu("this CPU (or kernel) has no AMX-BF16 tiles: gemm_amx not run");
		return t_done();
	}
	struct prng r;
	prng_seed(&r, 7);
	static const int nn[][3] = {{1, 1, 1},    {31, 18, 3},   {32, 16, 16},  {64, 16, 32},
				    {100, 96, 48}, {33, 200, 70}, {77, 48, 144}, {40, 384, 384},
				    {300, 24, 96}};
	for (size_t i = 0; i < sizeof nn / sizeof nn[0]; i++)
		for (int add = 0; add < 2; add++)
			check_nn(nn[i][0], nn[i][1], nn[i][2], add, &r);
	static const int tn[][3] = {{1, 1, 1},     {16, 16, 31},  {18, 24, 512}, {96, 32, 513},
				    {48, 144, 1100}, {3, 16, 700}, {384, 128, 64}, {200, 40, 96}};
	for (size_t i = 0; i < sizeof tn / sizeof tn[0]; i++)
		check_tn(tn[i][0], tn[i][1], tn[i][2], &r);
	check_rounds_operands();
	check_conv1x1(&r);
	return t_done();
}
