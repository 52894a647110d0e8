/* int8_ref.h — the integer kernels of lmnas int8 inference (TFLite-style requantisation).
 *
 * This header is the single copy of the arithmetic: the host reference inference (int8_ref.c,
 * used by quantize and evaluate) and the code emit-c writes both call these functions, and emit-c
 * copies this file verbatim next to the generated model, so host and device results are
 * bit-identical by construction. Plain C99, no allocation, no I/O, no floating point.
 *
 * Conventions: activations int8 NHWC with a per-tensor zero point; weights int8 symmetric per
 * output channel; real = scale * (q - zero_point). A conv accumulates (x - x_zp) * w in int32,
 * adds the int32 bias and requantises per output channel with a Q31 multiplier and a shift:
 *   q = clamp(MultiplyByQuantizedMultiplier(acc, mult[c], shift[c]) + out_zp, lo, hi)
 * then optionally maps q through a 256-entry lookup table (sigmoid, swish, LeakyReLU).
 *
 * No int32 overflow, whatever the parameters: a conv's accumulator is at most
 * 255 * 127 * cin * k * k in magnitude, below 2^31 for the arch limits (cin <= 4096 for 1x1,
 * k <= 15 depthwise); the sums that can exceed int32 (accumulator + bias, the two scaled operands
 * of an add) and the left shift of a requantisation are computed in 64 bits and saturated. */
#ifndef LMNAS_INT8_REF_H
#define LMNAS_INT8_REF_H
#include <stdint.h>

/* The loop kernels below are compiled once each, neither inlined nor specialised to a call's
 * constants, so a model's code is a fixed size per kernel plus one call per op, which check-cost
 * counts (cost.h, "flash"); "unused" keeps a model that calls only some of them warning-free. */
#if defined(__clang__)
#define LMQ_KERNEL static __attribute__((noinline, unused))
#elif defined(__GNUC__)
#define LMQ_KERNEL static __attribute__((noipa, unused))
#else
#define LMQ_KERNEL static
#endif

