/* graph.c — build the int8 deployment op graph of an arch_net (see graph.h). */
#include "cost/graph.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* Ops and tensors per layer at most: expand, dw, 4 SE, project, res_proj, add = 9 ops, and one
 * output tensor per op plus one scratch. The head adds 2 ops; the input is one tensor. */
#define OPS_PER_LAYER 9

struct builder {
	struct graph *g;
	const struct arch_net *net;
};

static int new_tensor(struct graph *g, int h, int w, int c)
{
	struct g_tensor *t = &g->tensors[g->ntensors];
	memset(t, 0, sizeof *t);
	t->h = h;
	t->w = w;
	t->c = c;
	t->bytes = (int64_t)h * w * c;
	t->first = g->nops;
	t->last = g->nops;
	t->alias = -1;
	return g->ntensors++;
}

static void use(struct graph *g, int tensor)
{
	if (g->tensors[tensor].last < g->nops)
		g->tensors[tensor].last = g->nops;
}

static enum op_act op_act_of(enum act a)
{
	switch (a) {
	case ACT_RELU6: return OPACT_RELU6;
	case ACT_LEAKYRELU: return OPACT_LEAKYRELU;
	case ACT_SWISH: return OPACT_SWISH;
	}
	return OPACT_NONE;
}

/* Appends an op reading in0 (and in1 when >= 0) and writing a new h x w x c tensor. */
static struct g_op *new_op(struct graph *g, int layer, enum op_kind kind, const char *role,
			   int in0, int in1, int h, int w, int c)
{
	struct g_op *op = &g->ops[g->nops];
	memset(op, 0, sizeof *op);
	op->kind = kind;
	op->role = role;
	op->layer = layer;
	op->in[0] = in0;
	op->in[1] = in1;
	op->nin = in1 >= 0 ? 2 : 1;
	op->scratch = -1;
	op->kernel = op->stride = 1;
	use(g, in0);
	if (in1 >= 0)
		use(g, in1);
	op->out = new_tensor(g, h, w, c);
	g->nops++;
	return op;
}

/* The op writes in place over its input `over` when the graph is in-place and `over` dies here. */
static void maybe_inplace(struct graph *g, struct g_op *op, int over)
{
	if (g->inplace && g->tensors[over].last == g->nops - 1 &&
	    g->tensors[op->out].bytes <= g->tensors[over].bytes)
		g->tensors[op->out].alias = over;
}

/* Names the last op: module.suffix, and the PyTorch modules of its weights and BN ("%s.<conv>",
 * "%s.<bn>" of module; NULL: none). */
static void set_names(struct graph *g, const char *module, const char *suffix, const char *conv,
		      const char *bn)
{
	struct g_op *op = &g->ops[g->nops - 1];
	snprintf(op->module, sizeof op->module, "%s", module);
	snprintf(op->name, sizeof op->name, "%s.%s", module, suffix);
	if (conv)
		snprintf(op->conv, sizeof op->conv, "%s.%s", module, conv);
	if (bn)
		snprintf(op->bn, sizeof op->bn, "%s.%s", module, bn);
}

/* Names the last op as the conv at index seq of the layer's `conv` Sequential, followed by its BN
 * at seq + 1 and (but for the project conv) an activation. Returns the index after the three. */
static int set_seq_names(struct graph *g, const char *module, const char *suffix, int seq)
{
	char conv[16], bn[16];
	snprintf(conv, sizeof conv, "conv.%d", seq);
	snprintf(bn, sizeof bn, "conv.%d", seq + 1);
	set_names(g, module, suffix, conv, bn);
	return seq + 3;
}

/* Pointwise conv (+BN, +act) from tensor x [h][w][cin] to [h][w][cout]. */
static int add_pw(struct graph *g, int layer, const char *role, int x, int cout, enum op_act act)
{
	const struct g_tensor *t = &g->tensors[x];
	int h = t->h, w = t->w, cin = t->c;
	struct g_op *op = new_op(g, layer, OP_PW, role, x, -1, h, w, cout);
	op->act = act;
	op->macs = (int64_t)h * w * cin * cout;
	op->weights = (int64_t)cin * cout;
	op->params = op->weights + 2 * (int64_t)cout; /* BN gamma, beta */
	op->out_ch = cout;
	return op->out;
}

static int add_dw(struct graph *g, int layer, const struct arch_layer *L, int x)
{
	int c = g->tensors[x].c;
	/* The input dies here unless it is held for the residual add (checked after the op exists). */
	struct g_op *op = new_op(g, layer, OP_DW, "dw", x, -1, L->out_h, L->out_w, c);
	op->act = op_act_of(L->act);
	op->kernel = L->kernel;
	op->stride = L->stride;
	op->pad = L->pad;
	op->macs = (int64_t)L->out_h * L->out_w * c * L->kernel * L->kernel;
	op->weights = (int64_t)c * L->kernel * L->kernel;
	op->params = op->weights + 2 * (int64_t)c;
	op->out_ch = c;
	return g->nops - 1;
}

