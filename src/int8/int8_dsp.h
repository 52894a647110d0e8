/* int8_dsp.h — the 1x1 convolution (also the classifier and SE's fully connected layers) and the
 * depthwise convolution for cores with the Armv7E-M DSP extension (Cortex-M4, M7, M33 with
 * DSP): two 16-bit multiply-accumulates per instruction (SMLAD) on int8 values widened two at a
 * time (SXTB16, SXTAB16), through the ACLE intrinsics of arm_acle.h, as CMSIS-NN does.
 *
 * Bit-exact with the plain kernels of int8_ref.h (include that first): the same int32 sums,
 * only in another order (no overflow, see int8_ref.h), and the same requantisation in fewer
 * instructions (lmq_requant_dsp). emit-c copies
 * this file next to int8_ref.h; the model calls LMQ_PW and LMQ_DW, which are these kernels when
 * compiling for a core with the extension (__ARM_FEATURE_DSP) and the plain ones otherwise, or
 * when LMNAS_PLAIN_KERNELS is defined. Elsewhere (the host) the intrinsics are plain C with the
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
#else
#define LMQ_PW lmq_pw
#define LMQ_DW lmq_dw
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
/* a + b saturated to int32 */
static inline int32_t lmq_qadd(int32_t a, int32_t b)
{
	return __qadd(a, b);
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
#endif

/* lmq_requant with fewer instructions, bit for bit the same: for a right shift (shift <= 0) and
 * a multiplier above INT32_MIN (every multiplier quantize makes is in [2^30, 2^31)), lmq_srdhm is
 * round-half-up of a * b / 2^31 = (a * b + 2^30) >> 31 for either sign (its nudge and truncation
 * combined), and the saturating sums are QADD. Other cases take lmq_requant. */
static inline int8_t lmq_requant_dsp(int32_t acc, const struct lmq_rq *rq, int c)
{
	int32_t shift = rq->shift[c], mult = rq->mult[c], v, q;
	if (shift > 0 || mult == INT32_MIN)
		return lmq_requant(acc, rq, c);
	v = lmq_qadd(acc, rq->bias[c]);
	v = (int32_t)(((int64_t)v * mult + ((int64_t)1 << 30)) >> 31);
	q = lmq_qadd(lmq_rdbpot(v, -shift), rq->out_zp);
	q = q < rq->lo ? rq->lo : q > rq->hi ? rq->hi : q;
	return rq->lut ? rq->lut[q + 128] : (int8_t)q;
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

/* Two output channels (weights w0, w1) of one pixel: the input widened once for both. */
static inline void lmq_dot2_dsp(const int8_t *x, const int8_t *w0, const int8_t *w1,
				int32_t cin, int32_t x_zp, int32_t *acc0, int32_t *acc1)
{
	uint32_t off = lmq_zp_pair(x_zp);
	int32_t a0 = 0, a1 = 0, i;
	for (i = 0; i + 4 <= cin; i += 4) {
		uint32_t xv = lmq_read4(x + i);
		uint32_t xa = lmq_sxtab16(off, xv), xb = lmq_sxtab16_ror8(off, xv);
		uint32_t wv = lmq_read4(w0 + i);
		a0 = lmq_smlad(xa, lmq_sxtb16(wv), a0);
		a0 = lmq_smlad(xb, lmq_sxtb16_ror8(wv), a0);
		wv = lmq_read4(w1 + i);
		a1 = lmq_smlad(xa, lmq_sxtb16(wv), a1);
		a1 = lmq_smlad(xb, lmq_sxtb16_ror8(wv), a1);
	}
	for (; i < cin; i++) {
		int32_t xi = (int32_t)x[i] - x_zp;
		a0 += xi * w0[i];
		a1 += xi * w1[i];
	}
	*acc0 = a0;
	*acc1 = a1;
}

/* As lmq_pw: x [np][cin], w [cout][cin], y [np][cout], y not overlapping x. */
LMQ_KERNEL void lmq_pw_dsp(const int8_t *x, int32_t np, int32_t cin, int32_t x_zp,
			   const int8_t *w, int32_t cout, const struct lmq_rq *rq, int8_t *y)
{
	const struct lmq_rq r = *rq; /* a local copy: the stores to y cannot change it */
	int32_t p, o, a0, a1;
	for (p = 0; p < np; p++) {
		const int8_t *xp = x + p * cin;
		int8_t *yp = y + p * cout;
		for (o = 0; o + 2 <= cout; o += 2) {
			lmq_dot2_dsp(xp, w + o * cin, w + (o + 1) * cin, cin, x_zp, &a0, &a1);
			yp[o] = lmq_requant_dsp(a0, &r, o);
			yp[o + 1] = lmq_requant_dsp(a1, &r, o + 1);
		}
		if (o < cout)
			yp[o] = lmq_requant_dsp(lmq_dot_dsp(xp, w + o * cin, cin, x_zp), &r, o);
	}
}

/* ---- depthwise ----
 * Channel by channel, as lmq_dw (so the same in-place rule holds). The rows of the channel a
 * window needs are gathered, padded with x_zp (whose x - x_zp is 0, as lmq_dw's skipped taps),
 * into k contiguous row buffers on the stack, each filled once per channel; then every output
 * reads taps four at a time with one word load: SXTAB16 gives taps {0, 2} and {1, 3} minus the
 * zero point, SMLAD multiplies them by the weights packed the same way (0 past the kernel). */

/* The largest kernel, and the longest padded row (input width + 2 * pad + 3 bytes read past a
 * row's last tap), the DSP depthwise takes; larger ones run lmq_dw. Stack: k * LMQ_DW_ROW
 * bytes of rows and 2 * k * 2 words of weights, under 1.4 KiB. */
#define LMQ_DW_DSP_MAX_K 7
#define LMQ_DW_ROW 192
#define LMQ_DW_WORDS 2 /* words of 4 taps per kernel row: (LMQ_DW_DSP_MAX_K + 3) / 4 */

/* One output: k rows from rows[ky] + at, four taps per word. wa/wb: weights of taps {4j, 4j+2}
 * and {4j+1, 4j+3} of each row. Inlined with a constant k, the loops unroll. */
static inline int32_t lmq_dw_window_dsp(const int8_t *const *rows, int32_t at, int32_t k,
					uint32_t off, const uint32_t wa[][LMQ_DW_WORDS],
					const uint32_t wb[][LMQ_DW_WORDS])
{
	int32_t acc = 0, ky, j;
	for (ky = 0; ky < k; ky++)
		for (j = 0; j < (k + 3) / 4; j++) {
			uint32_t v = lmq_read4(rows[ky] + at + 4 * j);
			acc = lmq_smlad(lmq_sxtab16(off, v), wa[ky][j], acc);
			acc = lmq_smlad(lmq_sxtab16_ror8(off, v), wb[ky][j], acc);
		}
	return acc;
}

/* Input row iy of channel 0 of x (x already offset to the channel), padded: buf[pad + ix] =
 * x[iy][ix] for 0 <= ix < wd, x_zp around it and for the 3 bytes past (len bytes in all). */
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
	for (i = 0; i < wd; i++, src += c)
		buf[pad + i] = *src;
	for (i = pad + wd; i < len; i++)
		buf[i] = (int8_t)x_zp;
}

/* The weights of channel wc packed for lmq_dw_window_dsp. */
static inline void lmq_dw_pack(const int8_t *wc, int32_t k, uint32_t wa[][LMQ_DW_WORDS],
			       uint32_t wb[][LMQ_DW_WORDS])
{
	int32_t ky, j;
	for (ky = 0; ky < k; ky++)
		for (j = 0; j < LMQ_DW_WORDS; j++) {
			int32_t t = 4 * j, r = ky * k;
			uint32_t w0 = t < k ? (uint16_t)wc[r + t] : 0u;
			uint32_t w1 = t + 1 < k ? (uint16_t)wc[r + t + 1] : 0u;
			uint32_t w2 = t + 2 < k ? (uint16_t)wc[r + t + 2] : 0u;
			uint32_t w3 = t + 3 < k ? (uint16_t)wc[r + t + 3] : 0u;
			wa[ky][j] = w0 | w2 << 16;
			wb[ky][j] = w1 | w3 << 16;
		}
}

/* One channel's requantisation, its parameters loaded once (as lmq_requant_dsp). */
struct lmq_rq1 {
	const struct lmq_rq *rq;
	int32_t c, bias, mult, shift, out_zp, lo, hi;
	const int8_t *lut;
};

static inline void lmq_rq1_init(struct lmq_rq1 *r, const struct lmq_rq *rq, int32_t c)
{
	r->rq = rq;
	r->c = c;
	r->bias = rq->bias[c];
	r->mult = rq->mult[c];
	r->shift = rq->shift[c];
	r->out_zp = rq->out_zp;
	r->lo = rq->lo;
	r->hi = rq->hi;
	r->lut = rq->lut;
}

static inline int8_t lmq_requant1(int32_t acc, const struct lmq_rq1 *r)
{
	int32_t v, q;
	if (r->shift > 0 || r->mult == INT32_MIN)
		return lmq_requant(acc, r->rq, r->c);
	v = lmq_qadd(acc, r->bias);
	v = (int32_t)(((int64_t)v * r->mult + ((int64_t)1 << 30)) >> 31);
	q = lmq_qadd(lmq_rdbpot(v, -r->shift), r->out_zp);
	q = q < r->lo ? r->lo : q > r->hi ? r->hi : q;
	return r->lut ? r->lut[q + 128] : (int8_t)q;
}

/* One output row of a channel: out[ox * ostep] for ox < ow (unrolled for 3x3, 5x5, 7x7). */
static inline void lmq_dw_row_dsp(const int8_t *const *rows, int32_t k, int32_t s, int32_t ow,
				  uint32_t off, const uint32_t wa[][LMQ_DW_WORDS],
				  const uint32_t wb[][LMQ_DW_WORDS], const struct lmq_rq1 *r,
				  int8_t *out, int32_t ostep)
{
	int32_t ox, acc;
	for (ox = 0; ox < ow; ox++) {
		if (k == 3)
			acc = lmq_dw_window_dsp(rows, ox * s, 3, off, wa, wb);
		else if (k == 5)
			acc = lmq_dw_window_dsp(rows, ox * s, 5, off, wa, wb);
		else if (k == 7)
			acc = lmq_dw_window_dsp(rows, ox * s, 7, off, wa, wb);
		else
			acc = lmq_dw_window_dsp(rows, ox * s, k, off, wa, wb);
		out[ox * ostep] = lmq_requant1(acc, r);
	}
}

/* As lmq_dw (same arguments, same in-place rule with a scratch). */
LMQ_KERNEL void lmq_dw_dsp(const int8_t *x, int32_t h, int32_t wd, int32_t c, int32_t x_zp,
			   const int8_t *w, int32_t k, int32_t s, int32_t pad, int32_t oh,
			   int32_t ow, const struct lmq_rq *rq, int8_t *y, int8_t *scratch)
{
	int8_t buf[LMQ_DW_DSP_MAX_K][LMQ_DW_ROW];
	int32_t held[LMQ_DW_DSP_MAX_K]; /* the input row in each buffer */
	uint32_t wa[LMQ_DW_DSP_MAX_K][LMQ_DW_WORDS], wb[LMQ_DW_DSP_MAX_K][LMQ_DW_WORDS];
	const int8_t *rows[LMQ_DW_DSP_MAX_K];
	uint32_t off = lmq_zp_pair(x_zp);
	int32_t len = wd + 2 * pad + 3, ch, oy, ky, p;
	if (k > LMQ_DW_DSP_MAX_K || len > LMQ_DW_ROW || pad < 0 || s < 1) {
		lmq_dw(x, h, wd, c, x_zp, w, k, s, pad, oh, ow, rq, y, scratch);
		return;
	}
	for (ch = 0; ch < c; ch++) {
		struct lmq_rq1 r;
		lmq_rq1_init(&r, rq, ch);
		lmq_dw_pack(w + ch * k * k, k, wa, wb);
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
			lmq_dw_row_dsp(rows, k, s, ow, off, (const uint32_t(*)[LMQ_DW_WORDS])wa,
				       (const uint32_t(*)[LMQ_DW_WORDS])wb, &r,
				       scratch ? scratch + oy * ow : y + oy * ow * c + ch,
				       scratch ? 1 : c);
		}
		if (scratch)
			for (p = 0; p < oh * ow; p++)
				y[p * c + ch] = scratch[p];
	}
}
#endif
