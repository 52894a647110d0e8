/* test_qat_act.c — fake-quantised activations (qat_act.h): the grid is quantize's, the forward
 * rounds to it as the int8 model does, the straight-through backward passes the gradient inside
 * the clipping range and stops it outside (finite differences over many grid steps), the
 * observers (first batch, then EMA; frozen and float-transparent at inference), every rounded
 * tensor of a network (input, convs, SE scale, residual add, pool on its input's grid, logits),
 * the ranges' JSON round trip and its refusals, and quantize taking them in place of
 * calibrated ones for the very tensors of its int8 model. */
#include "t.h"
#include "small_net.h"
#include "core/arch.h"
#include "core/prng.h"
#include "core/util.h"
#include "engine/net.h"
#include "engine/nn_bn.h"
#include "engine/qat_act.h"
#include "int8/quant.h"

#include <cJSON.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B SMALL_NET_BATCH
#define RES SMALL_NET_RES

static void batch(float *x, int *y, uint64_t s)
{
	for (int i = 0; i < B * RES * RES; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		x[i] = (float)((s >> 40) % 2001) / 1000.0f - 1.0f;
	}
	for (int i = 0; i < B; i++)
		y[i] = i * 3 % 10;
}

/* The grid: quantize's rule (s = range / 255, zp = round(-128 - mn / s)), codes and rounding. */
static void test_grid(void)
{
	float s;
	int32_t zp;
	qat_act_qparams(-1.0f, 3.0f, &s, &zp);
	T_NEAR(s, 4.0 / 255, 1e-7, "scale = (max - min) / 255");
	T_CHECK(zp == -64, "zero point round(-128 + 1 / s) = -64 (got %d)", zp);
	qat_act_qparams(0.5f, 2.0f, &s, &zp);
	T_CHECK(zp == -128 && fabs(s - 2.0 / 255) < 1e-7, "a positive range is widened to 0");
	qat_act_qparams(FLT_MAX, -FLT_MAX, &s, &zp);
	T_CHECK(zp == -128 && s == 1e-8f, "a range never observed is [0, 0]");
	qat_act_qparams(-1.0f, 3.0f, &s, &zp);
	T_CHECK(qat_act_code(0.0, s, zp) == zp, "0 is exactly the zero point");
	T_CHECK(qat_act_code(10.0, s, zp) == 127 && qat_act_code(-10.0, s, zp) == -128,
		"codes clamp to -128..127");
	T_CHECK(qat_act_code(2.5 * s, s, zp) == zp + 3 && qat_act_code(-2.5 * s, s, zp) == zp - 3,
		"half a step rounds away from zero, as the requantisation does");

	float x[6] = {0.0f, 0.4f * s, 0.6f * s, 2.9f, 3.5f, -1.7f};
	uint8_t mask[6];
	qat_act_fake_quant(x, 6, -1.0f, 3.0f, mask);
	T_CHECK(x[0] == 0 && x[1] == 0 && fabsf(x[2] - s) < 1e-7f, "forward: to the nearest step");
	T_NEAR(x[4], (127 - zp) * (double)s, 1e-6, "forward: above the range, its top");
	T_NEAR(x[5], (-128 - zp) * (double)s, 1e-6, "forward: below the range, its bottom");
	T_CHECK(mask[0] && mask[1] && mask[2] && mask[3] && !mask[4] && !mask[5],
		"mask: 1 inside the clipping range, 0 where clipped");
	int on_grid = 1;
	for (int i = 0; i < 6; i++) {
		double c = x[i] / s + zp;
		on_grid &= fabs(c - round(c)) < 1e-3;
	}
	T_CHECK(on_grid, "every value is on the grid");
}

/* d x_q / d x by central differences over h = 20 steps: about 1 inside the range, exactly 0
 * beyond it, where the straight-through estimator says 1 and 0. */
