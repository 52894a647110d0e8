/* test_int8_dsp.c — the DSP kernels of int8_dsp.h (their intrinsics as plain C on the host) are
 * bit-exact with the plain kernels of int8_ref.h: pointwise and depthwise over random shapes,
 * zero points at both ends, every kernel size and stride, in place and not; the residual add and
 * SE scale likewise. */
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "t.h"
#include "int8/int8_dsp.h"
#include "int8/quant.h"

/* Whether every channel of rq takes the kernels' fast requantisation. */
static int rq_all_fast(const struct lmq_rq *rq, int32_t cout)
{
	for (int32_t o = 0; o < cout; o++)
		if (!lmq_rq_fast_ok(rq->mult[o], rq->shift[o]))
			return 0;
	return 1;
}

static uint64_t lcg = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
	lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(lcg >> 33);
}

static int8_t rnd8(void)
{
	return (int8_t)(rnd() % 256 - 128);
}

/* The instructions' semantics, on values whose result is known. */
static void test_intrinsics(void)
{
	T_CHECK(lmq_sxtb16(0x12FF3480u) == 0xFFFFFF80u, "SXTB16 {0x80, 0xFF} = {-128, -1}");
	T_CHECK(lmq_sxtab16(0x0001FFFFu, 0x007F0080u) == 0x0080FF7Fu,
		"SXTAB16 {-1, 1} + {-128, 127} = {-129, 128}");
	T_CHECK(lmq_smlad(0xFF01007Fu, 0x0002FF81u, 10) == 10 + 127 * -127 + -255 * 2,
		"SMLAD 10 + 127*-127 + -255*2");
	T_CHECK(lmq_smlad(lmq_sxtab16(lmq_zp_pair(127), 0x00800080u), 0x00800080u, 0) ==
			2 * -255 * 128, "x - x_zp reaches -255 without overflow");
}

/* Per-channel requantisation with random parameters; lut when with_lut. fast: every channel
 * on the kernels' fast path (right shifts 1..LMQ_RQ_FAST_MAX_E, multipliers up to 2^31 - 1),
 * else mostly right shifts and every 5th a left shift (a scale above 1), the general path. */
struct rq_store {
	int32_t bias[64], mult[64];
	int8_t shift[64], lut[256];
	struct lmq_rq rq;
};

static int make_rq(struct rq_store *s, int cout, int with_lut, int fast)
{
	for (int o = 0; o < cout; o++) {
		int sh, e = 1 + (int)(rnd() % LMQ_RQ_FAST_MAX_E);
		s->bias[o] = o % 7 == 6 ? (o % 2 ? INT32_MAX - 5 : INT32_MIN + 5) /* saturates */
			   : o % 7 == 5 ? (o % 2 ? 1 : -1) * ((1 << 30) + (int32_t)(rnd() % 4001) - 2000)
				      : (int32_t)(rnd() % 40001) - 20000; /* 5: 2a saturates or not */
		if (fast) /* 2^-e times [0.5, 1), some just below 1 (mult 2^31 - 2) */
			quant_multiplier(ldexp(o % 3 == 0 ? 1 - 1e-9 : 0.5 + rnd() % 1000 / 2000.0, -e),
					 &s->mult[o], &sh);
		else
			quant_multiplier(o % 5 == 4 ? 1 + rnd() % 300 / 100.0
						    : (rnd() % 1000 + 1) * 1e-5, &s->mult[o], &sh);
		s->shift[o] = (int8_t)sh;
	}
	for (int i = 0; i < 256; i++)
		s->lut[i] = rnd8();
	struct lmq_rq rq = {s->bias, s->mult, s->shift, (int32_t)(rnd() % 256) - 128, -128, 127,
			    with_lut ? s->lut : 0};
	if (rnd() % 3 == 0)
		rq.lo = rq.out_zp, rq.hi = 127; /* relu as clamping */
	s->rq = rq;
	return !fast || rq_all_fast(&s->rq, cout); /* 0: the fast parameters are not */
}

/* lmq_requant_dsp against lmq_requant, one output at a time, where the fast path is argued:
 * acc + bias near +-2^30 (where QADD a, a saturates) and +-2^31, multipliers in [2^30, 2^31)
 * and some below 2^30 or negative (not the fast path), every shift from left 3 to right 31,
 * zero points -128..127, relu-like clamps. */
