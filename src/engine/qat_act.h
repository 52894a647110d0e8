/* qat_act.h — fake-quantised activations for int8 quantisation-aware training.
 *
 * The int8 model (quant.h, DESIGN.md "int8") rounds every activation tensor it holds to a
 * per-tensor asymmetric int8 grid: the input, each conv's output after its folded BN and
 * activation, the SE scale's and the residual add's outputs, the pooled vector (on its input's
 * grid) and the logits. Those are the network's named tensors (net_tensor.name: graph.h's op
 * names, the names of the int8 model's tensors), and this module rounds each of them during
 * training the way the deployed model will (through net.h's tap):
 *
 *   range:   per tensor [mn, mx], widened to include 0; in training an exponential moving
 *            average of each batch's min and max (the first batch sets it), momentum
 *            QAT_ACT_MOMENTUM; at inference frozen (and not applied before the first training
 *            batch has set it);
 *   grid:    qat_act_qparams (the one rule; quant.c deploys with it): s = (mx - mn) / 255,
 *            zp = round(-128 - mn / s);
 *   forward: x_q = s * (clamp(round(x / s) + zp, -128, 127) - zp), round half away from zero
 *            as the int8 kernels' requantisation does;
 *   backward (straight-through estimator): d x_q / d x = 1 where round(x / s) + zp lies in
 *            -128..127, 0 outside (a clipped value gets no gradient).
 *
 * A conv ending in a lookup-table activation (swish, LeakyReLU) is requantised before its table
 * too: that value ("NAME.pre") is rounded to a grid of its own between BN and the activation
 * (net_split_act). Inside SE (nn_se.h's tap): the squeezed vector after ReLU ("...se.fc1"), the
 * excitation before its sigmoid table ("...se.fc2.pre") and the gate on quantize's fixed grid
 * (scale 1/256, zero point -128). A pooled vector (head and SE: GAP) keeps its input's grid, as
 * the int8 pool does, and has no range of its own.
 *
 * The ranges travel as JSON text {"NAME": [mn, mx], ...} (qat_act_ranges_json) in the
 * checkpoint's and the resume state's metadata under QAT_ACT_META; quantize uses them instead of
 * calibrated ones for the same tensors. */
#ifndef LMNAS_QAT_ACT_H
#define LMNAS_QAT_ACT_H
#include <stddef.h>
#include <stdint.h>
#include "engine/net.h"

#define QAT_ACT_META "qat_activation_ranges"
#define QAT_ACT_MOMENTUM 0.01f
#define QAT_ACT_PRE ".pre" /* the name suffix of a value before its activation */

/* The int8 grid of range [mn, mx] (widened to include 0; mn > mx: never observed, [0, 0]). */
void qat_act_qparams(float mn, float mx, float *scale, int32_t *zp);
/* The int8 code of v on grid (scale, zp), clamped to -128..127. */
int8_t qat_act_code(double v, float scale, int32_t zp);
/* The code before clamping (v / scale kept within +-1e9, NaN -1e9, rounded half away from zero),
 * and the same computed plainly with lround: the reference the tests hold it to. */
int32_t qat_act_code_unclamped(double v, float scale, int32_t zp);
long qat_act_code_reference(double v, float scale, int32_t zp);
/* x [n] rounded in place to the grid of [mn, mx]; mask [n] (may be NULL): 1 where the value is
 * inside the clipping range, 0 where it was clipped. */
void qat_act_fake_quant(float *x, size_t n, float mn, float mx, uint8_t *mask);

struct qat_act_point {
	int tensor;         /* net tensor index */
	enum net_part part; /* which of its values (net.h) */
	int op;             /* the op writing tensor (-1: the input) */
	int tie;            /* the point whose range it uses (GAP: its input's), or -1: its own */
	int fixed;          /* 1: a fixed range (the SE gate: [0, 255/256], quantize's 1/256 grid) */
	float mn, mx;       /* the range */
	int seen;           /* 1 once a training batch has set the range */
	uint8_t *mask;      /* [max_batch * values per image] the last training forward's clip mask */
};

struct qat_act {
	struct net *n;
	int npoints;
	struct qat_act_point *p;
	int (*point_of)[NP_NPARTS]; /* [n->nt][part] -> point, or -1 */
};

/* The points of every named tensor of n, installed as n's tap. Free with qat_act_free (which
 * removes the tap). */
struct qat_act *qat_act_new(struct net *n);
void qat_act_free(struct qat_act *a);

/* The name point i's range is saved under (quantize's name of that int8 tensor): the tensor's,
 * "NAME.pre" for the value before a table, the SE's 1x1 convs' ("...se.fc1", "...se.fc2.pre").
 * Returns buf. */
const char *qat_act_point_name(const struct qat_act *a, int i, char *buf, size_t len);
/* The number of points with a range of their own that is set. */
int qat_act_nranges(const struct qat_act *a);
/* The ranges of the points that have one (seen, not tied) as a JSON object, malloc'd text. */
char *qat_act_ranges_json(const struct qat_act *a);
/* One entry of that object: 0 with *mn, *mx when it is [mn, mx], two finite floats, mn <= mx;
 * else -1. */
struct cJSON;
int qat_act_range_item(const struct cJSON *e, float *mn, float *mx);
/* Sets ranges from that text. Every name must be one of a's own-range points, each value two
 * finite numbers mn <= mx. Returns the number set, or -1 with err. */
int qat_act_ranges_parse(struct qat_act *a, const char *json, char *err, size_t errlen);
#endif
