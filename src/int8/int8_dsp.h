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
	int32_t p, o, a0, a1;
	for (p = 0; p < np; p++) {
		const int8_t *xp = x + p * cin;
		int8_t *yp = y + p * cout;
		for (o = 0; o + 2 <= cout; o += 2) {
			lmq_dot2_dsp(xp, w + o * cin, w + (o + 1) * cin, cin, x_zp, &a0, &a1);
			yp[o] = lmq_requant_dsp(a0, rq, o);
			yp[o + 1] = lmq_requant_dsp(a1, rq, o + 1);
		}
		if (o < cout)
			yp[o] = lmq_requant_dsp(lmq_dot_dsp(xp, w + o * cin, cin, x_zp), rq, o);
	}
}

/* ---- depthwise ---- */

/* The largest kernel the DSP depthwise packs on the stack; larger ones run lmq_dw. */
#define LMQ_DW_DSP_MAX_K 7

/* Channel ch of a depthwise conv at output (oy, ox): the taps inside the image, two at a time
 * along a row. wp[ky][kx] = {w[ky][kx], w[ky][kx + 1]} (0 past the row). */
static inline int32_t lmq_dw_pixel_dsp(const int8_t *x, int32_t h, int32_t wd, int32_t c,
				       uint32_t off, int32_t x_zp, const int8_t *wc,
				       const uint32_t wp[][LMQ_DW_DSP_MAX_K], int32_t k,
				       int32_t iy0, int32_t ix0)
{
	int32_t ky0 = iy0 < 0 ? -iy0 : 0, ky1 = h - iy0 < k ? h - iy0 : k;
	int32_t kx0 = ix0 < 0 ? -ix0 : 0, kx1 = wd - ix0 < k ? wd - ix0 : k;
	int32_t acc = 0, ky, kx;
	for (ky = ky0; ky < ky1; ky++) {
		const int8_t *row = x + ((iy0 + ky) * wd + ix0) * c;
		for (kx = kx0; kx + 2 <= kx1; kx += 2) {
			uint32_t pair = (uint32_t)(uint8_t)row[kx * c] |
					(uint32_t)(uint8_t)row[(kx + 1) * c] << 16;
			acc = lmq_smlad(lmq_sxtab16(off, pair), wp[ky][kx], acc);
		}
		if (kx < kx1)
			acc += ((int32_t)row[kx * c] - x_zp) * wc[ky * k + kx];
	}
	return acc;
}

/* As lmq_dw (same arguments, same in-place rule with a scratch): channel by channel. */
LMQ_KERNEL void lmq_dw_dsp(const int8_t *x, int32_t h, int32_t wd, int32_t c, int32_t x_zp,
			   const int8_t *w, int32_t k, int32_t s, int32_t pad, int32_t oh,
			   int32_t ow, const struct lmq_rq *rq, int8_t *y, int8_t *scratch)
{
	uint32_t wp[LMQ_DW_DSP_MAX_K][LMQ_DW_DSP_MAX_K];
	uint32_t off = lmq_zp_pair(x_zp);
	int32_t ch, oy, ox, ky, kx, p;
	if (k > LMQ_DW_DSP_MAX_K) {
		lmq_dw(x, h, wd, c, x_zp, w, k, s, pad, oh, ow, rq, y, scratch);
		return;
	}
	for (ch = 0; ch < c; ch++) {
		const int8_t *wc = w + ch * k * k;
		for (ky = 0; ky < k; ky++)
			for (kx = 0; kx < k; kx++)
				wp[ky][kx] = ((uint32_t)(uint16_t)wc[ky * k + kx]) |
					     (kx + 1 < k ? (uint32_t)(uint16_t)wc[ky * k + kx + 1] << 16
							 : 0u);
		for (oy = 0; oy < oh; oy++)
			for (ox = 0; ox < ow; ox++) {
				int32_t acc = lmq_dw_pixel_dsp(x + ch, h, wd, c, off, x_zp, wc,
							       (const uint32_t(*)[LMQ_DW_DSP_MAX_K])wp,
							       k, oy * s - pad, ox * s - pad);
				if (scratch)
					scratch[oy * ow + ox] = lmq_requant_dsp(acc, rq, ch);
				else
					y[(oy * ow + ox) * c + ch] = lmq_requant_dsp(acc, rq, ch);
			}
		if (scratch)
			for (p = 0; p < oh * ow; p++)
				y[p * c + ch] = scratch[p];
	}
}
#endif