/* SE on x [h][w][c], the module at index seq of the layer's `conv` Sequential: the reference's
 * Sequential(pool, 1: conv with bias, relu, 3: conv with bias, sigmoid). Returns the scaled
 * tensor. */
static int add_se(struct graph *g, int layer, const char *module, int seq, int x, int r)
{
	const struct g_tensor t = g->tensors[x];
	int c = t.c;
	char conv[24];
	struct g_op *op = new_op(g, layer, OP_SE_POOL, "se_pool", x, -1, 1, 1, c);
	set_names(g, module, "se.pool", NULL, NULL);
	int v = op->out;
	op = new_op(g, layer, OP_SE_FC1, "se_fc1", v, -1, 1, 1, r);
	op->act = OPACT_RELU;
	op->macs = op->weights = (int64_t)c * r;
	op->params = op->weights + r;
	op->out_ch = r;
	snprintf(conv, sizeof conv, "conv.%d.se.1", seq);
	set_names(g, module, "se.fc1", conv, NULL);
	int s1 = op->out;
	op = new_op(g, layer, OP_SE_FC2, "se_fc2", s1, -1, 1, 1, c);
	op->act = OPACT_SIGMOID;
	op->macs = op->weights = (int64_t)r * c;
	op->params = op->weights + c;
	op->out_ch = c;
	snprintf(conv, sizeof conv, "conv.%d.se.3", seq);
	set_names(g, module, "se.fc2", conv, NULL);
	int s2 = op->out;
	op = new_op(g, layer, OP_SE_SCALE, "se_scale", x, s2, t.h, t.w, c);
	set_names(g, module, "se.scale", NULL, NULL);
	maybe_inplace(g, op, x);
	return op->out;
}

/* One layer, the reference's InvertedResidualBlock layers.B.layers.L: its `conv` Sequential holds
 * conv, BN, act for the expand (mbconv) and the dw conv, then [SE], then the project conv and its
 * BN; the skip projection is res_proj = Sequential(0: conv, 1: BN). */
static void add_layer(struct graph *g, int li, const struct arch_layer *L, int *cur)
{
	char module[32];
	snprintf(module, sizeof module, "layers.%d.layers.%d", L->block, L->index);
	int x = *cur, h = x, seq = 0;
	if (L->conv == CONV_MBCONV) {
		h = add_pw(g, li, "expand", x, L->hidden, op_act_of(L->act));
		seq = set_seq_names(g, module, "expand", seq);
	}
	int dwop = add_dw(g, li, L, h);
	seq = set_seq_names(g, module, "dw", seq);
	/* In place only when the dw input dies here: not when it is the layer input held for the
	 * residual add (depthwise layers with a residual). */
	if (g->inplace && !(L->residual && h == x)) {
		struct g_op *op = &g->ops[dwop];
		g->tensors[op->out].alias = h;
		op->scratch = new_tensor(g, L->out_h, L->out_w, 1);
		g->tensors[op->scratch].first = g->tensors[op->scratch].last = dwop;
		g->tensors[op->scratch].scratch = true;
	}
	h = g->ops[dwop].out;
	if (L->se)
		h = add_se(g, li, module, seq++, h, L->se_ch);
	int y = add_pw(g, li, "project", h, L->cout, OPACT_NONE);
	set_seq_names(g, module, "project", seq);
	if (L->residual) {
		int skip = x;
		if (L->proj) {
			skip = add_pw(g, li, "res_proj", x, L->cout, OPACT_NONE);
			set_names(g, module, "res_proj", "res_proj.0", "res_proj.1");
		}
		struct g_op *op = new_op(g, li, OP_ADD, "add", y, skip, L->out_h, L->out_w, L->cout);
		set_names(g, module, "add", NULL, NULL);
		maybe_inplace(g, op, y);
		y = op->out;
	}
	*cur = y;
}

/* The head: global average pool, then the Linear `classifier` (dropout is training's). */
static void add_head(struct graph *g, const struct arch_net *net, int x)
{
	struct g_op *op = new_op(g, -1, OP_POOL, "pool", x, -1, 1, 1, net->feat_ch);
	snprintf(op->module, sizeof op->module, "pool");
	snprintf(op->name, sizeof op->name, "pool");
	op = new_op(g, -1, OP_LINEAR, "classifier", op->out, -1, 1, 1, net->classes);
	snprintf(op->module, sizeof op->module, GRAPH_CLASSIFIER);
	snprintf(op->name, sizeof op->name, GRAPH_CLASSIFIER);
	snprintf(op->conv, sizeof op->conv, GRAPH_CLASSIFIER);
	op->macs = op->weights = (int64_t)net->feat_ch * net->classes;
	op->params = op->weights + net->classes;
	op->out_ch = net->classes;
	g->output = op->out;
}

