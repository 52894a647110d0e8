/* int8_dsp.h — the 1x1 convolution (also the classifier and SE's fully connected layers) and the
 * depthwise convolution for cores with the Armv7E-M DSP extension (Cortex-M4, M7, M33 with
 * DSP): two 16-bit multiply-accumulates per instruction (SMLAD) on int8 values widened two at a
 * time (SXTB16, SXTAB16), through the ACLE intrinsics of arm_acle.h, as CMSIS-NN does.
 *
 * Bit-exact with the plain kernels of int8_ref.h (include that first): the same int32 sums,
 * only in another order (no overflow, see int8_ref.h), and the same requantisation in fewer
 * instructions (lmq_requant_dsp). emit-c copies this file next to int8_ref.h; the model calls
 * LMQ_PW, LMQ_DW, LMQ_DWG (a depthwise of a small output, its weights in lmq_dwg_layout where
 * LMQ_DW_GROUPED), LMQ_ADD and LMQ_SCALE, which are these kernels when compiling for a core
 * with the extension (__ARM_FEATURE_DSP) and the plain ones otherwise, or when
 * LMNAS_PLAIN_KERNELS is defined. Elsewhere (the host) the intrinsics are plain C with the
 * instructions' semantics, so tests/unit/test_int8_dsp.c checks the kernels bit for bit against
 * the plain ones on the host; the emitted model's test vectors check them in QEMU. */
#ifndef LMNAS_INT8_DSP_H
#define LMNAS_INT8_DSP_H
#include <stdint.h>
#include <string.h>
#include "int8_ref.h"

#if defined(__ARM_FEATURE_DSP) && !defined(LMNAS_PLAIN_KERNELS)
#define LMQ_PW lmq_pw_dsp
#define LMQ_DW lmq_dw_dsp
#define LMQ_DWG lmq_dwg_dsp
#define LMQ_DW_GROUPED 1
#define LMQ_ADD lmq_add_dsp
#define LMQ_SCALE lmq_scale_dsp
#else
#define LMQ_PW lmq_pw
#define LMQ_DW lmq_dw
#define LMQ_DWG lmq_dw
#define LMQ_DW_GROUPED 0
#define LMQ_ADD lmq_add
#define LMQ_SCALE lmq_scale
#endif

/* ---- the instructions: a pair of 16-bit halves in a 32-bit word, low half first ---- */
#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
/* {sext(byte 0), sext(byte 2)} */
static inline uint32_t lmq_sxtb16(uint32_t v)
{
	return (uint32_t)__sxtb16((int8x4_t)v);
}
/* {a.lo + sext(byte 0), a.hi + sext(byte 2)} */
static inline uint32_t lmq_sxtab16(uint32_t a, uint32_t v)
{
	return (uint32_t)__sxtab16((int16x2_t)a, (int8x4_t)v);
}
/* acc + a.lo * b.lo + a.hi * b.hi */
static inline int32_t lmq_smlad(uint32_t a, uint32_t b, int32_t acc)
{
	return __smlad((int16x2_t)a, (int16x2_t)b, acc);
}
/* lmq_sxtb16(v ror 8), lmq_sxtab16(a, v ror 8): the rotation in the instruction (CMSIS-NN's
 * __SXTB16_RORn; GCC does not fold it by itself) */
static inline uint32_t lmq_sxtb16_ror8(uint32_t v)
{
	uint32_t r;
	__asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
	return r;
}
static inline uint32_t lmq_sxtab16_ror8(uint32_t a, uint32_t v)
{
	uint32_t r;
	__asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(v));
	return r;
}
/* acc + a.lo * b.lo, acc + a.hi * b.hi */
static inline int32_t lmq_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
	return __smlabb((int32_t)a, (int32_t)b, acc);
}
static inline int32_t lmq_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
	return __smlatt((int32_t)a, (int32_t)b, acc);
}
/* a + b saturated to int32 */
static inline int32_t lmq_qadd(int32_t a, int32_t b)
{
	return __qadd(a, b);
}
/* (a * b + 2^31) >> 32 (SMMULR; not in ACLE) */
static inline int32_t lmq_smmulr(int32_t a, int32_t b)
{
	int32_t r;
	__asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
	return r;
}
#else
static inline int32_t lmq_lo16(uint32_t v)
{
	return (int16_t)(uint16_t)(v & 0xFFFFu);
}
static inline int32_t lmq_hi16(uint32_t v)
{
	return (int16_t)(uint16_t)(v >> 16);
}
static inline uint32_t lmq_pair16(int32_t lo, int32_t hi)
{
	return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi & 0xFFFFu) << 16;
}
static inline uint32_t lmq_sxtb16(uint32_t v)
{
	return lmq_pair16((int8_t)(uint8_t)(v & 0xFFu), (int8_t)(uint8_t)((v >> 16) & 0xFFu));
}
static inline uint32_t lmq_sxtab16(uint32_t a, uint32_t v)
{
	uint32_t b = lmq_sxtb16(v);
	return lmq_pair16(lmq_lo16(a) + lmq_lo16(b), lmq_hi16(a) + lmq_hi16(b));
}
static inline int32_t lmq_smlad(uint32_t a, uint32_t b, int32_t acc)
{
	return (int32_t)((uint32_t)acc + (uint32_t)(lmq_lo16(a) * lmq_lo16(b)) +
			 (uint32_t)(lmq_hi16(a) * lmq_hi16(b)));
}
static inline int32_t lmq_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
	return (int32_t)((uint32_t)acc + (uint32_t)(lmq_lo16(a) * lmq_lo16(b)));
}
static inline int32_t lmq_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
	return (int32_t)((uint32_t)acc + (uint32_t)(lmq_hi16(a) * lmq_hi16(b)));
}
static inline uint32_t lmq_sxtb16_ror8(uint32_t v)
{
	return lmq_sxtb16(v >> 8 | v << 24);
}
static inline uint32_t lmq_sxtab16_ror8(uint32_t a, uint32_t v)
{
	return lmq_sxtab16(a, v >> 8 | v << 24);
}
static inline int32_t lmq_qadd(int32_t a, int32_t b)
{
	return lmq_sat32((int64_t)a + b);
}
static inline int32_t lmq_smmulr(int32_t a, int32_t b)
{
	return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
}
#endif

