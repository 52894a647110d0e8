/* qat.h — quantisation-aware training: fake-quantised weights with a straight-through estimator.
 *
 * Every conv and linear weight of the network is replaced, for the forward and backward pass of a
 * training step, by the value the int8 model will hold (quant.h), and put back before the
 * optimizer step, so the gradient computed at the quantised weights updates the float ("master")
 * weights unchanged: the straight-through estimator d w_q / d w = 1.
 *
 *   int8:    per output channel, s = max|w| / 127, w_q = s * clamp(round(w / s), -127, 127)
 *   ternary: the convs quantize --weight-format ternary makes ternary (cost_op_ternary: all
 *            but the first conv and the classifier) per output channel: a depthwise tap that
 *            only ever meets padding is 0 (its weight never touches the image; left in, it
 *            would take a zero's place and leave the taps that matter nearly binary), of the
 *            others the fraction `sparsity` of smallest |w| become 0, the rest +-alpha, alpha =
 *            mean |w| of the kept ones; the first conv and the classifier as int8.
 *
 * Both are per output channel and invariant to a positive or negative per-channel factor, so
 * quantising before BN folding gives the weights quantize computes after it (the same codes;
 * the scale times the BN factor).
 *
 * Usage in a training step:
 *     qat_quantize(q, n);   net_forward(n, x, B, 1);  ...  net_backward(n, B);
 *     qat_restore(q, n);    sgd_step(opt, n->params, n->grads, lr); */
#ifndef LMNAS_QAT_H
#define LMNAS_QAT_H
#include <stddef.h>
#include <stdint.h>
#include "engine/net.h"

enum qat_mode { QAT_OFF, QAT_INT8, QAT_TERNARY };

/* The checkpoint's metadata key of train's --int8-ops (train.c records each option in effect as
 * "option --NAME"): quantize --weight-format ternary keeps the same convs int8. */
#define QAT_INT8_OPS_META "option --int8-ops"

/* One quantised weight tensor: cout channels of per weights, channel c's weight j at
 * params[off + j * jstride + c * cstride]. */
struct qat_tensor {
	size_t off;
	int cout, per;
	size_t jstride, cstride;
	int ternary;
	unsigned char *live; /* [per] taps that meet the image (depthwise, ternary), or NULL */
};

struct qat {
	enum qat_mode mode;
	double sparsity;
	int ntensors;
	struct qat_tensor *t;
	float *master;     /* [nparams] the float weights while the quantised ones are in place */
	float *scratch;    /* [largest per] one channel, gathered */
	float *sorted;     /* [largest per] its |w| sorted (ternary) */
	int8_t *codes;     /* [largest per] */
	int quantized;     /* 1 between qat_quantize and qat_restore */
};

/* "int8", "ternary" (or "off") -> mode. Returns 0, or -1. */
int qat_mode_parse(const char *s, enum qat_mode *m);
const char *qat_mode_name(enum qat_mode m);

/* The quantised tensors of n for mode (not QAT_OFF), sparsity in [0, 1); int8_ops: with
 * ternary, the convs that stay int8 (cost.h struct cost_weights; names checked by the caller
 * with cost_int8_ops_check), or NULL. */
struct qat *qat_new(const struct net *n, enum qat_mode mode, double sparsity, const char *int8_ops);
void qat_free(struct qat *q);

/* Saves the float weights and writes the fake-quantised ones in their place. */
void qat_quantize(struct qat *q, struct net *n);
/* Puts the float weights back (gradients untouched). */
void qat_restore(struct qat *q, struct net *n);

/* One channel, w [n] contiguous. int8: writes codes -127..127 to q and returns the scale
 * (max|w| / 127; 1 when all are zero). */
float qat_int8_channel(const float *w, int n, int8_t *q);
/* Ternary (the one rule, quant.c uses it too): a tap whose live[j] is 0 (it only ever meets
 * padding: graph_live_taps) becomes 0; of the live weights, the (int)(sparsity * live count)
 * smallest |w| become 0 and the rest sign(w) into q. live NULL: every weight is live. Returns
 * alpha, the mean |w| of the kept ones (1 when none is kept). tmp: [n] scratch. */
float qat_ternary_channel(const float *w, int n, const unsigned char *live, double sparsity,
			  float *tmp, int8_t *q);
#endif