static void test_ste_slope(void)
{
	float s;
	int32_t zp;
	qat_act_qparams(-1.0f, 3.0f, &s, &zp);
	double h = 20 * (double)s, worst_in = 0, worst_out = 0;
	for (int i = 0; i < 50; i++) {
		double x = -0.6 + 3.0 * i / 50.0; /* inside, 20 steps from either end */
		float a = (float)(x + h), b = (float)(x - h);
		uint8_t ma, mb;
		qat_act_fake_quant(&a, 1, -1.0f, 3.0f, &ma);
		qat_act_fake_quant(&b, 1, -1.0f, 3.0f, &mb);
		worst_in = fmax(worst_in, fabs((a - b) / (2 * h) - 1.0));
		float c = (float)(3.2 + 0.1 * i), d = c + 0.05f, e = (float)(-1.2 - 0.1 * i), f = e - 0.05f;
		qat_act_fake_quant(&c, 1, -1.0f, 3.0f, &ma);
		qat_act_fake_quant(&d, 1, -1.0f, 3.0f, &mb);
		worst_out = fmax(worst_out, fabs(c - d));
		qat_act_fake_quant(&e, 1, -1.0f, 3.0f, &ma);
		qat_act_fake_quant(&f, 1, -1.0f, 3.0f, &mb);
		worst_out = fmax(worst_out, fabs(e - f));
	}
	T_CHECK(worst_in <= 1.0 / 40 + 1e-6, "inside the range the slope is 1 (within a step over 2h: %.3g)",
		worst_in);
	T_CHECK(worst_out == 0, "beyond the range the slope is 0");
}

/* Every named tensor of the network is rounded to its point's grid (the pool to its input's). */
static void test_network_points(void)
{
	struct net *n = small_net(1);
	struct qat_act *a = qat_act_new(n);
	float x[B * RES * RES];
	int y[B];
	batch(x, y, 7);
	int points = 0, ties = 0;
	for (int t = 0; t < n->nt; t++)
		points += n->t[t].name[0] != 0;
	for (int i = 0; i < a->npoints; i++)
		ties += a->p[i].tie >= 0;
	/* input; layer 0: dw, project; layers 1, 2: expand, dw, se.scale, project (+ add in 2);
	 * head: pool, classifier; before the swish tables of the 4 expand and dw convs; inside each
	 * SE: pool, fc1, fc2.pre, gate */
	int pre = 0, fixed = 0;
	for (int i = 0; i < a->npoints; i++) {
		pre += a->p[i].part == NP_PRE;
		fixed += a->p[i].fixed;
	}
	T_CHECK(a->npoints == points + 4 + 8 && points == 14 && ties == 3 && pre == 4 && fixed == 2,
		"26 points (input, 10 convs and SE scales, the add, the pool, the logits, 4 before a "
		"swish, 4 in each SE), the 3 pools tied, the 2 gates fixed (got %d, %d tied, %d before "
		"a table, %d fixed)", a->npoints, ties, pre, fixed);
	net_forward(n, x, B, 1);
	int all_on_grid = 1, pool_input_grid = 0;
	for (int i = 0; i < a->npoints; i++) {
		const struct qat_act_point *p = &a->p[i], *r = p->tie >= 0 ? &a->p[p->tie] : p;
		const struct net_tensor *t = &n->t[p->tensor];
		const struct net_op *op = p->op >= 0 ? &n->ops[p->op] : NULL;
		const float *v = t->val;
		size_t len = t->per_image * B;
		if (p->part == NP_PRE)
			v = op->pre;
		if (p->part == NP_SE_POOL || p->part == NP_SE_GATE || p->part == NP_SE_FC1) {
			v = p->part == NP_SE_POOL ? op->se.p : p->part == NP_SE_GATE ? op->se.s
										 : op->se.a1;
			len = (size_t)B * (p->part == NP_SE_FC1 ? op->se_ch : op->cin);
		}
		if (p->part == NP_SE_FC2_PRE)
			continue; /* the sigmoid has overwritten it */
		float s;
		int32_t zp;
		qat_act_qparams(r->mn, r->mx, &s, &zp);
		for (size_t j = 0; j < len; j++) {
			double c = v[j] / s + zp;
			all_on_grid &= fabs(c - round(c)) < 2e-3 && c > -128.5 && c < 127.5;
		}
		pool_input_grid += p->tie >= 0 && !strcmp(t->name, "pool");
	}
	T_CHECK(all_on_grid, "after a training forward every point's values are on its grid (those "
		"before a table and inside SE too, the gate on 1/256)");
	T_CHECK(pool_input_grid == 1, "the pool keeps its input's grid");
	T_CHECK(qat_act_nranges(a) == 21, "21 ranges of their own are set");
	qat_act_free(a);
	T_CHECK(n->tap.forward == NULL, "qat_act_free removes the tap");
	net_free(n);
}