/* lmq_srdhm for a multiplier above INT32_MIN: round-half-up of a * b / 2^31 = (a * b + 2^30)
 * >> 31 for either sign (its nudge and truncation combined: one SMLAL). */
static inline int32_t lmq_srdhm_dsp(int32_t a, int32_t mult)
{
	return (int32_t)(((int64_t)a * mult + ((int64_t)1 << 30)) >> 31);
}

/* lmq_rdbpot(t, e) for 0 <= e <= 31 when t + half cannot overflow: half = 2^e / 2 (0 for e 0),
 * nadj = -1 for e > 0, else 0. Ties away from zero: t >= 0 rounds (t + half) >> e, t < 0
 * (t + half - 1) >> e (gemmlowp's threshold test, in three instructions). */
static inline int32_t lmq_rdbpot_dsp(int32_t t, int32_t e, int32_t half, int32_t nadj)
{
	return (t + half + ((t >> 31) & nadj)) >> e;
}

/* lmq_requant of a conv output with fewer instructions, bit for bit the same, on the fast path
 * (lmq_rq_fast_ok): shift = -e with 1 <= e <= LMQ_RQ_FAST_MAX_E and mult in [2^30, 2^31)
 * (every multiplier quantize makes). With a = acc + bias saturated (QADD, as lmq_requant),
 * lmq_srdhm(a, mult) = (a * mult + 2^30) >> 31 = (2a * mult + 2^31) >> 32: one SMMULR of 2a
 * (QADD a, a) when -2^30 <= a < 2^30. Then |t| <= 2^29, so lmq_rdbpot(t, e) + out_zp =
 * (t + hz + (t >> 31)) >> e with hz = 2^(e - 1) + out_zp * 2^e (|hz| < 2^29: no overflow; a
 * multiple of 2^e passes through the shift). Otherwise 2a saturates; then, as mult >= 2^30,
 * the exact t and the one computed are both >= 2^29 (a >= 2^30) or both <= -2^29, so the
 * rounded shift is >= 256 (<= -256) for e <= 21 and both clamp to hi (lo) whatever out_zp
 * (-128..127): the same byte. */
#define LMQ_RQ_FAST_MAX_E 21
static inline int lmq_rq_fast_ok(int32_t mult, int32_t shift)
{
	return mult >= (1 << 30) && shift <= -1 && shift >= -LMQ_RQ_FAST_MAX_E;
}

/* lmq_rq_fast_h's hz: 2^(e - 1) + out_zp * 2^e */
static inline int32_t lmq_rq_hz(int32_t e, int32_t out_zp)
{
	return (int32_t)(1u << (e - 1)) + out_zp * (int32_t)(1u << e);
}

static inline int8_t lmq_rq_fast_h(int32_t acc, int32_t bias, int32_t mult, int32_t e,
				   int32_t hz, int32_t lo, int32_t hi, const int8_t *lut)
{
	int32_t a = lmq_qadd(acc, bias);
	int32_t t = lmq_smmulr(lmq_qadd(a, a), mult);
	int32_t q = (t + hz + (t >> 31)) >> e;
	q = q < lo ? lo : q > hi ? hi : q;
	return lut ? lut[q + 128] : (int8_t)q;
}

/* hz computed here */
static inline int8_t lmq_rq_fast(int32_t acc, int32_t bias, int32_t mult, int32_t e,
				 int32_t out_zp, int32_t lo, int32_t hi, const int8_t *lut)
{
	return lmq_rq_fast_h(acc, bias, mult, e, lmq_rq_hz(e, out_zp), lo, hi, lut);
}

/* Output channel c of rq: the fast path when it applies, else lmq_requant. */
static inline int8_t lmq_requant_dsp(int32_t acc, const struct lmq_rq *rq, int c)
{
	if (!lmq_rq_fast_ok(rq->mult[c], rq->shift[c]))
		return lmq_requant(acc, rq, c);
	return lmq_rq_fast(acc, rq->bias[c], rq->mult[c], -rq->shift[c], rq->out_zp, rq->lo,
			   rq->hi, rq->lut);
}