static void test_requant(void)
{
	static const int32_t near[] = {0, 1 << 30, -(1 << 30), INT32_MAX, INT32_MIN, 1 << 29};
	int same = 1, fast = 0, n = 0;
	for (int t = 0; t < 200000; t++) {
		int32_t bias = 0, mult, acc = (int32_t)(rnd() % 200001) - 100000;
		int8_t shift = (int8_t)(3 - (int)(rnd() % 35));
		int8_t q1, q2;
		if (t % 4 != 3) /* acc + bias near a boundary */
			bias = lmq_sat32((int64_t)near[rnd() % 6] - acc + (int32_t)(rnd() % 2001) - 1000);
		mult = (int32_t)(rnd() % (1u << 30)); /* below 2^30: not the fast path */
		if (t % 16 == 14)
			mult = -mult;
		else if (t % 8 != 6)
			mult += 1 << 30;
		struct lmq_rq rq = {&bias, &mult, &shift, (int32_t)(rnd() % 256) - 128, -128, 127, 0};
		if (t % 3 == 0)
			rq.lo = rq.out_zp;
		q1 = lmq_requant(acc, &rq, 0);
		q2 = lmq_requant_dsp(acc, &rq, 0);
		same &= q1 == q2;
		fast += lmq_rq_fast_ok(mult, shift);
		n++;
	}
	T_CHECK(same && fast > n / 3, "requantisation: fast and general paths equal lmq_requant "
		"on %d cases (%d on the fast path), sums near +-2^30 and +-2^31", n, fast);
}

static void test_pw(void)
{
	enum { MAXN = 64 };
	static int8_t x[MAXN * MAXN], w[MAXN * MAXN], y1[MAXN * MAXN], y2[MAXN * MAXN];
	int same = 1, cases = 0, fastok = 1;
	for (int t = 0; t < 300; t++) {
		int np = 1 + (int)(rnd() % 9), cin = 1 + (int)(rnd() % MAXN);
		int cout = 1 + (int)(rnd() % MAXN);
		int32_t zp = t % 3 == 0 ? (t % 2 ? -128 : 127) : (int32_t)(rnd() % 256) - 128;
		struct rq_store s;
		for (int i = 0; i < np * cin; i++)
			x[i] = rnd8();
		for (int i = 0; i < cout * cin; i++)
			w[i] = t % 5 == 0 ? (int8_t)(i % 2 ? -127 : -128) : rnd8();
		fastok &= make_rq(&s, cout, t % 4 == 0, t % 2);
		/* unaligned on purpose: the DSP kernel reads words at any address */
		lmq_pw(x + 1, np, cin - 1 > 0 ? cin - 1 : 1, zp, w + 3, cout, &s.rq, y1);
		lmq_pw_dsp(x + 1, np, cin - 1 > 0 ? cin - 1 : 1, zp, w + 3, cout, &s.rq, y2);
		same &= !memcmp(y1, y2, (size_t)np * cout);
		cases++;
	}
	T_CHECK(same, "pointwise: DSP equals plain on %d random shapes (cin 1..63, odd cout, "
		"unaligned, zero points -128 and 127, lookup tables, fast and general requantisation)", cases);
	T_CHECK(fastok, "pointwise: half the cases on the fast requantisation path");
	{ /* a cin past the kernel's widening buffer: the one-output-at-a-time path */
		int np = 3, cin = LMQ_PW_BUF_CIN + 5, cout = 5;
		struct rq_store s;
		for (int i = 0; i < np * cin; i++)
			x[i] = rnd8();
		for (int i = 0; i < cout * cin; i++)
			w[i] = rnd8();
		make_rq(&s, cout, 0, 1);
		lmq_pw(x, np, cin, 3, w, cout, &s.rq, y1);
		lmq_pw_dsp(x, np, cin, 3, w, cout, &s.rq, y2);
		T_CHECK(!memcmp(y1, y2, (size_t)np * cout), "pointwise with cin %d > %d (no "
			"buffer): DSP equals plain", cin, LMQ_PW_BUF_CIN);
	}
}