/* The observers: the first training batch sets the range, the next ones move it by 1 %;
 * inference neither moves it nor, before any training batch, rounds at all. */
static void test_observers(void)
{
	struct net *n = small_net(2), *plain = small_net(2);
	struct qat_act *a = qat_act_new(n);
	float x[B * RES * RES], x2[B * RES * RES];
	int y[B];
	batch(x, y, 7);
	batch(x2, y, 8);
	float *ref = xmalloc(sizeof(float) * B * 10);
	memcpy(ref, net_forward(plain, x, B, 0), sizeof(float) * B * 10);
	const float *lo = net_forward(n, x, B, 0);
	double d = 0;
	for (int j = 0; j < B * 10; j++)
		d = fmax(d, fabs(lo[j] - ref[j]));
	T_CHECK(d <= 1e-5, "inference before any training batch: the float network's logits (the "
		"split BNs' rounding apart: %.2g)", d);
	float bmn = FLT_MAX, bmx = -FLT_MAX;
	for (int i = 0; i < B * RES * RES; i++) {
		bmn = fminf(bmn, x[i]);
		bmx = fmaxf(bmx, x[i]);
	}
	net_forward(n, x, B, 1);
	const struct qat_act_point *in = &a->p[0];
	T_CHECK(in->seen && in->mn == bmn && in->mx == bmx,
		"the first batch sets the input range to its min and max [%g, %g]", in->mn, in->mx);
	float mn0 = in->mn, mx0 = in->mx;
	bmn = FLT_MAX;
	bmx = -FLT_MAX;
	for (int i = 0; i < B * RES * RES; i++) {
		x2[i] *= 2;
		bmn = fminf(bmn, x2[i]);
		bmx = fmaxf(bmx, x2[i]);
	}
	float *keep = xmalloc(sizeof x2);
	memcpy(keep, x2, sizeof x2);
	net_forward(n, x2, B, 1);
	T_NEAR(in->mn, mn0 + QAT_ACT_MOMENTUM * (bmn - mn0), 1e-6, "then min += 0.01 (batch min - min)");
	T_NEAR(in->mx, mx0 + QAT_ACT_MOMENTUM * (bmx - mx0), 1e-6, "and max += 0.01 (batch max - max)");
	T_CHECK(!memcmp(keep, x2, sizeof x2), "the caller's images are not rewritten");
	float mn1 = in->mn, mx1 = in->mx;
	net_forward(n, x2, B, 0);
	T_CHECK(in->mn == mn1 && in->mx == mx1, "inference leaves the ranges frozen");
	free(keep);
	free(ref);
	qat_act_free(a);
	net_free(n);
	net_free(plain);
}

/* Backward: the gradient of a clipped value stops there. After a training forward, class 0's
 * logits are marked clipped: the classifier bias gets no gradient for class 0 and the others'
 * unchanged; all marked clipped: no weight gets any gradient. */
static void test_backward_mask(void)
{
	struct net *n = small_net(3);
	struct qat_act *a = qat_act_new(n);
	float x[B * RES * RES];
	int y[B];
	batch(x, y, 9);
	uint8_t *mask = a->p[a->point_of[n->logits][NP_OUT]].mask;
	const struct net_entry *bias = net_find(n, "classifier.bias");
	float full[10];
	net_forward(n, x, B, 1);
	net_loss(n, y, B);
	net_backward(n, B);
	memcpy(full, n->grads + bias->off, sizeof full);
	for (int i = 0; i < B; i++)
		mask[i * 10] = 0;
	net_backward(n, B);
	int others = 1;
	for (int c = 1; c < 10; c++)
		others &= n->grads[bias->off + c] == full[c];
	T_CHECK(full[0] != 0 && n->grads[bias->off] == 0 && others,
		"class 0 clipped: its bias gradient %g becomes 0, the others' are unchanged", full[0]);
	net_loss(n, y, B); /* the tap zeroed class 0's d loss / d logits: write them again */
	memset(mask, 0, B * 10);
	net_backward(n, B);
	double any = 0;
	for (size_t i = 0; i < n->nparams; i++)
		any = fmax(any, fabs(n->grads[i]));
	T_CHECK(any == 0, "every logit clipped: no gradient anywhere (max %g)", any);
	qat_act_free(a);
	net_free(n);
}

