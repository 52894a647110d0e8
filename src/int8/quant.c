/* quant.c — the int8 op graph, its arena plan, calibration, quantisation, and the int8 file. */
#include "int8/quant.h"
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cost/cost.h"
#include "cost/graph.h"
#include "cost/plan.h"
#include "engine/dataset.h"
#include "engine/qat.h"
#include "engine/qat_act.h"
#include <cJSON.h>
#include "core/safetensors.h"
#include "core/util.h"
#include "int8/int8_ref.h"
#include <errno.h>

/* ---- graph ---- */

static int add_tensor(struct qmodel *m, const char *name, size_t size, int layer, int slot)
{
	struct qtensor *t = &m->t[m->ntensors];
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "%.127s", name);
	t->size = size;
	t->first = -2;
	t->last = -2;
	t->alias = -1;
	t->cal_layer = layer;
	t->cal_slot = slot;
	t->scale = 1;
	return m->ntensors++;
}

static struct qop *add_op(struct qmodel *m, enum qop_kind kind, const char *name, int in, int in2,
			  int out)
{
	struct qop *o = &m->ops[m->nops++];
	memset(o, 0, sizeof *o);
	o->kind = kind;
	snprintf(o->name, sizeof o->name, "%.127s", name);
	o->in = in;
	o->in2 = in2;
	o->out = out;
	o->scratch = -1;
	o->scratch_t = -1;
	o->cal_pre_slot = -1;
	o->k = 1;
	o->stride = 1;
	return o;
}

static enum qact qact_of(enum op_act a)
{
	switch (a) {
	case OPACT_NONE: return QACT_NONE;
	case OPACT_RELU: return QACT_RELU;
	case OPACT_RELU6: return QACT_RELU6;
	case OPACT_LEAKYRELU: return QACT_LUT_LEAKY;
	case OPACT_SWISH: return QACT_LUT_SWISH;
	case OPACT_SIGMOID: return QACT_LUT_SIGMOID;
	}
	return QACT_NONE;
}

static int is_lut(enum qact a)
{
	return a == QACT_LUT_SIGMOID || a == QACT_LUT_SWISH || a == QACT_LUT_LEAKY;
}

/* The int8 op of graph op i, named as the graph names it, with its output tensor (and, for a
 * depthwise conv, a scratch tensor, used when the plan runs it in place). Calibration slots are
 * where fold_forward reports the op's values. tmap: graph tensor -> int8 tensor. */
static void add_graph_op(struct qmodel *m, const struct graph *g, int i, int *tmap)
{
	static const enum qop_kind kind[] = {
		[OP_PW] = QOP_PW, [OP_DW] = QOP_DW, [OP_SE_POOL] = QOP_GAP, [OP_SE_FC1] = QOP_PW,
		[OP_SE_FC2] = QOP_PW, [OP_SE_SCALE] = QOP_SCALE, [OP_ADD] = QOP_ADD,
		[OP_POOL] = QOP_GAP, [OP_LINEAR] = QOP_PW};
	const struct g_op *go = &g->ops[i];
	const struct g_tensor *ti = &g->tensors[go->in[0]], *to = &g->tensors[go->out];
	struct fold_obs ob = fold_op_obs(&m->net, go);
	tmap[go->out] = add_tensor(m, go->name, (size_t)to->bytes, ob.layer, ob.out);
	int scratch = -1;
	if (go->kind == OP_DW) {
		char sname[112];
		snprintf(sname, sizeof sname, "%.100s.scratch", go->name);
		scratch = add_tensor(m, sname, (size_t)to->h * to->w, ob.layer, -1);
		if (go->scratch >= 0)
			tmap[go->scratch] = scratch;
	}
	struct qop *o = add_op(m, kind[go->kind], go->name, tmap[go->in[0]],
			       go->nin > 1 ? tmap[go->in[1]] : -1, tmap[go->out]);
	o->scratch = o->scratch_t = scratch;
	o->np = to->h * to->w;
	o->cin = ti->c;
	o->cout = to->c;
	o->act = qact_of(go->act);
	o->cal_layer = go->layer;
	o->cal_pre_slot = is_lut(o->act) ? ob.pre : -1;
	if (o->kind == QOP_DW || o->kind == QOP_GAP) {
		o->h = ti->h;
		o->wd = ti->w;
	}
	if (o->kind == QOP_DW) {
		o->oh = to->h;
		o->ow = to->w;
		o->cin = 1;
		o->k = go->kernel;
		o->stride = go->stride;
		o->pad = go->pad;
	}
	if (o->kind == QOP_GAP)
		o->np = ti->h * ti->w;
	if (o->kind == QOP_ADD)
		o->np = to->h * to->w * to->c;
}

/* Places every tensor with the shared planner (plan.h, cost_plan_graph): the arena is exactly
 * the one check-cost reports as cost.arena_bytes. tmap: graph tensor -> int8 tensor, or -1 for
 * a scratch a streamed depthwise does not use. */
