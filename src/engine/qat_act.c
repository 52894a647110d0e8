/* qat_act.c — fake-quantised activations with observed ranges. See qat_act.h. */
#include "engine/qat_act.h"
#include "core/util.h"

#include <cJSON.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void qat_act_qparams(float mn, float mx, float *scale, int32_t *zp)
{
	if (mn > mx)
		mn = mx = 0; /* never observed */
	if (mn > 0)
		mn = 0;
	if (mx < 0)
		mx = 0;
	double s = ((double)mx - mn) / 255.0;
	if (s < 1e-8)
		s = 1e-8;
	long zr = lround(-128.0 - mn / s);
	*scale = (float)s;
	*zp = (int32_t)(zr < -128 ? -128 : zr > 127 ? 127 : zr);
}

/* round(v / scale) + zp before clamping, v / scale kept within +-1e9 (NaN: -1e9), rounded half
 * away from zero as lround does, without its call: the truncation and the remainder are exact
 * below 2^31, so the result is lround's (perf: this loop with lround's call was 44 % of kd --qat int8;
 * without the call kd ran 1.06-1.18x as fast, the same losses). */
int32_t qat_act_code_unclamped(double v, float scale, int32_t zp)
{
	double r = v / scale;
	r = r >= -1e9 ? r : -1e9;
	r = r <= 1e9 ? r : 1e9;
	int32_t t = (int32_t)r;
	double d = r - t;
	return t + (d >= 0.5) - (d <= -0.5) + zp;
}

/* The plain version: lround (tests/unit/test_qat_act.c holds the one above to it). */
long qat_act_code_reference(double v, float scale, int32_t zp)
{
	double r = v / scale;
	if (!(r >= -1e9))
		r = -1e9;
	if (r > 1e9)
		r = 1e9;
	return lround(r) + zp;
}