static void test_dw(void)
{
	enum { MAXH = 12, MAXC = 11, MAXK = 9 };
	static int8_t x[MAXH * MAXH * MAXC], xi[MAXH * MAXH * MAXC], xd[MAXH * MAXH * MAXC];
	static int8_t w[MAXC * MAXK * MAXK], y1[MAXH * MAXH * MAXC], y2[MAXH * MAXH * MAXC];
	int8_t scratch[MAXH * MAXH];
	int same = 1, inplace = 1, cases = 0, fastok = 1;
	for (int t = 0; t < 200; t++) {
		int k = 1 + 2 * (int)(rnd() % 5), stride = 1 + (int)(rnd() % 2);
		int h = k + (int)(rnd() % (MAXH - k + 1)), wd = 1 + (int)(rnd() % MAXH);
		int c = 1 + (int)(rnd() % MAXC), pad = k / 2;
		int oh = (h + 2 * pad - k) / stride + 1, ow = (wd + 2 * pad - k) / stride + 1;
		int32_t zp = t % 3 == 0 ? (t % 2 ? -128 : 127) : (int32_t)(rnd() % 256) - 128;
		struct rq_store s;
		for (int i = 0; i < h * wd * c; i++)
			x[i] = xi[i] = xd[i] = rnd8();
		for (int i = 0; i < c * k * k; i++)
			w[i] = rnd8();
		fastok &= make_rq(&s, c, t % 4 == 0, t % 2);
		lmq_dw(x, h, wd, c, zp, w, k, stride, pad, oh, ow, &s.rq, y1, 0);
		lmq_dw_dsp(x, h, wd, c, zp, w, k, stride, pad, oh, ow, &s.rq, y2, 0);
		same &= !memcmp(y1, y2, (size_t)oh * ow * c);
		if (stride == 1) { /* in place with a scratch, as the planner places it */
			lmq_dw(xi, h, wd, c, zp, w, k, stride, pad, oh, ow, &s.rq, xi, scratch);
			lmq_dw_dsp(xd, h, wd, c, zp, w, k, stride, pad, oh, ow, &s.rq, xd, scratch);
			inplace &= !memcmp(xi, xd, (size_t)oh * ow * c) && !memcmp(xd, y1, (size_t)oh * ow * c);
		}
		cases++;
	}
	T_CHECK(same, "depthwise: DSP equals plain on %d random shapes (k 1..9, stride 1 and 2, "
		"borders, zero points -128 and 127)", cases);
	T_CHECK(fastok, "depthwise: half the cases on the fast requantisation path");
	T_CHECK(inplace, "depthwise in place with a scratch: DSP equals plain and out of place");
}

/* lmq_dwg_dsp on lmq_dwg_layout's weights against lmq_dw on the plain ones: channel counts with
 * every remainder mod 4, outputs from 1x1 to past LMQ_DWG_MAX_OUT (in place there: channel by
 * channel through the scratch), kernels 1..9, strides 1..3, unaligned input. */
static void test_dwg(void)
{
	enum { MAXH = 12, MAXC = 19, MAXK = 9 };
	static int8_t x[MAXH * MAXH * MAXC + 1], xi[MAXH * MAXH * MAXC], xd[MAXH * MAXH * MAXC];
	static int8_t w[MAXC * MAXK * MAXK], wg[MAXC * MAXK * MAXK];
	static int8_t y1[MAXH * MAXH * MAXC], y2[MAXH * MAXH * MAXC], scratch[MAXH * MAXH];
	int same = 1, inplace = 1, cases = 0, large = 0, rems[4] = {0, 0, 0, 0};
	for (int t = 0; t < 300; t++) {
		int k = 1 + 2 * (int)(rnd() % 5), stride = 1 + (int)(rnd() % 3);
		int h = 1 + (int)(rnd() % MAXH), wd = 1 + (int)(rnd() % MAXH);
		int c = 1 + (int)(rnd() % MAXC), pad = k / 2;
		int oh = (h + 2 * pad - k) / stride + 1, ow = (wd + 2 * pad - k) / stride + 1;
		int32_t zp = t % 3 == 0 ? (t % 2 ? -128 : 127) : (int32_t)(rnd() % 256) - 128;
		struct rq_store s;
		if (oh < 1 || ow < 1)
			continue;
		for (int i = 0; i < h * wd * c; i++)
			x[i + 1] = xi[i] = xd[i] = rnd8();
		for (int i = 0; i < c * k * k; i++)
			w[i] = t % 7 == 0 ? -128 : rnd8();
		lmq_dwg_layout(w, c, k, wg);
		make_rq(&s, c, t % 4 == 0, t % 2);
		lmq_dw(x + 1, h, wd, c, zp, w, k, stride, pad, oh, ow, &s.rq, y1, 0);
		lmq_dwg_dsp(x + 1, h, wd, c, zp, wg, k, stride, pad, oh, ow, &s.rq, y2, 0);
		same &= !memcmp(y1, y2, (size_t)oh * ow * c);
		if (oh <= h && ow <= wd) { /* in place, as the planner places it */
			lmq_dw(xi, h, wd, c, zp, w, k, stride, pad, oh, ow, &s.rq, xi, scratch);
			lmq_dwg_dsp(xd, h, wd, c, zp, wg, k, stride, pad, oh, ow, &s.rq, xd, scratch);
			inplace &= !memcmp(xi, xd, (size_t)oh * ow * c) &&
				   !memcmp(xd, y1, (size_t)oh * ow * c);
			large += oh * ow > LMQ_DWG_MAX_OUT;
		}
		rems[c % 4]++;
		cases++;
	}
	T_CHECK(same, "grouped depthwise: DSP on grouped weights equals plain on %d random shapes "
		"(c %% 4 = 0, 1, 2, 3: %d, %d, %d, %d cases; k 1..9, stride 1..3, unaligned)", cases,
		rems[0], rems[1], rems[2], rems[3]);
	T_CHECK(inplace && large > 5, "grouped depthwise in place equals plain (%d past the group "
		"buffer, through the scratch)", large);
}