static void plan(struct qmodel *m, const struct graph *g, const int *tmap)
{
	char err[256];
	struct plan_tensor *pt = xcalloc(g->ntensors, sizeof *pt);
	int64_t arena = cost_plan_graph(g, pt, err, sizeof err);
	if (arena < 0)
		die("planner: %s", err);
	for (int t = 0; t < g->ntensors; t++)
		if (tmap[t] >= 0)
			m->t[tmap[t]].offset = (size_t)pt[t].offset;
	for (int i = 0; i < m->nops; i++) {
		struct qop *o = &m->ops[i];
		const struct g_op *go = &g->ops[i];
		m->t[o->out].alias = pt[go->out].shares >= 0 ? o->in : -1;
		if (o->kind == QOP_DW) {
			/* out of place (or streamed): written directly */
			o->scratch = go->scratch < 0 ? -1 : o->scratch_t;
			size_t io = m->t[o->in].offset, oo = m->t[o->out].offset;
			if (io != oo && io < oo + m->t[o->out].size && oo < io + m->t[o->in].size &&
			    m->st.stream_of[i] < 0)
				die("planner: %s overlaps its input at a different offset", o->name);
		}
	}
	m->arena_bytes = (size_t)arena;
	int64_t *used = xcalloc(g->nops, sizeof *used);
	int at = plan_usage(pt, g->ntensors, g->nops, used);
	graph_op_name(g, at, m->peak_op, sizeof m->peak_op);
	free(used);
	free(pt);
}

void quant_replan(struct qmodel *m, int patch_layers)
{
	struct stream_exec *x = xmalloc(sizeof *x);
	cost_pick_exec(&m->net, patch_layers, x);
	quant_replan_exec(m, x);
	free(x);
}

void quant_replan_exec(struct qmodel *m, const struct stream_exec *x)
{
	struct graph g;
	stream_free(&m->st);
	m->exec = *x;
	m->patch_layers = x->layers;
	cost_exec_graph(&m->net, &m->exec, &g, &m->st);
	int *tmap = xmalloc(sizeof(int) * g.ntensors);
	for (int t = 0; t < g.ntensors; t++)
		tmap[t] = -1;
	tmap[g.input] = m->input;
	for (int i = 0; i < g.nops; i++) {
		tmap[g.ops[i].out] = m->ops[i].out;
		if (g.ops[i].scratch >= 0)
			tmap[g.ops[i].scratch] = m->ops[i].scratch_t;
	}
	for (int t = 0; t < g.ntensors; t++)
		if (tmap[t] >= 0) {
			m->t[tmap[t]].rows = g.tensors[t].h;
			m->t[tmap[t]].ring = m->st.ring[t];
		}
	plan(m, &g, tmap);
	free(tmap);
	graph_free(&g);
}

void quant_graph_build(const struct arch *a, const struct arch_net *net, struct qmodel *m)
{
	memset(m, 0, sizeof *m);
	m->arch = *a;
	m->net = *net;
	struct graph g;
	graph_build(net, true, &g);
	int cap = 2 * g.nops + 1; /* an output per op, a scratch per dw, the input */
	m->t = xcalloc(cap, sizeof *m->t);
	m->ops = xcalloc(g.nops, sizeof *m->ops);
	int *tmap = xmalloc(sizeof(int) * g.ntensors);
	m->input = tmap[g.input] =
		add_tensor(m, "input", (size_t)g.tensors[g.input].bytes, -1, FS_OUT);
	for (int i = 0; i < g.nops; i++)
		add_graph_op(m, &g, i, tmap);
	m->logits = tmap[g.output];
	free(tmap);
	graph_free(&g);
	quant_replan(m, 0);
}

static void free_params(struct qop *o)
{
	free(o->w);
	free(o->bias);
	free(o->mult);
	free(o->shift);
	free(o->wscale);
	free(o->lut);
	free(o->w3);
	free(o->bias16);
	free(o->mult16);
	o->w3 = NULL;
	o->bias16 = o->mult16 = NULL;
	o->w = NULL;
	o->bias = o->mult = NULL;
	o->shift = o->lut = NULL;
	o->wscale = NULL;
}

void quant_free(struct qmodel *m)
{
	for (int i = 0; m->ops && i < m->nops; i++)
		free_params(&m->ops[i]);
	free(m->ops);
	free(m->t);
	stream_free(&m->st);
	m->ops = NULL;
	m->t = NULL;
}

void quant_print_plan(const struct qmodel *m, FILE *f)
{
	static const char *const kind[] = {"pw", "dw", "gap", "scale", "add"};
	fprintf(f, "arena %zu bytes, peak at %s\n", m->arena_bytes, m->peak_op);
	for (int i = 0; i < m->nops; i++) {
		const struct qop *o = &m->ops[i];
		fprintf(f, "%3d %-5s %-36s in %s@%zu+%zu", i, kind[o->kind], o->name,
			m->t[o->in].name, m->t[o->in].offset, m->t[o->in].size);
		if (o->in2 >= 0)
			fprintf(f, " in2 @%zu+%zu", m->t[o->in2].offset, m->t[o->in2].size);
		if (o->scratch >= 0)
			fprintf(f, " scratch @%zu+%zu", m->t[o->scratch].offset,
				m->t[o->scratch].size);
		fprintf(f, " out @%zu+%zu%s\n", m->t[o->out].offset, m->t[o->out].size,
			m->t[o->out].alias >= 0 ? " (in place)" : "");
	}
}

/* ---- calibration ---- */

void quant_calib_init(struct qcalib *c, int nlayers)
{
	c->nlayers = nlayers;
	c->mn = xmalloc(sizeof(*c->mn) * (nlayers + 2));
	c->mx = xmalloc(sizeof(*c->mx) * (nlayers + 2));
	c->hist = NULL;
	for (int i = 0; i < nlayers + 2; i++)
		for (int s = 0; s < FS_NSLOTS; s++) {
			c->mn[i][s] = FLT_MAX;
			c->mx[i][s] = -FLT_MAX;
		}
}

void quant_calib_free(struct qcalib *c)
{
	free(c->mn);
	free(c->mx);
	free(c->hist);
	c->hist = NULL;
}

void quant_calib_hist_begin(struct qcalib *c)
{
	c->hist = xcalloc(c->nlayers + 2, sizeof *c->hist);
}