int8_t qat_act_code(double v, float scale, int32_t zp)
{
	int32_t q = qat_act_code_unclamped(v, scale, zp);
	return (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
}

void qat_act_fake_quant(float *x, size_t n, float mn, float mx, uint8_t *mask)
{
	float s;
	int32_t zp;
	qat_act_qparams(mn, mx, &s, &zp);
	#pragma omp parallel for schedule(static)
	for (size_t j = 0; j < n; j++) {
		int32_t q = qat_act_code_unclamped(x[j], s, zp);
		if (mask)
			mask[j] = q >= -128 && q <= 127;
		q = q < -128 ? -128 : q > 127 ? 127 : q;
		x[j] = (float)((double)s * (q - zp));
	}
}

/* The batch's min and max into *mn, *mx. */
static void batch_range(const float *x, size_t n, float *mn, float *mx)
{
	float lo = FLT_MAX, hi = -FLT_MAX;
	#pragma omp parallel for schedule(static) reduction(min : lo) reduction(max : hi)
	for (size_t j = 0; j < n; j++) {
		lo = x[j] < lo ? x[j] : lo;
		hi = x[j] > hi ? x[j] : hi;
	}
	*mn = lo;
	*mx = hi;
}

/* The tap's forward: observe (training), then round. */
static void tap_forward(void *ctx, int tensor, enum net_part part, float *val, size_t n, int train)
{
	struct qat_act *a = ctx;
	int i = a->point_of[tensor][part];
	if (i < 0)
		return;
	struct qat_act_point *p = &a->p[i];
	struct qat_act_point *r = p->tie >= 0 ? &a->p[p->tie] : p;
	if (train && p->tie < 0 && !p->fixed) {
		float lo, hi;
		batch_range(val, n, &lo, &hi);
		if (isfinite(lo) && isfinite(hi)) {
			if (!r->seen) {
				r->mn = lo;
				r->mx = hi;
				r->seen = 1;
			} else {
				r->mn += QAT_ACT_MOMENTUM * (lo - r->mn);
				r->mx += QAT_ACT_MOMENTUM * (hi - r->mx);
			}
		}
	}
	if (!r->seen) { /* no range yet (inference before training): the float values */
		if (train)
			memset(p->mask, 1, n);
		return;
	}
	qat_act_fake_quant(val, n, r->mn, r->mx, train ? p->mask : NULL);
}

/* The tap's backward: no gradient through a clipped value. */
static void tap_backward(void *ctx, int tensor, enum net_part part, float *grad, size_t n)
{
	struct qat_act *a = ctx;
	int i = a->point_of[tensor][part];
	if (i < 0 || !grad)
		return;
	const uint8_t *mask = a->p[i].mask;
	#pragma omp parallel for schedule(static)
	for (size_t j = 0; j < n; j++)
		if (!mask[j])
			grad[j] = 0;
}

/* The index of the op of n that writes tensor t, or -1 (the input). */
static int writer(const struct net *n, int t)
{
	for (int i = 0; i < n->nops; i++)
		if (n->ops[i].out == t)
			return i;
	return -1;
}

/* A new point on part of tensor t (written by op), per_image values an image, its range not yet
 * observed. */
static struct qat_act_point *add_point(struct qat_act *a, int t, enum net_part part, int op,
				       size_t per_image)
{
	struct qat_act_point *p = &a->p[a->npoints];
	p->tensor = t;
	p->part = part;
	p->op = op;
	p->tie = -1;
	p->mn = FLT_MAX;
	p->mx = -FLT_MAX;
	p->mask = xmalloc(per_image * (size_t)a->n->max_batch);
	a->point_of[t][part] = a->npoints++;
	return p;
}

/* The points inside SE op w (output t): the pool on its input's grid, the squeezed vector, the
 * excitation before the sigmoid, the gate on its fixed grid. */
static void add_se_points(struct qat_act *a, int t, int w)
{
	const struct net_op *op = &a->n->ops[w];
	add_point(a, t, NP_SE_POOL, w, (size_t)op->cin)->tie = a->point_of[op->in][NP_OUT];
	add_point(a, t, NP_SE_FC1, w, (size_t)op->se_ch);
	add_point(a, t, NP_SE_FC2_PRE, w, (size_t)op->cin);
	struct qat_act_point *g = add_point(a, t, NP_SE_GATE, w, (size_t)op->cin);
	g->fixed = g->seen = 1;
	g->mn = 0;
	g->mx = 255.0f / 256.0f;
}

struct qat_act *qat_act_new(struct net *n)
{
	struct qat_act *a = xcalloc(1, sizeof *a);
	a->n = n;
	a->point_of = xmalloc(sizeof *a->point_of * (size_t)n->nt);
	a->p = xcalloc(NP_NPARTS * (size_t)n->nt, sizeof *a->p);
	for (int t = 0; t < n->nt; t++) {
		for (int k = 0; k < NP_NPARTS; k++)
			a->point_of[t][k] = -1;
		if (!n->t[t].name[0])
			continue;
		int w = writer(n, t);
		const struct net_op *op = w >= 0 ? &n->ops[w] : NULL;
		size_t per = n->t[t].per_image;
		if (op && op->kind == NOP_BN &&
		    (op->bn_act == ACT_SWISH || op->bn_act == ACT_LEAKYRELU)) { /* int8: a table */
			net_split_act(n, w);
			add_point(a, t, NP_PRE, w, per);
		}
		if (op && op->kind == NOP_SE)
			add_se_points(a, t, w);
		struct qat_act_point *p = add_point(a, t, NP_OUT, w, per);
		if (op && op->kind == NOP_GAP) /* tensors are made in order: its input has its point */
			p->tie = a->point_of[op->in][NP_OUT];
	}
	struct net_tap tap = {tap_forward, tap_backward, a};
	net_set_tap(n, &tap);
	return a;
}

void qat_act_free(struct qat_act *a)
{
	if (!a)
		return;
	net_set_tap(a->n, NULL);
	for (int i = 0; i < a->npoints; i++)
		free(a->p[i].mask);
	free(a->p);
	free(a->point_of);
	free(a);
}

static const char *point_name(const struct qat_act *a, const struct qat_act_point *p, char *buf,
			      size_t len)
{
	const char *name = a->n->t[p->tensor].name;
	if (p->part == NP_SE_FC1 || p->part == NP_SE_FC2_PRE)
		name = a->n->ops[p->op].se_names[p->part == NP_SE_FC1 ? 0 : 1];
	int pre = p->part == NP_PRE || p->part == NP_SE_FC2_PRE;
	snprintf(buf, len, "%s%s", name, pre ? QAT_ACT_PRE : "");
	return buf;
}

const char *qat_act_point_name(const struct qat_act *a, int i, char *buf, size_t len)
{
	return point_name(a, &a->p[i], buf, len);
}

/* Whether p has a range of its own, saved and loaded. */
static int own_range(const struct qat_act_point *p)
{
	return p->tie < 0 && !p->fixed;
}

int qat_act_nranges(const struct qat_act *a)
{
	int k = 0;
	for (int i = 0; i < a->npoints; i++)
		k += own_range(&a->p[i]) && a->p[i].seen;
	return k;
}

char *qat_act_ranges_json(const struct qat_act *a)
{
	cJSON *o = cJSON_CreateObject();
	for (int i = 0; i < a->npoints; i++) {
		const struct qat_act_point *p = &a->p[i];
		if (!own_range(p) || !p->seen)
			continue;
		/* %.9g: the float comes back exactly */
		char text[64], name[64];
		snprintf(text, sizeof text, "[%.9g,%.9g]", (double)p->mn, (double)p->mx);
		cJSON_AddItemToObject(o, point_name(a, p, name, sizeof name), cJSON_Parse(text));
	}
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		die("out of memory");
	return s;
}

/* The own-range point called name, or -1. */
static int point_named(const struct qat_act *a, const char *name)
{
	char buf[64];
	for (int i = 0; i < a->npoints; i++)
		if (own_range(&a->p[i]) && !strcmp(point_name(a, &a->p[i], buf, sizeof buf), name))
			return i;
	return -1;
}

int qat_act_range_item(const cJSON *e, float *mn, float *mx)
{
	const cJSON *lo = cJSON_GetArrayItem(e, 0), *hi = cJSON_GetArrayItem(e, 1);
	if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2 || !cJSON_IsNumber(lo) ||
	    !cJSON_IsNumber(hi) || !(fabs(lo->valuedouble) <= FLT_MAX) ||
	    !(fabs(hi->valuedouble) <= FLT_MAX) || !(lo->valuedouble <= hi->valuedouble))
		return -1;
	*mn = (float)lo->valuedouble;
	*mx = (float)hi->valuedouble;
	return 0;
}

int qat_act_ranges_parse(struct qat_act *a, const char *json, char *err, size_t errlen)
{
	cJSON *o = cJSON_Parse(json);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return fail(err, errlen, "%s is not a JSON object", QAT_ACT_META);
	}
	int set = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, o)
	{
		int i = point_named(a, e->string ? e->string : "");
		float mn, mx;
		if (i < 0 || qat_act_range_item(e, &mn, &mx)) {
			fail(err, errlen, "%s: \"%.60s\" is %s", QAT_ACT_META, e->string ? e->string : "",
			     i < 0 ? "not an activation of this network"
				   : "not [min, max] (finite, min <= max)");
			cJSON_Delete(o);
			return -1;
		}
		a->p[i].mn = mn;
		a->p[i].mx = mx;
		a->p[i].seen = 1;
		set++;
	}
	cJSON_Delete(o);
	return set;
}