/* A BN split from its activation (the value before a table is rounded there) computes what the
 * fused kernel does, forward and backward. */
static void test_split(void)
{
	struct net *f = small_net(5), *sp = small_net(5);
	float x[B * RES * RES];
	int y[B];
	batch(x, y, 13);
	int split = 0;
	for (int i = 0; i < sp->nops; i++)
		if (sp->ops[i].kind == NOP_BN && sp->ops[i].bn_act != BN_NO_ACT) {
			net_split_act(sp, i);
			split++;
		}
	double dl = 0, dg = 0, gmax = 0;
	const float *lf = net_forward(f, x, B, 1);
	net_loss(f, y, B);
	net_backward(f, B);
	float lfv[B * 10];
	memcpy(lfv, lf, sizeof lfv);
	const float *ls = net_forward(sp, x, B, 1);
	net_loss(sp, y, B);
	net_backward(sp, B);
	for (int j = 0; j < B * 10; j++)
		dl = fmax(dl, fabs(lfv[j] - ls[j]));
	for (size_t i = 0; i < f->nparams; i++) {
		dg = fmax(dg, fabs(f->grads[i] - sp->grads[i]));
		gmax = fmax(gmax, fabs(f->grads[i]));
	}
	T_CHECK(split == 5 && dl <= 1e-5, "%d BNs split: the logits of the fused kernels (max diff %.2g)",
		split, dl);
	T_CHECK(dg <= 1e-5 * fmax(gmax, 1), "and their gradients (max diff %.2g of %.2g)", dg, gmax);
	net_free(f);
	net_free(sp);
}

/* The ranges' JSON: back exactly; refusals name the entry. */
static void test_json(void)
{
	struct net *n = small_net(4), *m = small_net(4);
	struct qat_act *a = qat_act_new(n), *b = qat_act_new(m);
	float x[B * RES * RES];
	int y[B];
	batch(x, y, 11);
	net_forward(n, x, B, 1);
	net_forward(n, x, B, 1);
	char *js = qat_act_ranges_json(a);
	char err[256];
	int set = qat_act_ranges_parse(b, js, err, sizeof err);
	int same = set == 21;
	for (int i = 0; i < a->npoints; i++)
		same &= a->p[i].tie >= 0 ||
			(a->p[i].mn == b->p[i].mn && a->p[i].mx == b->p[i].mx && b->p[i].seen);
	T_CHECK(same, "JSON round trip: 21 ranges back bit for bit (%d set)", set);
	T_CHECK(qat_act_ranges_parse(b, "{\"nope\":[0,1]}", err, sizeof err) == -1 &&
			strstr(err, "nope"), "an unknown tensor is refused: %s", err);
	T_CHECK(qat_act_ranges_parse(b, "{\"input\":[2,1]}", err, sizeof err) == -1,
		"min > max is refused");
	T_CHECK(qat_act_ranges_parse(b, "{\"input\":[0,1e300]}", err, sizeof err) == -1,
		"a value beyond float is refused");
	T_CHECK(qat_act_ranges_parse(b, "{\"pool\":[0,1]}", err, sizeof err) == -1,
		"the tied pool has no range of its own");
	T_CHECK(qat_act_ranges_parse(b, "[1,2]", err, sizeof err) == -1, "not an object: refused");

	/* quantize: the same names are its int8 model's calibrated tensors */
	struct qmodel q;
	quant_graph_build(&n->arch, &n->an, &q);
	struct qcalib cal;
	quant_calib_init(&cal, n->an.nlayers);
	int used = quant_calib_use_qat(&cal, &q, js, err, sizeof err);
	int match = used == 21;
	for (int i = 0; i < a->npoints; i++) {
		const struct qat_act_point *p = &a->p[i];
		if (p->tie >= 0 || p->fixed)
			continue;
		char name[64];
		qat_act_point_name(a, i, name, sizeof name);
		char *dot = strstr(name, ".pre");
		if (dot)
			*dot = 0;
		int found = 0;
		for (int o = 0; dot && o < q.nops; o++)
			if (q.ops[o].cal_pre_slot >= 0 && !strcmp(q.ops[o].name, name)) {
				found = 1;
				match &= cal.mn[q.ops[o].cal_layer + 1][q.ops[o].cal_pre_slot] == p->mn &&
					 cal.mx[q.ops[o].cal_layer + 1][q.ops[o].cal_pre_slot] == p->mx;
			}
		for (int t = 0; !dot && t < q.ntensors; t++)
			if (q.t[t].cal_slot >= 0 && !strcmp(q.t[t].name, name)) {
				found = 1;
				match &= cal.mn[q.t[t].cal_layer + 1][q.t[t].cal_slot] == p->mn &&
					 cal.mx[q.t[t].cal_layer + 1][q.t[t].cal_slot] == p->mx;
			}
		match &= found;
	}
	T_CHECK(match, "quant_calib_use_qat: all 21 ranges land on the int8 tensors of those names, "
		"NAME.pre on the value before NAME's table (%d)", used);
	int calibrated = 0;
	for (int t = 0; t < q.ntensors; t++)
		calibrated += q.t[t].cal_slot >= 0;
	for (int o = 0; o < q.nops; o++)
		calibrated += q.ops[o].cal_pre_slot >= 0;
	T_CHECK(calibrated == used, "QAT trains every range quantize would calibrate (%d of %d)", used,
		calibrated);
	T_CHECK(quant_calib_use_qat(&cal, &q, "{\"layers.0.layers.0.dw.scratch\":[0,1]}", err,
				    sizeof err) == -1, "quantize refuses a name that is not a calibrated tensor");
	quant_calib_free(&cal);
	quant_free(&q);
	free(js);
	qat_act_free(a);
	qat_act_free(b);
	net_free(n);
	net_free(m);
}