/* Expected squared error of quantising the histogram h (over [mn, mx]) with range [lo, hi]. */
static double range_mse(const double *h, float mn, float mx, double lo, double hi)
{
	double width = ((double)mx - mn) / QCALIB_BINS, step = (hi - lo) / 255.0, e = 0;
	for (int b = 0; b < QCALIB_BINS; b++) {
		if (h[b] == 0)
			continue;
		double v = mn + (b + 0.5) * width;
		if (v < lo)
			e += h[b] * (lo - v) * (lo - v);
		else if (v > hi)
			e += h[b] * (v - hi) * (v - hi);
		else
			e += h[b] * step * step / 12.0;
	}
	return e;
}

void quant_calib_mse(struct qcalib *c)
{
	for (int r = 1; c->hist && r <= c->nlayers; r++) /* rows 0 (input), nlayers+1 (logits) kept */
		for (int s = 0; s < FS_NSLOTS; s++) {
			float mn = c->mn[r][s] < 0 ? c->mn[r][s] : 0, mx = c->mx[r][s] > 0 ? c->mx[r][s] : 0;
			if (!(mx > mn))
				continue;
			const double *h = c->hist[r][s];
			double best = range_mse(h, mn, mx, mn, mx), blo = mn, bhi = mx;
			for (int i = 0; i <= 20; i++)
				for (int j = 0; j <= 20; j++) {
					double lo = mn * (1.0 - 0.04 * i), hi = mx * (1.0 - 0.04 * j);
					double e = range_mse(h, mn, mx, lo, hi);
					if (e < best) {
						best = e;
						blo = lo;
						bhi = hi;
					}
				}
			c->mn[r][s] = (float)blo;
			c->mx[r][s] = (float)bhi;
		}
	free(c->hist);
	c->hist = NULL;
}

void quant_calib_observe(void *ctx, int layer, enum fslot slot, const float *x, size_t n)
{
	struct qcalib *c = ctx;
	float *mn = &c->mn[layer + 1][slot], *mx = &c->mx[layer + 1][slot];
	if (c->hist) {
		double *h = c->hist[layer + 1][slot];
		float lo = *mn < 0 ? *mn : 0, hi = *mx > 0 ? *mx : 0;
		if (!(hi > lo))
			return;
		double k = QCALIB_BINS / ((double)hi - lo);
		for (size_t i = 0; i < n; i++) {
			long b = (long)((x[i] - lo) * k);
			h[b < 0 ? 0 : b >= QCALIB_BINS ? QCALIB_BINS - 1 : b] += 1;
		}
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (x[i] < *mn)
			*mn = x[i];
		if (x[i] > *mx)
			*mx = x[i];
	}
}

/* Asymmetric int8 parameters of a range (widened to include 0): the rule QAT trains with. */
static void range_qparams(float mn, float mx, float *scale, int32_t *zp)
{
	qat_act_qparams(mn, mx, scale, zp);
}

/* The calibrated tensor called name: 1 with its row and slot in c (a LUT op's "NAME.pre": its
 * pre-activation's), or 0. */
static int calib_slot_named(const struct qmodel *m, const char *name, int *row, int *slot)
{
	size_t len = strlen(name), sl = strlen(QAT_ACT_PRE);
	if (len > sl && !strcmp(name + len - sl, QAT_ACT_PRE)) {
		for (int i = 0; i < m->nops; i++)
			if (m->ops[i].cal_pre_slot >= 0 && strlen(m->ops[i].name) == len - sl &&
			    !strncmp(m->ops[i].name, name, len - sl)) {
				*row = m->ops[i].cal_layer + 1;
				*slot = m->ops[i].cal_pre_slot;
				return 1;
			}
		return 0;
	}
	for (int i = 0; i < m->ntensors; i++)
		if (m->t[i].cal_slot >= 0 && !strcmp(m->t[i].name, name)) {
			*row = m->t[i].cal_layer + 1;
			*slot = m->t[i].cal_slot;
			return 1;
		}
	return 0;
}

int quant_calib_use_qat(struct qcalib *c, const struct qmodel *m, const char *json, char *err,
			size_t errlen)
{
	cJSON *o = cJSON_Parse(json);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return fail(err, errlen, "%s is not a JSON object", QAT_ACT_META);
	}
	int used = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, o)
	{
		int row, slot;
		float mn, mx;
		const char *name = e->string ? e->string : "";
		if (!calib_slot_named(m, name, &row, &slot) || qat_act_range_item(e, &mn, &mx)) {
			fail(err, errlen, "%s: \"%.60s\" is not [min, max] of an activation of this "
			     "network", QAT_ACT_META, name);
			cJSON_Delete(o);
			return -1;
		}
		c->mn[row][slot] = mn;
		c->mx[row][slot] = mx;
		used++;
	}
	cJSON_Delete(o);
	return used;
}

/* ---- quantisation ---- */

void quant_multiplier(double real, int32_t *mult, int *shift)
{
	if (real <= 0) {
		*mult = 0;
		*shift = 0;
		return;
	}
	double q = frexp(real, shift);
	int64_t qf = (int64_t)llround(q * (double)(1ll << 31));
	if (qf == (1ll << 31)) {
		qf /= 2;
		++*shift;
	}
	if (*shift < -31) {
		*shift = 0;
		qf = 0;
	}
	if (*shift > 30) { /* beyond what the kernels shift left: saturate */
		*shift = 30;
		qf = INT32_MAX;
	}
	*mult = (int32_t)qf;
}

static float act_real(enum qact a, float v)
{
	switch (a) {
	case QACT_LUT_SIGMOID: return 1.0f / (1.0f + expf(-v));
	case QACT_LUT_SWISH: return v / (1.0f + expf(-v));
	case QACT_LUT_LEAKY: return v < 0 ? LEAKY_SLOPE * v : v;
	default: return v;
	}
}

