/* nn_act.c — activations forward and backward. See nn_act.h. */
/* Full vectorisation (-O2 vectorises only the cheapest loops); the Makefile stays at -O2.
 * no-trapping-math lets GCC turn LeakyReLU's select into vector code (nothing here reads the
 * floating-point exception flags). */
#pragma GCC optimize("O3", "no-trapping-math")
#include "engine/nn_act.h"

#include <math.h>
#include <stdint.h>
#include <omp.h>

float sigmoidf(float x)
{
	return 1.0f / (1.0f + expf(-x));
}

/* This thread's share [*i0, *i1) of n elements (call inside a parallel region). */
static void thread_range(size_t n, size_t *i0, size_t *i1)
{
	size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
	*i0 = n * t / nt;
	*i1 = n * (t + 1) / nt;
}

/* Loops written so that GCC vectorises them: every load unconditional, selects only. */
static void relu6_fwd(float *restrict y, const float *restrict x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		v = v > 0.0f ? v : 0.0f;
		y[i] = v < 6.0f ? v : 6.0f;
	}
}

static void leaky_fwd(float *restrict y, const float *restrict x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		y[i] = v * (LEAKY_SLOPE + (1.0f - LEAKY_SLOPE) * (float)(v > 0.0f)); /* 1 or 0.01 exactly */
	}
}

static void swish_fwd(float *restrict y, const float *restrict x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] / (1.0f + expf(-x[i]));
}

/* d = act'(x)·dy into dx: written (keep 0) or added (keep 1, a separate loop). */
#define BWD_BODY(expr)                                        \
	do {                                                  \
		if (keep)                                     \
			for (size_t i = 0; i < n; i++) {      \
				float v = x[i], g = dy[i];    \
				dx[i] += (expr);              \
			}                                     \
		else                                          \
			for (size_t i = 0; i < n; i++) {      \
				float v = x[i], g = dy[i];    \
				dx[i] = (expr);               \
			}                                     \
	} while (0)

static void relu6_bwd(float *restrict dx, const float *restrict dy, const float *restrict x,
		      size_t n, int keep)
{
	BWD_BODY((v > 0.0f) & (v < 6.0f) ? g : 0.0f);
}

static void leaky_bwd(float *restrict dx, const float *restrict dy, const float *restrict x,
		      size_t n, int keep)
{
	BWD_BODY(g * (LEAKY_SLOPE + (1.0f - LEAKY_SLOPE) * (float)(v > 0.0f)));
}

static void swish_bwd(float *restrict dx, const float *restrict dy, const float *restrict x,
		      size_t n, int keep)
{
	BWD_BODY(g * (1.0f / (1.0f + expf(-v))) * (1.0f + v * (1.0f - 1.0f / (1.0f + expf(-v)))));
}

void act_forward(enum act a, float *restrict y, const float *restrict x, size_t n)
{
	#pragma omp parallel
	{
		size_t i0, i1;
		thread_range(n, &i0, &i1);
		if (a == ACT_RELU6)
			relu6_fwd(y + i0, x + i0, i1 - i0);
		else if (a == ACT_LEAKYRELU)
			leaky_fwd(y + i0, x + i0, i1 - i0);
		else
			swish_fwd(y + i0, x + i0, i1 - i0);
	}
}

void act_backward(enum act a, float *restrict dx, const float *restrict dy,
		  const float *restrict x, size_t n, int accum)
{
	const int keep = accum;
	#pragma omp parallel
	{
		size_t i0, i1;
		thread_range(n, &i0, &i1);
		if (a == ACT_RELU6)
			relu6_bwd(dx + i0, dy + i0, x + i0, i1 - i0, keep);
		else if (a == ACT_LEAKYRELU)
			leaky_bwd(dx + i0, dy + i0, x + i0, i1 - i0, keep);
		else
			swish_bwd(dx + i0, dy + i0, x + i0, i1 - i0, keep);
	}
}