void graph_build(const struct arch_net *net, bool inplace, struct graph *g)
{
	memset(g, 0, sizeof *g);
	int max_ops = net->nlayers * OPS_PER_LAYER + 2;
	g->ops = xcalloc(max_ops, sizeof *g->ops);
	g->tensors = xcalloc(2 * max_ops + 1, sizeof *g->tensors);
	g->inplace = inplace;
	int x = new_tensor(g, net->in_h, net->in_w, net->in_ch);
	g->input = x;
	for (int i = 0; i < net->nlayers; i++)
		add_layer(g, i, &net->layers[i], &x);
	add_head(g, net, x);
}

char *graph_tensor_name(char *buf, size_t n, const char *module, enum pt_tensor which)
{
	static const char *const part[] = {
		[PT_WEIGHT] = "weight", [PT_BIAS] = "bias", [PT_RUNNING_MEAN] = "running_mean",
		[PT_RUNNING_VAR] = "running_var", [PT_BATCHES_TRACKED] = "num_batches_tracked"};
	snprintf(buf, n, "%s.%s", module, part[which]);
	return buf;
}

void graph_free(struct graph *g)
{
	free(g->ops);
	free(g->tensors);
	memset(g, 0, sizeof *g);
}

char *graph_op_name(const struct graph *g, int i, char *buf, size_t n)
{
	const struct g_op *op = &g->ops[i];
	const struct g_tensor *a = &g->tensors[op->in[0]], *o = &g->tensors[op->out];
	char what[32];
	if (op->kind == OP_DW)
		snprintf(what, sizeof what, "dw %dx%d s%d", op->kernel, op->kernel, op->stride);
	else if (op->kind == OP_PW)
		snprintf(what, sizeof what, "%s 1x1", op->role);
	else
		snprintf(what, sizeof what, "%s", op->role);
	const char *module = op->kind == OP_POOL || op->kind == OP_LINEAR ? "" : op->module;
	const char *sep = *module ? " " : "";
	if (op->nin == 2) {
		const struct g_tensor *b = &g->tensors[op->in[1]];
		snprintf(buf, n, "%s%s%s (%dx%dx%d + %dx%dx%d -> %dx%dx%d)", module, sep, what, a->h,
			 a->w, a->c, b->h, b->w, b->c, o->h, o->w, o->c);
	} else {
		snprintf(buf, n, "%s%s%s (%dx%dx%d -> %dx%dx%d)", module, sep, what, a->h, a->w, a->c,
			 o->h, o->w, o->c);
	}
	return buf;
}

int64_t graph_live_peak(const struct graph *g, int *peak_op)
{
	/* Sweep: +bytes at first, -bytes after last. */
	int64_t *delta = xcalloc(g->nops + 1, sizeof *delta);
	for (int t = 0; t < g->ntensors; t++) {
		delta[g->tensors[t].first] += g->tensors[t].bytes;
		delta[g->tensors[t].last + 1] -= g->tensors[t].bytes;
	}
	int64_t live = 0, peak = -1;
	int at = 0;
	for (int i = 0; i < g->nops; i++) {
		live += delta[i];
		if (live > peak) {
			peak = live;
			at = i;
		}
	}
	free(delta);
	if (peak_op)
		*peak_op = at;
	return peak;
}

/* Whether kernel offset d (0..k-1) along one axis meets an input pixel for some output index:
 * output i reads input i * stride + d - pad. */
static int tap_meets_input(int d, int in, int out, int stride, int pad)
{
	for (int i = 0; i < out; i++) {
		int x = i * stride + d - pad;
		if (x >= 0 && x < in)
			return 1;
	}
	return 0;
}

int graph_live_taps(const struct graph *g, const struct g_op *op, unsigned char *live)
{
	const struct g_tensor *in = &g->tensors[op->in[0]], *out = &g->tensors[op->out];
	int k = op->kernel, n = 0;
	for (int ky = 0; ky < k; ky++)
		for (int kx = 0; kx < k; kx++) {
			int on = tap_meets_input(ky, in->h, out->h, op->stride, op->pad) &&
				 tap_meets_input(kx, in->w, out->w, op->stride, op->pad);
			live[ky * k + kx] = (unsigned char)on;
			n += on;
		}
	return n;
}

unsigned char *graph_dw_live_mask(const struct graph *g, const struct g_op *op)
{
	if (op->kind != OP_DW)
		return NULL;
	unsigned char *live = xmalloc((size_t)op->kernel * op->kernel);
	graph_live_taps(g, op, live);
	return live;
}