static int8_t quantize_value(double v, float scale, int32_t zp)
{
	return qat_act_code(v, scale, zp);
}

/* The requantisation multiplier real = mult * 2^shift / 2^31, or -1 with err when it cannot be
 * represented (shift above 30: an output scale vanishing against the input's). */
static int checked_multiplier(double real, int32_t *mult, int *shift, const char *what, int ch,
			      char *err, size_t errlen)
{
	if (!isfinite(real) || real >= (double)(1 << 30))
		return fail(err, errlen, "%s (channel %d): the requantisation multiplier %g is out of "
			    "range (at most 2^30): an output scale too small for its inputs'; "
			    "calibrate on more images or retrain", what, ch, real);
	quant_multiplier(real, mult, shift);
	return 0;
}

static size_t conv_weights(const struct qop *o)
{
	return (size_t)o->cout * o->cin * o->k * o->k;
}

/* o->w (codes -1, 0, 1) packed base 3 into o->w3 (int8_ref.h). */
static void pack_ternary(struct qop *o)
{
	static const unsigned pow3[5] = {1, 3, 9, 27, 81};
	size_t n = conv_weights(o);
	o->w3 = xcalloc((n + 4) / 5, 1);
	for (size_t j = 0; j < n; j++) {
		unsigned trit = o->w[j] == 1 ? 1u : o->w[j] == -1 ? 2u : 0u;
		o->w3[j / 5] = (uint8_t)(o->w3[j / 5] + trit * pow3[j % 5]);
	}
}

/* o->w3 unpacked into o->w (codes -1, 0, 1); -1 when a byte is above 242 (not 5 trits). */
static int unpack_ternary(struct qop *o)
{
	size_t n = conv_weights(o);
	o->w = xmalloc(n ? n : 1);
	for (size_t b = 0; b < (n + 4) / 5; b++)
		if (o->w3[b] > 242)
			return -1;
	for (size_t j = 0; j < n; j++) {
		unsigned v = o->w3[j / 5];
		for (size_t i = 0; i < j % 5; i++)
			v /= 3;
		o->w[j] = (int8_t)(v % 3 == 1 ? 1 : v % 3 == 2 ? -1 : 0);
	}
	return 0;
}

/* round(v / 2^e), ties away from zero, in 64 bits. */
static int64_t round_pot(int64_t v, int e)
{
	int64_t h = e ? (int64_t)1 << (e - 1) : 0;
	return v >= 0 ? (v + h) >> e : -((-v + h) >> e);
}

int quant_ternary_params(struct qop *o, int exact, char *err, size_t errlen)
{
	int e = 0;
	for (int c = 0; c < o->cout; c++)
		while (e < 15 && (round_pot(o->bias[c], e) > INT16_MAX ||
				  round_pot(o->bias[c], e) < INT16_MIN))
			e++;
	o->bshift = e;
	free(o->bias16);
	free(o->mult16);
	o->bias16 = xmalloc(sizeof(int16_t) * (o->cout ? o->cout : 1));
	o->mult16 = xmalloc(sizeof(int16_t) * (o->cout ? o->cout : 1));
	for (int c = 0; c < o->cout; c++) {
		int64_t b = round_pot(o->bias[c], e), m = round_pot(o->mult[c], 16);
		int sh = o->shift[c];
		if (m == 32768) { /* 2^15 * 2^shift = 2^14 * 2^(shift + 1) */
			m = 16384;
			sh++;
		}
		if (b > INT16_MAX || b < INT16_MIN || m < 0 || m > INT16_MAX || sh > 30 || sh < -31)
			return fail(err, errlen, "%s (channel %d): bias %ld, multiplier %ld or shift "
				    "%d has no 16-bit ternary form", o->name, c, (long)o->bias[c],
				    (long)o->mult[c], sh);
		int32_t bias = (int32_t)(b * ((int64_t)1 << e)), mult = (int32_t)(m * 65536);
		if (exact && (bias != o->bias[c] || mult != o->mult[c] || sh != o->shift[c]))
			return fail(err, errlen, "%s (channel %d): bias %ld or multiplier %ld is not "
				    "of a ternary conv's 16-bit form (bias a multiple of 2^%d, "
				    "multiplier of 2^16)", o->name, c, (long)o->bias[c],
				    (long)o->mult[c], e);
		o->bias16[c] = (int16_t)b;
		o->mult16[c] = (int16_t)m;
		o->bias[c] = bias;
		o->mult[c] = mult;
		o->shift[c] = (int8_t)sh;
	}
	return 0;
}

/* Weights of one output channel: int8 symmetric (or ternary when tsp >= 0, live: its taps that
 * meet the image, or NULL) into q; returns the weight scale, at least min_scale for int8, or -1
 * when a weight is not finite. */
static float quantize_channel(const float *w, int per, double tsp, const unsigned char *live,
			      double min_scale, int8_t *q)
{
	float amax = 0;
	for (int j = 0; j < per; j++) {
		if (!isfinite(w[j]))
			return -1;
		amax = fabsf(w[j]) > amax ? fabsf(w[j]) : amax;
	}
	if (tsp >= 0) { /* the rule QAT trains with (qat.h) */
		float *tmp = xmalloc(sizeof(float) * per);
		float alpha = qat_ternary_channel(w, per, live, tsp, tmp, q);
		free(tmp);
		return alpha;
	}
	float sw = amax / 127.0f;
	if (sw < min_scale)
		sw = (float)min_scale;
	if (!(sw >= FLT_MIN)) { /* all zero, or too small to scale: zero weights */
		memset(q, 0, (size_t)per);
		return 1.0f;
	}
	for (int j = 0; j < per; j++) {
		long v = lroundf(w[j] / sw);
		q[j] = (int8_t)(v < -127 ? -127 : v > 127 ? 127 : v);
	}
	return sw;
}