/* ---- the activation applied to BN's affine output, one row of C channels (nn_bn.c fuses them);
 * also compiled for AVX2 + FMA, chosen at load time where the CPU has them */

/* e^x written so that GCC vectorises it (libm's expf is a call per element): x = n·ln2 + r with
 * |r| <= ln2/2, e^r by its degree-6 Taylor polynomial (truncation below 1.2e-7 relative), 2^n
 * put straight into the exponent bits. NaN stays NaN.
 * x is clamped to [-87, EXP_VEC_MAX]. Below -87, 2^n would not be a normal float. Above, the
 * bound is what swish (the only user) needs, and low on purpose: GCC's vector loops compute
 * each branch of the clamp for every lane, and with a bound of 88 swish's branch is
 * v / (1 + e^88), a subnormal for any |v| < 2 that costs a microcode assist per vector (on an
 * Intel Xeon, one core: 11 ns an element, 20 times LeakyReLU; 1.1 ns with 20). With 20 no
 * lane's branch is subnormal unless |v| < 6e-30, and swish and its derivative at v < -20, both
 * below 4.2e-8 in magnitude there, are off by at most |v|·2.1e-9. */
#define EXP_VEC_MAX 20.0f

static inline float exp_vec(float x)
{
	const float round_bias = 12582912.0f; /* 1.5·2^23: adding it rounds to an integer */
	x = x < -87.0f ? -87.0f : x;
	x = x > EXP_VEC_MAX ? EXP_VEC_MAX : x;
	float t = x * 1.44269504f + round_bias; /* n = round(x / ln2) sits in t's low bits */
	float n = t - round_bias;
	float r = x - n * 0.693145752f;         /* ln2, high part (exact product) */
	r -= n * 1.42860677e-6f;                /* ln2, low part */
	float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.66666667e-1f + r * (4.16666667e-2f +
		  r * (8.33333333e-3f + r * 1.38888889e-3f)))));
	union { float f; int32_t i; } bits = {.f = t}, scale;
	scale.i = (bits.i - 0x4B400000 + 127) << 23; /* 0x4B400000: round_bias's bits; 2^n */
	return p * scale.f;
}

__attribute__((target_clones("arch=x86-64-v3", "default")))
void act_affine_forward_row(enum act a, float *restrict y, const float *restrict x,
			    const float *restrict scale, const float *restrict shift, int C)
{
	if (a == ACT_RELU6)
		for (int c = 0; c < C; c++) {
			float v = x[c] * scale[c] + shift[c];
			v = v > 0.0f ? v : 0.0f;
			y[c] = v < 6.0f ? v : 6.0f;
		}
	else if (a == ACT_LEAKYRELU)
		for (int c = 0; c < C; c++) {
			float v = x[c] * scale[c] + shift[c], neg = LEAKY_SLOPE * v;
			y[c] = v > 0.0f ? v : neg;
		}
	else
		for (int c = 0; c < C; c++) {
			float v = x[c] * scale[c] + shift[c];
			y[c] = v / (1.0f + exp_vec(-v));
		}
}

__attribute__((target_clones("arch=x86-64-v3", "default")))
void act_affine_backward_row(enum act a, float *restrict dy, const float *restrict x,
			     const float *restrict scale, const float *restrict shift, int C)
{
	if (a == ACT_RELU6)
		for (int c = 0; c < C; c++) {
			float v = x[c] * scale[c] + shift[c];
			dy[c] = (v > 0.0f) & (v < 6.0f) ? dy[c] : 0.0f;
		}
	else if (a == ACT_LEAKYRELU)
		for (int c = 0; c < C; c++) {
			float v = x[c] * scale[c] + shift[c], g = dy[c], neg = LEAKY_SLOPE * g;
			dy[c] = v > 0.0f ? g : neg;
		}
	else
		for (int c = 0; c < C; c++) {
			float v = x[c] * scale[c] + shift[c], s = 1.0f / (1.0f + exp_vec(-v));
			dy[c] *= s * (1.0f + v * (1.0f - s));
		}
}