/* A multiplier and shift of scale 2^-e times [0.5, 1) (e 0..31, the fast path), or, when
 * general, sometimes a scale above 1 (a left shift: the plain kernel). */
static void rnd_mult(int general, int32_t *mult, int8_t *shift)
{
	int sh;
	if (general && rnd() % 3 == 0)
		quant_multiplier(1 + rnd() % 300 / 100.0, mult, &sh);
	else
		quant_multiplier(ldexp(rnd() % 4 == 0 ? 1 - 1e-9 : 0.5 + rnd() % 1000 / 2000.0,
				       -(int)(rnd() % 32)), mult, &sh);
	*shift = (int8_t)(sh < -31 ? -31 : sh);
}

static int32_t rnd_zp(int t)
{
	return t % 3 == 0 ? (t % 2 ? -128 : 127) : (int32_t)(rnd() % 256) - 128;
}

static void test_add_scale(void)
{
	enum { MAXN = 300 };
	static int8_t a[MAXN], b[MAXN], y1[MAXN], y2[MAXN], g[MAXN];
	int add_same = 1, scale_same = 1, inplace = 1;
	for (int t = 0; t < 400; t++) {
		int n = 1 + (int)(rnd() % MAXN), c = 1 + (int)(rnd() % 17), np = 1 + n / c;
		int32_t mult[3], a_zp = rnd_zp(t), b_zp = rnd_zp(t + 1), y_zp = rnd_zp(t + 2);
		int8_t shift[3];
		for (int i = 0; i < 3; i++)
			rnd_mult(t % 2, &mult[i], &shift[i]);
		for (int i = 0; i < MAXN; i++)
			a[i] = rnd8(), b[i] = rnd8(), g[i] = rnd8();
		lmq_add(a, a_zp, b, b_zp, n, mult, shift, y_zp, y1);
		lmq_add_dsp(a, a_zp, b, b_zp, n, mult, shift, y_zp, y2);
		add_same &= !memcmp(y1, y2, (size_t)n);
		lmq_add_dsp(a, a_zp, b, b_zp, n, mult, shift, y_zp, b); /* in place, into b */
		inplace &= !memcmp(y1, b, (size_t)n);
		if (np * c > MAXN)
			np = MAXN / c;
		lmq_scale(a, np, c, a_zp, g, b_zp, mult[0], shift[0], y_zp, y1);
		lmq_scale_dsp(a, np, c, a_zp, g, b_zp, mult[0], shift[0], y_zp, y2);
		scale_same &= !memcmp(y1, y2, (size_t)np * c);
		lmq_scale_dsp(a, np, c, a_zp, g, b_zp, mult[0], shift[0], y_zp, a); /* in place */
		inplace &= !memcmp(y1, a, (size_t)np * c);
	}
	T_CHECK(add_same, "residual add: DSP equals plain on 400 random cases (right shifts 0..31, "
		"multipliers up to 2^31 - 2, left shifts, zero points -128 and 127)");
	T_CHECK(scale_same, "SE scale: DSP equals plain on 400 random cases");
	T_CHECK(inplace, "residual add and SE scale in place: DSP equals plain");
}

int main(void)
{
	test_intrinsics();
	test_requant();
	test_pw();
	test_dw();
	test_dwg();
	test_add_scale();
	return t_done();
}