/* Returns 0, or -1 with err when a weight, bias or scale cannot be represented: the kernels'
 * int32 arithmetic is then not asked to hold it. tsp: the ternary sparsity, or -1 for int8;
 * live: the taps of a ternary depthwise that meet the image (graph_live_taps), or NULL. */
static int quantize_conv(struct qmodel *m, struct qop *o, const struct fconv *c, double tsp,
			 const unsigned char *live, char *err, size_t errlen)
{
	int per = c->cin * c->k * c->k;
	const struct qtensor *tin = &m->t[o->in], *tout = &m->t[o->out];
	float so = is_lut(o->act) ? o->pre_scale : tout->scale;
	o->w = xmalloc((size_t)c->cout * per);
	o->bias = xmalloc(sizeof(int32_t) * c->cout);
	o->mult = xmalloc(sizeof(int32_t) * c->cout);
	o->shift = xmalloc(c->cout);
	o->wscale = xmalloc(sizeof(float) * c->cout);
	for (int ch = 0; ch < c->cout; ch++) {
		/* a channel whose weights all but vanish (BN folded a tiny gamma into them) keeps a
		 * weight scale at which its bias still fits QUANT_BIAS_MAX */
		double min_scale = fabs(c->b[ch]) / ((double)tin->scale * QUANT_BIAS_MAX) * 1.001;
		float sw = quantize_channel(c->w + (size_t)ch * per, per, tsp, live, min_scale,
					    o->w + (size_t)ch * per);
		if (sw < 0)
			return fail(err, errlen, "%s (channel %d): a weight is not finite", o->name, ch);
		double sb = (double)tin->scale * sw;
		double bq = round(c->b[ch] / sb);
		if (!(fabs(bq) <= QUANT_BIAS_MAX))
			return fail(err, errlen, "%s (channel %d): the bias %g is %g times its int32 "
				    "scale (input scale %g x weight scale %g), beyond 2^30: an input "
				    "scale too small for it; calibrate on more images or retrain",
				    o->name, ch, (double)c->b[ch], bq, (double)tin->scale, (double)sw);
		o->bias[ch] = (int32_t)bq;
		int sh;
		if (checked_multiplier(sb / so, &o->mult[ch], &sh, o->name, ch, err, errlen))
			return -1;
		o->shift[ch] = (int8_t)sh;
		o->wscale[ch] = sw;
	}
	if (tsp >= 0) {
		pack_ternary(o);
		if (quant_ternary_params(o, 0, err, errlen))
			return -1;
	}
	int32_t zp = is_lut(o->act) ? o->pre_zp : tout->zp;
	o->lo = -128;
	o->hi = 127;
	if (o->act == QACT_RELU || o->act == QACT_RELU6)
		o->lo = zp;
	if (o->act == QACT_RELU6) {
		long hi = lround(fmin(6.0 / tout->scale, 1e9)) + zp;
		o->hi = hi > 127 ? 127 : (int32_t)hi;
	}
	if (is_lut(o->act)) {
		o->lut = xmalloc(256);
		for (int q = -128; q < 128; q++)
			o->lut[q + 128] = quantize_value(
				act_real(o->act, (float)((q - o->pre_zp) * (double)o->pre_scale)),
				tout->scale, tout->zp);
	}
	return 0;
}

static int set_multiplier(struct qop *o, int i, double real, char *err, size_t errlen)
{
	int sh;
	if (checked_multiplier(real, &o->emult[i], &sh, o->name, i, err, errlen))
		return -1;
	o->eshift[i] = (int8_t)sh;
	return 0;
}

/* Multipliers of the element-wise ops, from the tensor scales (used after load too). Returns 0,
 * or -1 with err when one is out of range. */
static int elementwise_params(struct qmodel *m, struct qop *o, char *err, size_t errlen)
{
	const struct qtensor *a = &m->t[o->in], *y = &m->t[o->out];
	if (o->kind == QOP_SCALE)
		return set_multiplier(o, 0, (double)a->scale * m->t[o->in2].scale / y->scale, err,
				      errlen);
	if (o->kind == QOP_ADD) {
		const struct qtensor *b = &m->t[o->in2];
		double twice = 2.0 * (a->scale > b->scale ? a->scale : b->scale);
		return set_multiplier(o, 0, a->scale / twice, err, errlen) ||
		       set_multiplier(o, 1, b->scale / twice, err, errlen) ||
		       set_multiplier(o, 2, twice / ((double)(1 << LMQ_ADD_LEFT_SHIFT) * y->scale),
				      err, errlen) ? -1 : 0;
	}
	return 0;
}

int32_t quant_requant_zp(const struct qmodel *m, const struct qop *o)
{
	return o->lut ? o->pre_zp : m->t[o->out].zp;
}

double quant_ternary_zero_fraction(const struct qmodel *m)
{
	size_t zeros = 0, n = 0;
	for (int i = 0; i < m->nops; i++) {
		const struct qop *o = &m->ops[i];
		if (!o->w3)
			continue;
		for (size_t j = 0; j < conv_weights(o); j++)
			zeros += o->w[j] == 0;
		n += conv_weights(o);
	}
	return n ? (double)zeros / n : 0;
}