/* The fast rounding (qat_act_code_unclamped) against lround (the plain reference), on values where they could part:
 * exact halves and their neighbours, signs, huge values, infinities, NaN, random ones. */
static void test_rounding_against_lround(void)
{
	static const float scales[] = {4.0f / 255, 1e-8f, 0.37f, 1.0f, 123.456f};
	static const int32_t zps[] = {-64, -128, 0, 127};
	long differ = 0, tried = 0;
	struct prng rng;
	prng_seed(&rng, 12345);
	for (size_t si = 0; si < sizeof scales / sizeof *scales; si++)
		for (size_t zi = 0; zi < sizeof zps / sizeof *zps; zi++) {
			float sc = scales[si];
			int32_t zp = zps[zi];
			double special[] = {0.0, -0.0, NAN, INFINITY, -INFINITY, 1e300, -1e300, 1e12, -1e12};
			for (size_t k = 0; k < sizeof special / sizeof *special; k++, tried++)
				differ += qat_act_code_unclamped(special[k], sc, zp) !=
					  qat_act_code_reference(special[k], sc, zp);
			for (int k = -300; k <= 300; k++) {
				double half = ((double)k + 0.5) * sc;
				double vs[] = {half, nextafter(half, INFINITY), nextafter(half, -INFINITY),
					       (double)k * sc, (float)half};
				for (size_t j = 0; j < sizeof vs / sizeof *vs; j++, tried++)
					differ += qat_act_code_unclamped(vs[j], sc, zp) !=
						  qat_act_code_reference(vs[j], sc, zp);
			}
			for (int k = 0; k < 20000; k++, tried++) {
				double v = ((double)prng_below(&rng, 2000001) - 1000000.0) / 1000.0 * sc *
					   (1 + (double)prng_below(&rng, 256));
				float vf = (float)v; /* the engine's values are floats */
				differ += qat_act_code_unclamped(vf, sc, zp) != qat_act_code_reference(vf, sc, zp);
			}
		}
	T_CHECK(differ == 0, "the fast rounding is lround's on %ld values (%ld differ)", tried, differ);
}

int main(void)
{
	test_grid();
	test_rounding_against_lround();
	test_ste_slope();
	test_network_points();
	test_observers();
	test_backward_mask();
	test_split();
	test_json();
	return t_done();
}