/* gemmlowp SaturatingRoundingDoublingHighMul: round(a * b / 2^31), saturating INT32_MIN^2. */
static inline int32_t lmq_srdhm(int32_t a, int32_t b)
{
	int64_t ab, nudge;
	if (a == INT32_MIN && b == INT32_MIN)
		return INT32_MAX;
	ab = (int64_t)a * (int64_t)b;
	nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
	return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* gemmlowp RoundingDivideByPOT: x / 2^e rounded to nearest, ties away from zero. */
static inline int32_t lmq_rdbpot(int32_t x, int e)
{
	int32_t mask = (int32_t)(((int64_t)1 << e) - 1);
	int32_t rem = x & mask;
	int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
	return (x >> e) + (rem > threshold ? 1 : 0);
}

/* v saturated to int32. */
static inline int32_t lmq_sat32(int64_t v)
{
	return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

/* TFLite MultiplyByQuantizedMultiplier: x * mult * 2^shift / 2^31 (shift > 0: left, saturating;
 * shift in -31..30). */
static inline int32_t lmq_mbqm(int32_t x, int32_t mult, int shift)
{
	int left = shift > 0 ? shift : 0;
	int right = shift > 0 ? 0 : -shift;
	if (left)
		x = lmq_sat32((int64_t)x * ((int64_t)1 << left));
	return lmq_rdbpot(lmq_srdhm(x, mult), right);
}

static inline int8_t lmq_clamp(int32_t v, int32_t lo, int32_t hi)
{
	return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

/* Requantisation of a conv's int32 accumulators. */
struct lmq_rq {
	const int32_t *bias;  /* [cout] */
	const int32_t *mult;  /* [cout] Q31 multipliers */
	const int8_t *shift;  /* [cout] */
	int32_t out_zp;       /* zero point of the requantised value (pre-activation when lut) */
	int32_t lo, hi;       /* clamp (relu6/relu as clamping) */
	const int8_t *lut;    /* [256] indexed by q + 128, or 0 */
};

static inline int8_t lmq_requant(int32_t acc, const struct lmq_rq *rq, int c)
{
	int32_t v = lmq_sat32((int64_t)acc + rq->bias[c]);
	int8_t q = lmq_clamp(lmq_sat32((int64_t)lmq_mbqm(v, rq->mult[c], rq->shift[c]) + rq->out_zp),
			     rq->lo, rq->hi);
	return rq->lut ? rq->lut[q + 128] : q;
}

/* Pointwise (1x1) convolution, also the linear layers (np = 1).
 * x: [np][cin] (zero point x_zp), w: [cout][cin], y: [np][cout]. y must not overlap x. */
LMQ_KERNEL void lmq_pw(const int8_t *x, int32_t np, int32_t cin, int32_t x_zp,
			  const int8_t *w, int32_t cout, const struct lmq_rq *rq, int8_t *y)
{
	int32_t p, o, i;
	for (p = 0; p < np; p++) {
		const int8_t *xp = x + p * cin;
		int8_t *yp = y + p * cout;
		for (o = 0; o < cout; o++) {
			const int8_t *wo = w + o * cin;
			int32_t acc = 0;
			for (i = 0; i < cin; i++)
				acc += ((int32_t)xp[i] - x_zp) * wo[i];
			yp[o] = lmq_requant(acc, rq, o);
		}
	}
}

/* ---- sparse ternary weights (quantize --weight-format ternary) ----
 * Every conv's weights are -1, 0 or +1 times a per-channel scale that is folded into the
 * requantisation multiplier. They are packed base 3, five to a byte (1.6 bits a weight): weight
 * j of a conv's flat [cout][cin*k*k] array is trit j % 5 of byte j / 5, the byte being
 * t0 + 3 t1 + 9 t2 + 27 t3 + 81 t4 (at most 242), trit 0: 0, 1: +1, 2: -1. The kernels only add
 * and subtract inputs (the decoding divides bytes by 3, never an input).
 *
 * Their per-channel parameters are narrower than lmq_rq's (5 bytes a channel instead of 9):
 * bias16[c] * 2^bshift is the int32 bias (bshift 0..15, one per conv, the smallest at which
 * every bias fits int16), mult16[c] * 2^16 the Q31 multiplier (mult16 in 2^14..2^15-1, or 0),
 * i.e. the int32 bias rounded to a multiple of 2^bshift and the multiplier to 15 bits, as
 * quant.c rounds them (quant_ternary_params). Both products fit int32: |bias16| * 2^15 <= 2^30,
 * mult16 * 2^16 < 2^31; the accumulator magnitude is at most 255 * cin * k * k (< 2^31 for the
 * arch limits), and the sum with the bias is saturated in 64 bits as lmq_requant does. */
struct lmq_rq3 {
	const int16_t *bias16; /* [cout] */
	const int16_t *mult16; /* [cout] */
	const int8_t *shift;   /* [cout] */
	const int8_t *lut;     /* [256] indexed by q + 128, or 0 */
	int32_t bshift;        /* 0..15 */
	int32_t out_zp, lo, hi;
};

static inline int8_t lmq_requant3(int32_t acc, const struct lmq_rq3 *rq, int c)
{
	int32_t bias = (int32_t)rq->bias16[c] * ((int32_t)1 << rq->bshift);
	int32_t v = lmq_sat32((int64_t)acc + bias);
	int8_t q = lmq_clamp(lmq_sat32((int64_t)lmq_mbqm(v, (int32_t)rq->mult16[c] * 65536,
							 rq->shift[c]) + rq->out_zp),
			     rq->lo, rq->hi);
	return rq->lut ? rq->lut[q + 128] : q;
}

/* Sequential reader of packed trits, from weight j on. */
struct lmq_trits {
	const uint8_t *p;  /* the next byte to load */
	uint32_t cur;      /* the loaded byte's trits not yet read */
	int32_t left;      /* how many */
};

static inline void lmq_trits_at(struct lmq_trits *r, const uint8_t *w3, int32_t j)
{
	int32_t i;
	r->p = w3 + j / 5;
	r->cur = *r->p++;
	r->left = 5 - j % 5;
	for (i = 0; i < j % 5; i++)
		r->cur /= 3;
}

/* The next trit: 0, 1 (+1) or 2 (-1). */
static inline int32_t lmq_trit(struct lmq_trits *r)
{
	int32_t t;
	if (!r->left) {
		r->cur = *r->p++;
		r->left = 5;
	}
	t = (int32_t)(r->cur % 3);
	r->cur /= 3;
	r->left--;
	return t;
}

/* v added (trit 1), subtracted (trit 2) or left out (trit 0): no multiplication. */
static inline int32_t lmq_tadd(int32_t acc, int32_t v, int32_t t)
{
	return acc + (v & -(t & 1)) - (v & -(t >> 1));
}

/* Pointwise convolution (also SE's and the classifier's linear layers, np = 1) with packed
 * ternary weights w3 [ceil(cout*cin/5)]; otherwise as lmq_pw. */
LMQ_KERNEL void lmq_pw_t3(const int8_t *x, int32_t np, int32_t cin, int32_t x_zp,
			     const uint8_t *w3, int32_t cout, const struct lmq_rq3 *rq, int8_t *y)
{
	int32_t p, o, i;
	struct lmq_trits r;
	for (p = 0; p < np; p++) {
		const int8_t *xp = x + p * cin;
		int8_t *yp = y + p * cout;
		lmq_trits_at(&r, w3, 0);
		for (o = 0; o < cout; o++) {
			int32_t acc = 0;
			for (i = 0; i < cin; i++)
				acc = lmq_tadd(acc, (int32_t)xp[i] - x_zp, lmq_trit(&r));
			yp[o] = lmq_requant3(acc, rq, o);
		}
	}
}

/* The k*k trits of depthwise channel ch into t (k <= LMQ_DW_KMAX). */
#define LMQ_DW_KMAX 15
static inline void lmq_dw_trits(const uint8_t *w3, int32_t ch, int32_t k, int8_t *t)
{
	struct lmq_trits r;
	int32_t j;
	lmq_trits_at(&r, w3, ch * k * k);
	for (j = 0; j < k * k; j++)
		t[j] = (int8_t)lmq_trit(&r);
}

/* Depthwise convolution with packed ternary weights w3 [ceil(c*k*k/5)], k <= LMQ_DW_KMAX;
 * otherwise (scratch, in place) as lmq_dw. */
LMQ_KERNEL void lmq_dw_t3(const int8_t *x, int32_t h, int32_t wd, int32_t c, int32_t x_zp,
			     const uint8_t *w3, int32_t k, int32_t s, int32_t pad, int32_t oh,
			     int32_t ow, const struct lmq_rq3 *rq, int8_t *y, int8_t *scratch)
{
	int32_t ch, oy, ox, ky, kx, p;
	int8_t t[LMQ_DW_KMAX * LMQ_DW_KMAX];
	for (ch = 0; ch < c; ch++) {
		lmq_dw_trits(w3, ch, k, t);
		for (oy = 0; oy < oh; oy++)
			for (ox = 0; ox < ow; ox++) {
				int32_t acc = 0;
				int8_t q;
				for (ky = 0; ky < k; ky++) {
					int32_t iy = oy * s - pad + ky;
					if (iy < 0 || iy >= h)
						continue;
					for (kx = 0; kx < k; kx++) {
						int32_t ix = ox * s - pad + kx;
						if (ix < 0 || ix >= wd)
							continue;
						acc = lmq_tadd(acc, (int32_t)x[(iy * wd + ix) * c + ch] - x_zp,
							       t[ky * k + kx]);
					}
				}
				q = lmq_requant3(acc, rq, ch);
				if (scratch)
					scratch[oy * ow + ox] = q;
				else
					y[(oy * ow + ox) * c + ch] = q;
			}
		if (scratch)
			for (p = 0; p < oh * ow; p++)
				y[p * c + ch] = scratch[p];
	}
}

/* Depthwise k x k convolution, zero padding (real zero, i.e. x_zp) of pad, stride s.
 * x: [h][w][c], w: [c][k][k], y: [oh][ow][c], scratch: [oh*ow] or 0.
 * With a scratch, channel by channel the outputs go to scratch, then over channel c of y, so y
 * may be x itself
 * (in place, TinyEngine style): output position p of channel c overwrites input position p of
 * channel c, which no later channel reads. Without a scratch y must not overlap x. */
LMQ_KERNEL void lmq_dw(const int8_t *x, int32_t h, int32_t wd, int32_t c, int32_t x_zp,
			  const int8_t *w, int32_t k, int32_t s, int32_t pad, int32_t oh, int32_t ow,
			  const struct lmq_rq *rq, int8_t *y, int8_t *scratch)
{
	int32_t ch, oy, ox, ky, kx, p;
	for (ch = 0; ch < c; ch++) {
		const int8_t *wc = w + ch * k * k;
		for (oy = 0; oy < oh; oy++)
			for (ox = 0; ox < ow; ox++) {
				int32_t acc = 0;
				for (ky = 0; ky < k; ky++) {
					int32_t iy = oy * s - pad + ky;
					if (iy < 0 || iy >= h)
						continue;
					for (kx = 0; kx < k; kx++) {
						int32_t ix = ox * s - pad + kx;
						if (ix < 0 || ix >= wd)
							continue;
						acc += ((int32_t)x[(iy * wd + ix) * c + ch] - x_zp) *
						       wc[ky * k + kx];
					}
				}
				if (scratch)
					scratch[oy * ow + ox] = lmq_requant(acc, rq, ch);
				else
					y[(oy * ow + ox) * c + ch] = lmq_requant(acc, rq, ch);
			}
		if (scratch)
			for (p = 0; p < oh * ow; p++)
				y[p * c + ch] = scratch[p];
	}
}

/* Global average pool: y[c] = round(mean_p x[p][c]), same scale and zero point as x.
 * x: [np][c], y: [c]; y must not overlap x. np <= 2^24 (4096 x 4096), so sum fits int32 and its
 * magnitude (at most 2^31) fits uint32. */
LMQ_KERNEL void lmq_gap(const int8_t *x, int32_t np, int32_t c, int8_t *y)
{
	int32_t ch, p;
	for (ch = 0; ch < c; ch++) {
		int32_t sum = 0, q;
		uint32_t mag;
		for (p = 0; p < np; p++)
			sum += x[p * c + ch];
		mag = sum >= 0 ? (uint32_t)sum : 0u - (uint32_t)sum;
		q = (int32_t)((mag + (uint32_t)np / 2) / (uint32_t)np);
		q = sum >= 0 ? q : -q;
		y[ch] = lmq_clamp(q, -128, 127);
	}
}

/* SE scaling: y[p][c] = requant((x[p][c] - x_zp) * (g[c] - g_zp)). y may be x (in place). */
LMQ_KERNEL void lmq_scale(const int8_t *x, int32_t np, int32_t c, int32_t x_zp,
			     const int8_t *g, int32_t g_zp, int32_t mult, int32_t shift,
			     int32_t y_zp, int8_t *y)
{
	int32_t p, ch;
	for (p = 0; p < np; p++)
		for (ch = 0; ch < c; ch++) {
			int32_t v = ((int32_t)x[p * c + ch] - x_zp) * ((int32_t)g[ch] - g_zp);
			y[p * c + ch] = lmq_clamp(lmq_sat32((int64_t)lmq_mbqm(v, mult, shift) + y_zp),
						  -128, 127);
		}
}

/* Residual add as TFLite: both inputs shifted left 20 bits, scaled to twice the larger input
 * scale, summed, requantised. mult/shift: [0] a, [1] b, [2] output. y may be a or b. */
#define LMQ_ADD_LEFT_SHIFT 20
LMQ_KERNEL void lmq_add(const int8_t *a, int32_t a_zp, const int8_t *b, int32_t b_zp,
			   int32_t n, const int32_t *mult, const int8_t *shift, int32_t y_zp,
			   int8_t *y)
{
	int32_t i;
	for (i = 0; i < n; i++) {
		int32_t va = ((int32_t)a[i] - a_zp) * (1 << LMQ_ADD_LEFT_SHIFT);
		int32_t vb = ((int32_t)b[i] - b_zp) * (1 << LMQ_ADD_LEFT_SHIFT);
		int32_t sa = lmq_mbqm(va, mult[0], shift[0]);
		int32_t sb = lmq_mbqm(vb, mult[1], shift[1]);
		int32_t sum = lmq_sat32((int64_t)sa + sb);
		y[i] = lmq_clamp(lmq_sat32((int64_t)lmq_mbqm(sum, mult[2], shift[2]) + y_zp), -128, 127);
	}
}
/* ---- row-streamed execution (cost/stream.h) ----
 * A tensor [h][w][c] may be held as a ring of `ring` rows (ring == h: the whole tensor): row r is
 * at x + (r % ring) * w * c. The streamed ops run one output row at a time with the kernels
 * above (pointwise and add on a row of w positions) and lmq_dw_row, each row computed exactly as
 * the whole-tensor kernels compute it. */
static inline int8_t *lmq_row(int8_t *x, int32_t r, int32_t ring, int32_t row_bytes)
{
	return x + (r % ring) * row_bytes;
}

/* Output row oy of lmq_dw, reading input rows from a ring of `ring` rows of x [h][wd][c]:
 * y: [ow][c]. y must not overlap the rows read. */
LMQ_KERNEL void lmq_dw_row(const int8_t *x, int32_t h, int32_t ring, int32_t wd, int32_t c,
			      int32_t x_zp, const int8_t *w, int32_t k, int32_t s, int32_t pad,
			      int32_t oy, int32_t ow, const struct lmq_rq *rq, int8_t *y)
{
	int32_t ch, ox, ky, kx;
	for (ox = 0; ox < ow; ox++)
		for (ch = 0; ch < c; ch++) {
			const int8_t *wc = w + ch * k * k;
			int32_t acc = 0;
			for (ky = 0; ky < k; ky++) {
				int32_t iy = oy * s - pad + ky;
				const int8_t *xr;
				if (iy < 0 || iy >= h)
					continue;
				xr = x + (iy % ring) * wd * c;
				for (kx = 0; kx < k; kx++) {
					int32_t ix = ox * s - pad + kx;
					if (ix < 0 || ix >= wd)
						continue;
					acc += ((int32_t)xr[ix * c + ch] - x_zp) * wc[ky * k + kx];
				}
			}
			y[ox * c + ch] = lmq_requant(acc, rq, ch);
		}
}
/* Output row oy of lmq_dw_t3 from a ring of rows, as lmq_dw_row. */
LMQ_KERNEL void lmq_dw_row_t3(const int8_t *x, int32_t h, int32_t ring, int32_t wd, int32_t c,
				 int32_t x_zp, const uint8_t *w3, int32_t k, int32_t s, int32_t pad,
				 int32_t oy, int32_t ow, const struct lmq_rq3 *rq, int8_t *y)
{
	int32_t ch, ox, ky, kx;
	int8_t t[LMQ_DW_KMAX * LMQ_DW_KMAX];
	for (ch = 0; ch < c; ch++) {
		lmq_dw_trits(w3, ch, k, t);
		for (ox = 0; ox < ow; ox++) {
			int32_t acc = 0;
			for (ky = 0; ky < k; ky++) {
				int32_t iy = oy * s - pad + ky;
				const int8_t *xr;
				if (iy < 0 || iy >= h)
					continue;
				xr = x + (iy % ring) * wd * c;
				for (kx = 0; kx < k; kx++) {
					int32_t ix = ox * s - pad + kx;
					if (ix < 0 || ix >= wd)
						continue;
					acc = lmq_tadd(acc, (int32_t)xr[ix * c + ch] - x_zp, t[ky * k + kx]);
				}
			}
			y[ox * c + ch] = lmq_requant3(acc, rq, ch);
		}
	}
}
#endif