/* The conv of op i (the graph's op i), ternary where cost_op_ternary says so. */
static int quantize_op_conv(struct qmodel *m, const struct fnet *fn, int i, double ternary_sparsity,
			    const char *int8_ops, char *err, size_t errlen)
{
	const struct g_op *gop = &fn->g.ops[i];
	if (ternary_sparsity < 0 || !cost_op_ternary(gop, (struct cost_weights){1, int8_ops}))
		return quantize_conv(m, &m->ops[i], &fn->conv[i], -1, NULL, err, errlen);
	unsigned char *live = graph_dw_live_mask(&fn->g, gop);
	int rc = quantize_conv(m, &m->ops[i], &fn->conv[i], ternary_sparsity, live, err, errlen);
	free(live);
	return rc;
}

int quant_from_float(const struct fnet *fn, const struct qcalib *cal, double ternary_sparsity,
		     const char *int8_ops, struct qmodel *m, char *err, size_t errlen)
{
	if (m->nops != fn->g.nops)
		die("quantize: the int8 model has %d ops, the float network %d", m->nops, fn->g.nops);
	for (int i = 0; i < m->ntensors; i++) {
		struct qtensor *t = &m->t[i];
		if (t->cal_slot >= 0)
			range_qparams(cal->mn[t->cal_layer + 1][t->cal_slot],
				      cal->mx[t->cal_layer + 1][t->cal_slot], &t->scale, &t->zp);
	}
	for (int i = 0; i < m->nops; i++) {
		struct qop *o = &m->ops[i];
		if (o->kind == QOP_GAP) { /* the mean keeps its input's scale */
			m->t[o->out].scale = m->t[o->in].scale;
			m->t[o->out].zp = m->t[o->in].zp;
		}
		if (o->act == QACT_LUT_SIGMOID) {
			m->t[o->out].scale = 1.0f / 256.0f;
			m->t[o->out].zp = -128;
		}
		if (is_lut(o->act)) {
			int l = o->cal_layer + 1;
			range_qparams(cal->mn[l][o->cal_pre_slot], cal->mx[l][o->cal_pre_slot],
				      &o->pre_scale, &o->pre_zp);
		}
		int rc = o->kind == QOP_PW || o->kind == QOP_DW
				 ? quantize_op_conv(m, fn, i, ternary_sparsity, int8_ops, err, errlen)
				 : elementwise_params(m, o, err, errlen);
		if (rc)
			return -1;
	}
	return 0;
}

void quant_input(const struct qmodel *m, const float *x, size_t n, int8_t *q)
{
	const struct qtensor *t = &m->t[m->input];
	for (size_t i = 0; i < n; i++)
		q[i] = quantize_value(x[i], t->scale, t->zp);
}

/* ---- the int8 file ---- */

/* The int8 file's tensors of a convolution op, "OPNAME.SUFFIX": the one place they are spelled. */
enum qparam { QP_WEIGHT, QP_WEIGHT_T3, QP_BIAS, QP_MULT, QP_SHIFT, QP_WSCALE, QP_LUT, QP_N };
#define QP_NAME_MAX 160

static void qparam_names(const struct qop *o, char names[QP_N][QP_NAME_MAX])
{
	static const char *const suffix[QP_N] = {
		[QP_WEIGHT] = "weight", [QP_WEIGHT_T3] = "weight_t3", [QP_BIAS] = "bias",
		[QP_MULT] = "mult", [QP_SHIFT] = "shift", [QP_WSCALE] = "wscale", [QP_LUT] = "lut",
	};
	for (int p = 0; p < QP_N; p++)
		snprintf(names[p], QP_NAME_MAX, "%s.%s", o->name, suffix[p]);
}

int quant_save(const struct qmodel *m, const char *path, const char *const *extra_meta, char *err,
	       size_t errlen)
{
	struct st_writer *w = st_writer_new();
	char (*names)[QP_N][QP_NAME_MAX] = xcalloc(m->nops, sizeof *names); /* alive until saved */
	float *tscale = xmalloc(sizeof(float) * m->ntensors);
	int32_t *tzp = xmalloc(sizeof(int32_t) * m->ntensors);
	float *pscale = xmalloc(sizeof(float) * m->nops);
	int32_t *pzp = xmalloc(sizeof(int32_t) * m->nops);
	int32_t *clamp = xmalloc(sizeof(int32_t) * 2 * m->nops);
	for (int i = 0; i < m->ntensors; i++) {
		tscale[i] = m->t[i].scale;
		tzp[i] = m->t[i].zp;
	}
	for (int i = 0; i < m->nops; i++) {
		const struct qop *o = &m->ops[i];
		pscale[i] = o->pre_scale;
		pzp[i] = o->pre_zp;
		clamp[2 * i] = o->lo;
		clamp[2 * i + 1] = o->hi;
		if (o->kind == QOP_PW || o->kind == QOP_DW) {
			int64_t ws[2] = {o->cout, (int64_t)o->cin * o->k * o->k}, cs[1] = {o->cout};
			char (*nm)[QP_NAME_MAX] = names[i];
			qparam_names(o, nm);
			if (o->w3) {
				int64_t ps[1] = {(ws[0] * ws[1] + 4) / 5};
				st_writer_add(w, nm[QP_WEIGHT_T3], ST_U8, 1, ps, o->w3);
			} else {
				st_writer_add(w, nm[QP_WEIGHT], ST_I8, 2, ws, o->w);
			}
			st_writer_add(w, nm[QP_BIAS], ST_I32, 1, cs, o->bias);
			st_writer_add(w, nm[QP_MULT], ST_I32, 1, cs, o->mult);
			st_writer_add(w, nm[QP_SHIFT], ST_I8, 1, cs, o->shift);
			st_writer_add(w, nm[QP_WSCALE], ST_F32, 1, cs, o->wscale);
			if (o->lut) {
				int64_t ls[1] = {256};
				st_writer_add(w, nm[QP_LUT], ST_I8, 1, ls, o->lut);
			}
		}
	}
	int64_t nt[1] = {m->ntensors}, no[1] = {m->nops}, no2[2] = {m->nops, 2};
	st_writer_add(w, "tensors.scale", ST_F32, 1, nt, tscale);
	st_writer_add(w, "tensors.zero_point", ST_I32, 1, nt, tzp);
	st_writer_add(w, "ops.pre_scale", ST_F32, 1, no, pscale);
	st_writer_add(w, "ops.pre_zero_point", ST_I32, 1, no, pzp);
	st_writer_add(w, "ops.clamp", ST_I32, 2, no2, clamp);
	cJSON *aj = arch_to_json(&m->arch);
	char *as = cJSON_PrintUnformatted(aj);
	char res[32], cls[16];
	snprintf(res, sizeof res, "%dx%d", m->net.in_h, m->net.in_w);
	snprintf(cls, sizeof cls, "%d", m->net.classes);
	st_writer_meta(w, "format", "lmnas-int8");
	st_writer_meta(w, "arch", as);
	st_writer_meta(w, "resolution", res);
	st_writer_meta(w, "classes", cls);
	for (int i = 0; extra_meta && extra_meta[i]; i += 2)
		st_writer_meta(w, extra_meta[i], extra_meta[i + 1]);
	int rc = st_writer_save(w, path);
	if (rc)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	st_writer_free(w);
	cJSON_free(as);
	cJSON_Delete(aj);
	free(names);
	free(tscale);
	free(tzp);
	free(pscale);
	free(pzp);
	free(clamp);
	return rc;
}