/* Four bytes from any address (one LDR on the M7, which allows unaligned words). */
static inline uint32_t lmq_read4(const int8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* The offset -x_zp in both halves: lmq_sxtab16(off, x) = {x0 - x_zp, x2 - x_zp}, in -255..255. */
static inline uint32_t lmq_zp_pair(int32_t x_zp)
{
	return ((uint32_t)-x_zp & 0xFFFFu) * 0x10001u;
}

/* ---- pointwise ---- */

/* One output channel: sum over i < cin of (x[i] - x_zp) * w[i], four at a time. */
static inline int32_t lmq_dot_dsp(const int8_t *x, const int8_t *w, int32_t cin, int32_t x_zp)
{
	uint32_t off = lmq_zp_pair(x_zp);
	int32_t acc = 0, i;
	for (i = 0; i + 4 <= cin; i += 4) {
		uint32_t xv = lmq_read4(x + i), wv = lmq_read4(w + i);
		acc = lmq_smlad(lmq_sxtab16(off, xv), lmq_sxtb16(wv), acc);
		acc = lmq_smlad(lmq_sxtab16_ror8(off, xv), lmq_sxtb16_ror8(wv), acc);
	}
	for (; i < cin; i++)
		acc += ((int32_t)x[i] - x_zp) * w[i];
	return acc;
}

/* The largest cin whose pixel pairs lmq_pw_dsp widens into its stack buffer (cin words,
 * 2.5 KiB); larger ones run one output at a time. */
#define LMQ_PW_BUF_CIN 640

/* Two pixels x0, x1 [cin] minus x_zp, widened to 16 bits for lmq_dot22_dsp: for each group g
 * of 4 inputs, buf[4g..4g+3] = x0 {0, 2}, x0 {1, 3}, x1 {0, 2}, x1 {1, 3} (the order of
 * SXTB16 and its ror 8 on the weights). A tail of cin % 4 is not widened. */
static inline void lmq_widen2(const int8_t *x0, const int8_t *x1, int32_t cin, int32_t x_zp,
			      uint32_t *buf)
{
	uint32_t off = lmq_zp_pair(x_zp);
	int32_t i;
	for (i = 0; i + 4 <= cin; i += 4, buf += 4) {
		uint32_t v0 = lmq_read4(x0 + i), v1 = lmq_read4(x1 + i);
		buf[0] = lmq_sxtab16(off, v0);
		buf[1] = lmq_sxtab16_ror8(off, v0);
		buf[2] = lmq_sxtab16(off, v1);
		buf[3] = lmq_sxtab16_ror8(off, v1);
	}
}

/* Two pixels (widened in buf, int8 in x0, x1 for the tail) by two output channels (weights
 * w0, w1): each weight word, widened once, feeds four SMLADs. acc[2 * pixel + channel]. */
static inline void lmq_dot22_dsp(const uint32_t *buf, const int8_t *x0, const int8_t *x1,
				 const int8_t *w0, const int8_t *w1, int32_t cin, int32_t x_zp,
				 int32_t acc[4])
{
	int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0, i;
	for (i = 0; i + 4 <= cin; i += 4, buf += 4) {
		uint32_t wv = lmq_read4(w0 + i);
		uint32_t wa = lmq_sxtb16(wv), wb = lmq_sxtb16_ror8(wv);
		a00 = lmq_smlad(buf[0], wa, a00);
		a00 = lmq_smlad(buf[1], wb, a00);
		a10 = lmq_smlad(buf[2], wa, a10);
		a10 = lmq_smlad(buf[3], wb, a10);
		wv = lmq_read4(w1 + i);
		wa = lmq_sxtb16(wv);
		wb = lmq_sxtb16_ror8(wv);
		a01 = lmq_smlad(buf[0], wa, a01);
		a01 = lmq_smlad(buf[1], wb, a01);
		a11 = lmq_smlad(buf[2], wa, a11);
		a11 = lmq_smlad(buf[3], wb, a11);
	}
	for (; i < cin; i++) {
		int32_t xi0 = (int32_t)x0[i] - x_zp, xi1 = (int32_t)x1[i] - x_zp;
		a00 += xi0 * w0[i];
		a01 += xi0 * w1[i];
		a10 += xi1 * w0[i];
		a11 += xi1 * w1[i];
	}
	acc[0] = a00;
	acc[1] = a01;
	acc[2] = a10;
	acc[3] = a11;
}

/* The requantisation of output channel o of two pixels: acc0 to *y0, acc1 to *y1, the
 * channel's parameters loaded once; the fast path when it applies to the channel. */
static inline void lmq_rq_fast_2px(int32_t acc0, int32_t acc1, const struct lmq_rq *r, int32_t o,
				   int8_t *y0, int8_t *y1)
{
	int32_t bias = r->bias[o], mult = r->mult[o], e = -r->shift[o], hz;
	if (!lmq_rq_fast_ok(mult, -e)) {
		*y0 = lmq_requant(acc0, r, o);
		*y1 = lmq_requant(acc1, r, o);
		return;
	}
	hz = lmq_rq_hz(e, r->out_zp);
	*y0 = lmq_rq_fast_h(acc0, bias, mult, e, hz, r->lo, r->hi, r->lut);
	*y1 = lmq_rq_fast_h(acc1, bias, mult, e, hz, r->lo, r->hi, r->lut);
}

/* lmq_pw_dsp for a cin too long for its buffer: one output at a time. */
static inline void lmq_pw_dsp_general(const int8_t *x, int32_t np, int32_t cin, int32_t x_zp,
			       const int8_t *w, int32_t cout, const struct lmq_rq *rq, int8_t *y)
{
	int32_t p, o;
	for (p = 0; p < np; p++)
		for (o = 0; o < cout; o++)
			y[p * cout + o] = lmq_requant_dsp(lmq_dot_dsp(x + p * cin, w + o * cin, cin,
								      x_zp), rq, o);
}

/* As lmq_pw: x [np][cin], w [cout][cin], y [np][cout], y not overlapping x. Pixels and output
 * channels two by two (CMSIS-NN's 2x2 blocking), each pixel pair widened once into buf; an odd
 * last pixel pairs with itself, an odd last channel with itself. */
LMQ_KERNEL void lmq_pw_dsp(const int8_t *x, int32_t np, int32_t cin, int32_t x_zp,
			   const int8_t *w, int32_t cout, const struct lmq_rq *rq, int8_t *y)
{
	const struct lmq_rq r = *rq; /* a local copy: the stores to y cannot change it */
	uint32_t buf[LMQ_PW_BUF_CIN];
	int32_t p, o, acc[4];
	if (cin > LMQ_PW_BUF_CIN) {
		lmq_pw_dsp_general(x, np, cin, x_zp, w, cout, &r, y);
		return;
	}
	for (p = 0; p < np; p += 2) {
		const int8_t *x0 = x + p * cin, *x1 = p + 1 < np ? x0 + cin : x0;
		int8_t *y0 = y + p * cout, *y1 = p + 1 < np ? y0 + cout : y0;
		lmq_widen2(x0, x1, cin, x_zp, buf);
		for (o = 0; o < cout; o += 2) {
			int32_t o1 = o + 1 < cout ? o + 1 : o;
			lmq_dot22_dsp(buf, x0, x1, w + o * cin, w + o1 * cin, cin, x_zp, acc);
			lmq_rq_fast_2px(acc[0], acc[2], &r, o, y0 + o, y1 + o);
			lmq_rq_fast_2px(acc[1], acc[3], &r, o1, y0 + o1, y1 + o1);
		}
	}
}

/* ---- depthwise ----
 * Channel by channel, as lmq_dw (so the same in-place rule holds). The rows of the channel a
 * window needs are gathered, padded with x_zp (whose x - x_zp is 0, as lmq_dw's skipped taps),
 * into k contiguous row buffers on the stack, each filled once per channel; then two adjacent
 * outputs at a time read their taps four at a time with one word load: SXTAB16 gives the bytes
 * {0, 2} and {1, 3} of the word minus the zero point, and each of the two outputs multiplies
 * them (SMLAD) by its weights packed the same way, the second output's shifted by the stride
 * (0 outside the kernel): one load and two widenings feed four SMLADs. */

/* The largest kernel and stride, and the longest padded row (input width + 2 * pad + stride +
 * 3 bytes: the words the last output pair reads), the DSP depthwise takes; others run lmq_dw.
 * Stack: k * LMQ_DW_ROW bytes of rows and k * LMQ_DW_WORDS * 4 words of weights, under
 * 1.7 KiB. */
#define LMQ_DW_DSP_MAX_K 7
#define LMQ_DW_DSP_MAX_S 2
#define LMQ_DW_ROW 192
/* words of 4 taps per kernel row for an output pair: (LMQ_DW_DSP_MAX_K + LMQ_DW_DSP_MAX_S + 3) / 4 */
#define LMQ_DW_WORDS 3

/* Two outputs: k rows from rows[ky] + at, nw words of four taps each. wp[ky][j]: the weights of
 * bytes {0, 2} and {1, 3} of word j for the first output, then for the second. Inlined with a
 * constant nw, the inner loop unrolls. */
static inline void lmq_dw_window2_dsp(const int8_t *const *rows, int32_t at, int32_t k,
				      int32_t nw, uint32_t off,
				      const uint32_t wp[][LMQ_DW_WORDS][4], int32_t acc[2])
{
	int32_t a0 = 0, a1 = 0, ky, j;
	for (ky = 0; ky < k; ky++) {
		const int8_t *r = rows[ky] + at;
		for (j = 0; j < nw; j++) {
			uint32_t v = lmq_read4(r + 4 * j);
			uint32_t xa = lmq_sxtab16(off, v), xb = lmq_sxtab16_ror8(off, v);
			a0 = lmq_smlad(xa, wp[ky][j][0], a0);
			a0 = lmq_smlad(xb, wp[ky][j][1], a0);
			a1 = lmq_smlad(xa, wp[ky][j][2], a1);
			a1 = lmq_smlad(xb, wp[ky][j][3], a1);
		}
	}
	acc[0] = a0;
	acc[1] = a1;
}

/* Input row iy of channel 0 of x (x already offset to the channel), padded: buf[pad + ix] =
 * x[iy][ix] for 0 <= ix < wd, x_zp around it and past it (len bytes in all). */
static inline void lmq_dw_gather(int8_t *buf, int32_t len, const int8_t *x, int32_t h, int32_t wd,
				 int32_t c, int32_t x_zp, int32_t iy, int32_t pad)
{
	int32_t i;
	const int8_t *src = x + iy * wd * c;
	if (iy < 0 || iy >= h) {
		for (i = 0; i < len; i++)
			buf[i] = (int8_t)x_zp;
		return;
	}
	for (i = 0; i < pad; i++)
		buf[i] = (int8_t)x_zp;
	buf += pad;
	for (i = 0; i + 4 <= wd; i += 4, src += 4 * c) {
		buf[i] = src[0];
		buf[i + 1] = src[c];
		buf[i + 2] = src[2 * c];
		buf[i + 3] = src[3 * c];
	}
	for (; i < wd; i++, src += c)
		buf[i] = *src;
	for (i = wd; i < len - pad; i++)
		buf[i] = (int8_t)x_zp;
}

/* The weights of channel wc packed for lmq_dw_window2_dsp, the second output s bytes on: byte b
 * of word j is tap 4j + b of the first output and tap 4j + b - s of the second. Each kernel row
 * goes through lane[], its taps at LMQ_DW_DSP_MAX_S.. and zeros around them. */
static inline void lmq_dw_pack(const int8_t *wc, int32_t k, int32_t s, int32_t nw,
			       uint32_t wp[][LMQ_DW_WORDS][4])
{
	uint32_t lane[LMQ_DW_DSP_MAX_S + 4 * LMQ_DW_WORDS];
	const uint32_t *l0 = lane + LMQ_DW_DSP_MAX_S, *l1 = l0 - s;
	int32_t ky, j, t;
	for (t = 0; t < LMQ_DW_DSP_MAX_S + 4 * LMQ_DW_WORDS; t++)
		lane[t] = 0;
	for (ky = 0; ky < k; ky++) {
		for (t = 0; t < k; t++)
			lane[LMQ_DW_DSP_MAX_S + t] = (uint16_t)wc[ky * k + t];
		for (j = 0; j < nw; j++) {
			wp[ky][j][0] = l0[4 * j] | l0[4 * j + 2] << 16;
			wp[ky][j][1] = l0[4 * j + 1] | l0[4 * j + 3] << 16;
			wp[ky][j][2] = l1[4 * j] | l1[4 * j + 2] << 16;
			wp[ky][j][3] = l1[4 * j + 1] | l1[4 * j + 3] << 16;
		}
	}
}

/* One channel's requantisation, its parameters loaded once (as lmq_requant_dsp). */
struct lmq_rq1 {
	const struct lmq_rq *rq;
	int32_t c, fast, bias, mult, e, hz, lo, hi;
	const int8_t *lut;
};

static inline void lmq_rq1_init(struct lmq_rq1 *r, const struct lmq_rq *rq, int32_t c)
{
	r->rq = rq;
	r->c = c;
	r->fast = lmq_rq_fast_ok(rq->mult[c], rq->shift[c]);
	r->bias = rq->bias[c];
	r->mult = rq->mult[c];
	r->e = -rq->shift[c];
	r->hz = r->fast ? lmq_rq_hz(r->e, rq->out_zp) : 0;
	r->lo = rq->lo;
	r->hi = rq->hi;
	r->lut = rq->lut;
}

static inline int8_t lmq_requant1(int32_t acc, const struct lmq_rq1 *r)
{
	if (!r->fast)
		return lmq_requant(acc, r->rq, r->c);
	return lmq_rq_fast_h(acc, r->bias, r->mult, r->e, r->hz, r->lo, r->hi, r->lut);
}

/* One output row of a channel: out[ox * ostep] for ox < ow, two at a time (an odd last one
 * computed with a second output past the row, not stored). Unrolled for 1, 2 and 3 words. */
static inline void lmq_dw_row_dsp(const int8_t *const *rows, int32_t k, int32_t s, int32_t nw,
				  int32_t ow, uint32_t off, const uint32_t wp[][LMQ_DW_WORDS][4],
				  const struct lmq_rq1 *r, int8_t *out, int32_t ostep)
{
	int32_t ox, acc[2];
	for (ox = 0; ox < ow; ox += 2) {
		if (nw == 1)
			lmq_dw_window2_dsp(rows, ox * s, k, 1, off, wp, acc);
		else if (nw == 2)
			lmq_dw_window2_dsp(rows, ox * s, k, 2, off, wp, acc);
		else
			lmq_dw_window2_dsp(rows, ox * s, k, 3, off, wp, acc);
		out[ox * ostep] = lmq_requant1(acc[0], r);
		if (ox + 1 < ow)
			out[(ox + 1) * ostep] = lmq_requant1(acc[1], r);
	}
}

/* As lmq_dw (same arguments, same in-place rule with a scratch). */
LMQ_KERNEL void lmq_dw_dsp(const int8_t *x, int32_t h, int32_t wd, int32_t c, int32_t x_zp,
			   const int8_t *w, int32_t k, int32_t s, int32_t pad, int32_t oh,
			   int32_t ow, const struct lmq_rq *rq, int8_t *y, int8_t *scratch)
{
	int8_t buf[LMQ_DW_DSP_MAX_K][LMQ_DW_ROW];
	int32_t held[LMQ_DW_DSP_MAX_K]; /* the input row in each buffer */
	uint32_t wp[LMQ_DW_DSP_MAX_K][LMQ_DW_WORDS][4];
	const int8_t *rows[LMQ_DW_DSP_MAX_K];
	uint32_t off = lmq_zp_pair(x_zp);
	int32_t len = wd + 2 * pad + s + 3, nw = (k + s + 3) / 4, ch, oy, ky, p;
	if (k > LMQ_DW_DSP_MAX_K || s > LMQ_DW_DSP_MAX_S || len > LMQ_DW_ROW || pad < 0 || s < 1) {
		lmq_dw(x, h, wd, c, x_zp, w, k, s, pad, oh, ow, rq, y, scratch);
		return;
	}
	for (ch = 0; ch < c; ch++) {
		struct lmq_rq1 r;
		lmq_rq1_init(&r, rq, ch);
		lmq_dw_pack(w + ch * k * k, k, s, nw, wp);
		for (ky = 0; ky < k; ky++)
			held[ky] = -1 - pad - k; /* no row yet */
		for (oy = 0; oy < oh; oy++) {
			for (ky = 0; ky < k; ky++) {
				int32_t iy = oy * s - pad + ky;
				uint32_t slot = (uint32_t)(oy * s + ky) % (uint32_t)k;
				if (held[slot] != iy) {
					lmq_dw_gather(buf[slot], len, x + ch, h, wd, c, x_zp, iy, pad);
					held[slot] = iy;
				}
				rows[ky] = buf[slot];
			}
			lmq_dw_row_dsp(rows, k, s, nw, ow, off,
				       (const uint32_t(*)[LMQ_DW_WORDS][4])wp, &r,
				       scratch ? scratch + oy * ow : y + oy * ow * c + ch,
				       scratch ? 1 : c);
		}
		if (scratch)
			for (p = 0; p < oh * ow; p++)
				y[p * c + ch] = scratch[p];
	}
}

/* ---- depthwise on channel groups ----
 * On small output maps (at most LMQ_DWG_MAX_OUT pixels per channel), where lmq_dw_dsp's row
 * gathering and weight packing per channel outweigh the windows, four adjacent channels at a
 * time, tap by tap over the taps inside the input: one word load gives the four channels' input
 * at a tap (x is [h][w][c]), SXTAB16 and its ror 8 widen it minus the zero point, and the four
 * weights of the tap, one word in the grouped layout emit-c writes (lmq_dwg_layout), widened
 * by SXTB16, multiply it one channel each (SMLABB, SMLATT). Nothing is gathered or packed. */
#define LMQ_DWG_MAX_OUT 64

/* Whether the emitted model runs a depthwise with an oh x ow output as lmq_dwg_dsp (and so its
 * weights in lmq_dwg_layout). */
static inline int lmq_dw_grouped(int32_t oh, int32_t ow)
{
	return oh * ow <= LMQ_DWG_MAX_OUT;
}

/* The kernel taps inside an input of n pixels for output o (first in *t0, end returned). */
static inline int32_t lmq_dw_taps(int32_t o, int32_t s, int32_t pad, int32_t k, int32_t n,
				  int32_t *t0)
{
	int32_t i0 = o * s - pad;
	*t0 = i0 < 0 ? -i0 : 0;
	return n - i0 < k ? n - i0 : k;
}

/* Channel ch of a depthwise, tap by tap over the taps inside the input: tap t of its kernel is
 * wc[t * wstep] (1: lmq_dw's layout, 4: a channel of a group in lmq_dwg_layout's). Its outputs
 * go to out[p * ostep], p < oh * ow. */
static inline void lmq_dw_direct_ch(const int8_t *x, int32_t h, int32_t wd, int32_t c,
				    int32_t ch, int32_t x_zp, const int8_t *wc, int32_t wstep,
				    int32_t k, int32_t s, int32_t pad, int32_t oh, int32_t ow,
				    const struct lmq_rq *rq, int8_t *out, int32_t ostep)
{
	int32_t oy, ox, ky, kx, ky0, ky1, kx0, kx1;
	struct lmq_rq1 r;
	lmq_rq1_init(&r, rq, ch);
	for (oy = 0; oy < oh; oy++) {
		ky1 = lmq_dw_taps(oy, s, pad, k, h, &ky0);
		for (ox = 0; ox < ow; ox++) {
			const int8_t *xo = x + ((oy * s - pad) * wd + ox * s - pad) * c + ch;
			int32_t acc = 0;
			kx1 = lmq_dw_taps(ox, s, pad, k, wd, &kx0);
			for (ky = ky0; ky < ky1; ky++) {
				const int8_t *xr = xo + ky * wd * c, *wr = wc + ky * k * wstep;
				for (kx = kx0; kx < kx1; kx++)
					acc += ((int32_t)xr[kx * c] - x_zp) * wr[kx * wstep];
			}
			out[(oy * ow + ox) * ostep] = lmq_requant1(acc, &r);
		}
	}
}

/* Depthwise weights w [c][k][k] (lmq_dw's) in lmq_dwg_dsp's layout g: for each group of four
 * channels c0 = 0, 4, .. (c0 + 4 <= c) g[c0 * k * k + 4 * t + j] = tap t of channel c0 + j;
 * the last c % 4 channels as in w. The same bytes, so the same flash. */
static inline void lmq_dwg_layout(const int8_t *w, int32_t c, int32_t k, int8_t *g)
{
	int32_t kk = k * k, c0, t, j;
	for (c0 = 0; c0 + 4 <= c; c0 += 4)
		for (t = 0; t < kk; t++)
			for (j = 0; j < 4; j++)
				g[c0 * kk + 4 * t + j] = w[(c0 + j) * kk + t];
	for (; c0 < c; c0++)
		for (t = 0; t < kk; t++)
			g[c0 * kk + t] = w[c0 * kk + t];
}

/* The sums of four channels at one output: nky x nkx taps, the first input at xr (rows rstep
 * bytes apart, pixels c), their weights at wr (kernel rows 4 * k bytes apart). acc[j]: channel
 * j of the group. */
static inline void lmq_dwg_sum4(const int8_t *xr, int32_t rstep, int32_t c, const int8_t *wr,
				int32_t k, int32_t nky, int32_t nkx, uint32_t off, int32_t acc[4])
{
	int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, ky, kx;
	for (ky = 0; ky < nky; ky++, xr += rstep, wr += 4 * k) {
		const int8_t *xp = xr, *wp = wr;
		for (kx = 0; kx < nkx; kx++, xp += c, wp += 4) {
			uint32_t v = lmq_read4(xp), wv = lmq_read4(wp);
			uint32_t xa = lmq_sxtab16(off, v), xb = lmq_sxtab16_ror8(off, v);
			uint32_t wa = lmq_sxtb16(wv), wb = lmq_sxtb16_ror8(wv);
			a0 = lmq_smlabb(xa, wa, a0);
			a2 = lmq_smlatt(xa, wa, a2);
			a1 = lmq_smlabb(xb, wb, a1);
			a3 = lmq_smlatt(xb, wb, a3);
		}
	}
	acc[0] = a0;
	acc[1] = a1;
	acc[2] = a2;
	acc[3] = a3;
}

/* Channels c0..c0+3 of every output into out[p * ostep + j] (p < oh * ow, j < 4); wg: the
 * group's weights [k * k][4]. */
static inline void lmq_dwg_group(const int8_t *x, int32_t h, int32_t wd, int32_t c, int32_t c0,
				 uint32_t off, const int8_t *wg, int32_t k, int32_t s, int32_t pad,
				 int32_t oh, int32_t ow, const struct lmq_rq *rq, int8_t *out,
				 int32_t ostep)
{
	struct lmq_rq1 r[4];
	int32_t oy, ox, ky0, ky1, kx0, kx1, j, acc[4];
	for (j = 0; j < 4; j++)
		lmq_rq1_init(&r[j], rq, c0 + j);
	for (oy = 0; oy < oh; oy++) {
		ky1 = lmq_dw_taps(oy, s, pad, k, h, &ky0);
		for (ox = 0; ox < ow; ox++, out += ostep) {
			kx1 = lmq_dw_taps(ox, s, pad, k, wd, &kx0);
			acc[0] = acc[1] = acc[2] = acc[3] = 0;
			if (ky1 > ky0 && kx1 > kx0)
				lmq_dwg_sum4(x + ((oy * s - pad + ky0) * wd + ox * s - pad + kx0) * c + c0,
					     wd * c, c, wg + 4 * (ky0 * k + kx0), k, ky1 - ky0,
					     kx1 - kx0, off, acc);
			for (j = 0; j < 4; j++)
				out[j] = lmq_requant1(acc[j], &r[j]);
		}
	}
}

/* As lmq_dw (same arguments and in-place rule), its weights w in lmq_dwg_layout. In place
 * (a scratch), a group's outputs wait in a stack buffer of LMQ_DWG_MAX_OUT pixels; a larger
 * output in place goes channel by channel through the scratch. */
LMQ_KERNEL void lmq_dwg_dsp(const int8_t *x, int32_t h, int32_t wd, int32_t c, int32_t x_zp,
			    const int8_t *w, int32_t k, int32_t s, int32_t pad, int32_t oh,
			    int32_t ow, const struct lmq_rq *rq, int8_t *y, int8_t *scratch)
{
	int8_t buf[4 * LMQ_DWG_MAX_OUT];
	uint32_t off = lmq_zp_pair(x_zp);
	int32_t kk = k * k, np = oh * ow, c0 = 0, ch, j, p;
	int grouped = !scratch || np <= LMQ_DWG_MAX_OUT;
	for (; grouped && c0 + 4 <= c; c0 += 4) {
		lmq_dwg_group(x, h, wd, c, c0, off, w + c0 * kk, k, s, pad, oh, ow, rq,
			      scratch ? buf : y + c0, scratch ? 4 : c);
		for (p = 0; scratch && p < np; p++)
			for (j = 0; j < 4; j++)
				y[p * c + c0 + j] = buf[4 * p + j];
	}
	for (ch = c0; ch < c; ch++) { /* the last c % 4 (or, large in place, every) channels */
		int in_group = ch < c - c % 4; /* its weights every 4th byte of its group's */
		const int8_t *wc = in_group ? w + (ch - ch % 4) * kk + ch % 4 : w + ch * kk;
		lmq_dw_direct_ch(x, h, wd, c, ch, x_zp, wc, in_group ? 4 : 1, k, s, pad, oh, ow, rq,
				 scratch ? scratch : y + ch, scratch ? 1 : c);
		for (p = 0; scratch && p < np; p++)
			y[p * c + ch] = scratch[p];
	}
}

/* ---- residual add and SE scaling ----
 * Their operands are small (a scaled input of an add below 255 * 2^20 < 2^28, an SE product
 * below 255^2), so with right shifts only (shift <= 0) and multipliers above INT32_MIN no sum
 * can overflow: each lmq_mbqm is one SMLAL (lmq_srdhm_dsp) and lmq_rdbpot_dsp, and the
 * saturations of the plain kernels never act. Otherwise the plain kernel runs. */

/* The rounding of a right shift by e (0..31): lmq_rdbpot_dsp's half and nadj. */
struct lmq_shr {
	int32_t e, half, nadj;
};

static inline struct lmq_shr lmq_shr_of(int32_t shift)
{
	struct lmq_shr r;
	r.e = -shift;
	r.half = (int32_t)((1u << r.e) >> 1);
	r.nadj = r.e ? -1 : 0;
	return r;
}

static inline int32_t lmq_mbqm_small(int32_t x, int32_t mult, struct lmq_shr r)
{
	return lmq_rdbpot_dsp(lmq_srdhm_dsp(x, mult), r.e, r.half, r.nadj);
}

/* As lmq_add (same arguments; y may be a or b). */
LMQ_KERNEL void lmq_add_dsp(const int8_t *a, int32_t a_zp, const int8_t *b, int32_t b_zp,
			    int32_t n, const int32_t *mult, const int8_t *shift, int32_t y_zp,
			    int8_t *y)
{
	int32_t ma = mult[0], mb = mult[1], my = mult[2], i;
	struct lmq_shr ra, rb, ry;
	if (shift[0] > 0 || shift[1] > 0 || shift[2] > 0 || ma == INT32_MIN || mb == INT32_MIN ||
	    my == INT32_MIN) {
		lmq_add(a, a_zp, b, b_zp, n, mult, shift, y_zp, y);
		return;
	}
	ra = lmq_shr_of(shift[0]);
	rb = lmq_shr_of(shift[1]);
	ry = lmq_shr_of(shift[2]);
	for (i = 0; i < n; i++) {
		int32_t sa = lmq_mbqm_small(((int32_t)a[i] - a_zp) * (1 << LMQ_ADD_LEFT_SHIFT), ma, ra);
		int32_t sb = lmq_mbqm_small(((int32_t)b[i] - b_zp) * (1 << LMQ_ADD_LEFT_SHIFT), mb, rb);
		y[i] = lmq_clamp(lmq_mbqm_small(sa + sb, my, ry) + y_zp, -128, 127);
	}
}

/* As lmq_scale (same arguments; y may be x): channel by channel, its gate in a register. */
LMQ_KERNEL void lmq_scale_dsp(const int8_t *x, int32_t np, int32_t c, int32_t x_zp,
			      const int8_t *g, int32_t g_zp, int32_t mult, int32_t shift,
			      int32_t y_zp, int8_t *y)
{
	int32_t p, ch;
	struct lmq_shr r;
	if (shift > 0 || mult == INT32_MIN) {
		lmq_scale(x, np, c, x_zp, g, g_zp, mult, shift, y_zp, y);
		return;
	}
	r = lmq_shr_of(shift);
	for (ch = 0; ch < c; ch++) {
		int32_t gc = (int32_t)g[ch] - g_zp;
		const int8_t *xp = x + ch;
		int8_t *yp = y + ch;
		for (p = 0; p < np; p++, xp += c, yp += c)
			*yp = lmq_clamp(lmq_mbqm_small(((int32_t)*xp - x_zp) * gc, mult, r) + y_zp,
					-128, 127);
	}
}
#endif