/* Copies tensor name, which must be dt and exactly [rows] (cols 0) or [rows][cols] as quant_save
 * writes it: a permuted or reshaped tensor of the right size is refused. */
static int copy_tensor(const struct st_file *f, const char *name, enum st_dtype dt, int64_t rows,
		       int64_t cols, void **dst, char *err, size_t errlen)
{
	const struct st_tensor *t = st_find(f, name);
	char want[64];
	if (cols)
		snprintf(want, sizeof want, "[%lld, %lld]", (long long)rows, (long long)cols);
	else
		snprintf(want, sizeof want, "[%lld]", (long long)rows);
	if (!t) {
		snprintf(err, errlen, "%s: tensor %s is missing (want %s %s)", f->path, name,
			 st_dtype_name(dt), want);
		return -1;
	}
	int shape_ok = cols ? t->ndim == 2 && t->shape[0] == rows && t->shape[1] == cols
			    : t->ndim == 1 && t->shape[0] == rows;
	if (!shape_ok) {
		char got[160];
		int n = snprintf(got, sizeof got, "[");
		for (int d = 0; d < t->ndim && n < (int)sizeof got - 24; d++)
			n += snprintf(got + n, sizeof got - n, "%s%lld", d ? ", " : "",
				      (long long)t->shape[d]);
		snprintf(got + n, sizeof got - n, "]");
		snprintf(err, errlen, "%s: tensor %s has shape %s, want %s", f->path, name, got, want);
		return -1;
	}
	if (t->dtype != dt) {
		snprintf(err, errlen, "%s: tensor %s is %s, want %s", f->path, name,
			 st_dtype_name(t->dtype), st_dtype_name(dt));
		return -1;
	}
	*dst = xmalloc(t->nbytes ? t->nbytes : 1);
	memcpy(*dst, t->data, t->nbytes);
	return 0;
}

int quant_is_int8_file(const char *path)
{
	struct st_file f;
	char err[256];
	if (st_open(path, &f, err, sizeof err))
		return -1;
	const char *fmt = st_meta(&f, "format");
	int r = fmt && !strcmp(fmt, "lmnas-int8");
	st_close(&f);
	return r;
}

/* A convolution's parameters from f: int8 weights (or packed ternary ones, unpacked), bias,
 * requantisation multipliers and shifts, weight scales, the activation's table when it has one;
 * each checked for shape and range. 0, or -1 with err. */
static int conv_params(struct st_file *f, const char *path, struct qop *o, char *err,
		       size_t errlen)
{
	char nm[QP_N][QP_NAME_MAX];
	int64_t per = (int64_t)o->cin * o->k * o->k;
	qparam_names(o, nm);
	if (st_find(f, nm[QP_WEIGHT_T3])) {
		if (copy_tensor(f, nm[QP_WEIGHT_T3], ST_U8, (o->cout * per + 4) / 5, 0,
				(void **)&o->w3, err, errlen))
			return -1;
		if (unpack_ternary(o)) {
			snprintf(err, errlen, "%s: %s: a byte above 242 is not 5 trits", path,
				 nm[QP_WEIGHT_T3]);
			return -1;
		}
	}
	if ((!o->w3 &&
	     copy_tensor(f, nm[QP_WEIGHT], ST_I8, o->cout, per, (void **)&o->w, err, errlen)) ||
	    copy_tensor(f, nm[QP_BIAS], ST_I32, o->cout, 0, (void **)&o->bias, err, errlen) ||
	    copy_tensor(f, nm[QP_MULT], ST_I32, o->cout, 0, (void **)&o->mult, err, errlen) ||
	    copy_tensor(f, nm[QP_SHIFT], ST_I8, o->cout, 0, (void **)&o->shift, err, errlen) ||
	    copy_tensor(f, nm[QP_WSCALE], ST_F32, o->cout, 0, (void **)&o->wscale, err, errlen) ||
	    (is_lut(o->act) &&
	     copy_tensor(f, nm[QP_LUT], ST_I8, 256, 0, (void **)&o->lut, err, errlen)))
		return -1;
	for (int c = 0; c < o->cout; c++)
		if (o->shift[c] < -31 || o->shift[c] > 30 || o->mult[c] < 0) {
			snprintf(err, errlen, "%s: %s: shift or multiplier out of range", path, o->name);
			return -1;
		}
	return o->w3 ? quant_ternary_params(o, 1, err, errlen) : 0;
}

int quant_load(const char *path, struct qmodel *m, char *err, size_t errlen)
{
	struct st_file f;
	memset(m, 0, sizeof *m);
	if (st_open(path, &f, err, errlen))
		return -1;
	int rc = -1;
	struct arch a;
	struct arch_net *net = xmalloc(sizeof *net);
	const char *fmt = st_meta(&f, "format"), *as = st_meta(&f, "arch");
	const char *res = st_meta(&f, "resolution"), *cls = st_meta(&f, "classes");
	long classes;
	int rh, rw;
	char why[256];
	cJSON *aj = as ? cJSON_Parse(as) : NULL;
	if (!fmt || strcmp(fmt, "lmnas-int8") || !aj || !res || !cls) {
		snprintf(err, errlen, "%s: not an lmnas int8 model (metadata format, arch, "
			 "resolution, classes)", path);
		goto out;
	}
	if (arch_parse(aj, &a, why, sizeof why) || parse_resolution(res, &rh, &rw) ||
	    parse_int(cls, 1, ARCH_MAX_CLASSES, &classes) ||
	    arch_expand(&a, rh, rw, (int)classes, net, why, sizeof why)) {
		snprintf(err, errlen, "%s: bad model metadata: %s", path, why);
		goto out;
	}
	quant_graph_build(&a, net, m);
	float *ts = NULL, *ps = NULL;
	int32_t *tz = NULL, *pz = NULL, *cl = NULL;
	if (copy_tensor(&f, "tensors.scale", ST_F32, m->ntensors, 0, (void **)&ts, err, errlen) ||
	    copy_tensor(&f, "tensors.zero_point", ST_I32, m->ntensors, 0, (void **)&tz, err, errlen) ||
	    copy_tensor(&f, "ops.pre_scale", ST_F32, m->nops, 0, (void **)&ps, err, errlen) ||
	    copy_tensor(&f, "ops.pre_zero_point", ST_I32, m->nops, 0, (void **)&pz, err, errlen) ||
	    copy_tensor(&f, "ops.clamp", ST_I32, m->nops, 2, (void **)&cl, err, errlen)) {
		free(ts);
		free(tz);
		free(ps);
		free(pz);
		goto fail;
	}
	int bad = 0;
	for (int i = 0; i < m->ntensors; i++) {
		m->t[i].scale = ts[i];
		m->t[i].zp = tz[i];
		if (!(ts[i] > 0 && ts[i] < 1e30f) || tz[i] < -128 || tz[i] > 127) {
			snprintf(err, errlen, "%s: tensor %s: scale %g or zero point %ld out of range",
				 path, m->t[i].name, (double)ts[i], (long)tz[i]);
			bad = 1;
		}
	}
	for (int i = 0; i < m->nops; i++)
		if (cl[2 * i] < -128 || cl[2 * i] > cl[2 * i + 1] || cl[2 * i + 1] > 127 ||
		    pz[i] < -128 || pz[i] > 127) {
			snprintf(err, errlen, "%s: op %s: clamp or zero point out of range", path,
				 m->ops[i].name);
			bad = 1;
		}
	for (int i = 0; !bad && i < m->nops; i++) {
		struct qop *o = &m->ops[i];
		o->pre_scale = ps[i];
		o->pre_zp = pz[i];
		o->lo = cl[2 * i];
		o->hi = cl[2 * i + 1];
		if (o->kind == QOP_PW || o->kind == QOP_DW ? conv_params(&f, path, o, err, errlen)
							     : elementwise_params(m, o, err, errlen)) {
			bad = 1;
			break;
		}
	}
	free(ts);
	free(tz);
	free(ps);
	free(pz);
	free(cl);
	if (!bad) {
		rc = 0;
		goto out;
	}
fail:
	quant_free(m);
out:
	cJSON_Delete(aj);
	free(net);
	st_close(&f);
	return rc;
}

size_t quant_flash_bytes(const struct qmodel *m)
{
	static const enum cost_kernel kernel[] = {
		[QOP_PW] = COST_K_PW, [QOP_DW] = COST_K_DW, [QOP_GAP] = COST_K_GAP,
		[QOP_SCALE] = COST_K_SCALE, [QOP_ADD] = COST_K_ADD};
	int calls[COST_NKERNELS] = {0}, streamed[COST_NKERNELS] = {0};
	size_t b = 0;
	for (int i = 0; i < m->nops; i++) {
		const struct qop *o = &m->ops[i];
		enum cost_kernel k = !o->w3 ? kernel[o->kind] : o->kind == QOP_DW ? COST_K_DW_T3
										 : COST_K_PW_T3;
		calls[k]++;
		streamed[k] += m->st.stream_of && m->st.stream_of[i] >= 0;
		b += (size_t)cost_op_struct_bytes(k);
		if (o->kind != QOP_PW && o->kind != QOP_DW)
			continue;
		size_t nw = (size_t)o->cout * o->cin * o->k * o->k;
		b += o->w3 ? (nw + 4) / 5 + COST_PER_CHANNEL_BYTES_T3 * (size_t)o->cout
			   : nw + COST_PER_CHANNEL_BYTES * (size_t)o->cout;
		if (is_lut(o->act))
			b += COST_LUT_BYTES;
	}
	return b + (size_t)cost_code_bytes(calls) +
	       (size_t)cost_stream_code_bytes(m->st.nstreams, m->st.nsteps, streamed, calls);
}
