/* net.c — building a network from an arch and running it forward and backward. See net.h. */
#include "engine/net.h"
#include "engine/nn_act.h"
#include "engine/nn_bn.h"
#include "engine/nn_head.h"
#include "core/prng.h"
#include "core/util.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void openblas_set_num_threads(int);

/* ---- building ---- */

struct builder {
	struct net *n;
	int cap_t, cap_ops, cap_e;
	char err[256];
};

static int add_tensor(struct builder *b, int h, int w, int c)
{
	struct net *n = b->n;
	if (n->nt == b->cap_t) {
		b->cap_t = b->cap_t ? 2 * b->cap_t : 64;
		n->t = xrealloc(n->t, sizeof *n->t * b->cap_t);
	}
	struct net_tensor *t = &n->t[n->nt];
	memset(t, 0, sizeof *t);
	t->h = h;
	t->w = w;
	t->c = c;
	t->per_image = (size_t)h * w * c;
	return n->nt++;
}

static struct net_op *add_op(struct builder *b, enum net_op_kind kind, int in)
{
	struct net *n = b->n;
	if (n->nops == b->cap_ops) {
		b->cap_ops = b->cap_ops ? 2 * b->cap_ops : 64;
		n->ops = xrealloc(n->ops, sizeof *n->ops * b->cap_ops);
	}
	struct net_op *op = &n->ops[n->nops++];
	memset(op, 0, sizeof *op);
	op->kind = kind;
	op->in = in;
	op->in2 = -1;
	op->bn = -1;
	return op;
}

/* Registers tensor `part` of the PyTorch module; returns its offset in params (or bufs). shape:
 * ndim sizes. */
static size_t add_entry(struct builder *b, const char *module, enum pt_tensor part, int is_buffer,
			int ndim, int64_t s0, int64_t s1, int64_t s2, int64_t s3, int dw_layout)
{
	struct net *n = b->n;
	if (n->nentries == b->cap_e) {
		b->cap_e = b->cap_e ? 2 * b->cap_e : 128;
		n->entries = xrealloc(n->entries, sizeof *n->entries * b->cap_e);
	}
	struct net_entry *e = &n->entries[n->nentries++];
	memset(e, 0, sizeof *e);
	graph_tensor_name(e->name, sizeof e->name, module, part);
	snprintf(e->module, sizeof e->module, "%s", module);
	e->part = part;
	e->is_buffer = is_buffer;
	e->ndim = ndim;
	int64_t s[4] = {s0, s1, s2, s3};
	e->numel = 1;
	for (int i = 0; i < ndim; i++) {
		e->shape[i] = s[i];
		e->numel *= (size_t)s[i];
	}
	e->dw_layout = dw_layout;
	e->bn = -1;
	size_t *total = is_buffer ? &n->nbufs : &n->nparams;
	e->off = *total;
	*total += e->numel;
	return e->off;
}

static int build_conv1x1(struct builder *b, const char *module, int in, int cout)
{
	const struct net_tensor *x = &b->n->t[in];
	int cin = x->c, h = x->h, w = x->w;
	int out = add_tensor(b, h, w, cout);
	struct net_op *op = add_op(b, NOP_CONV1X1, in);
	op->out = out;
	op->cin = cin;
	op->cout = cout;
	op->w = add_entry(b, module, PT_WEIGHT, 0, 4, cout, cin, 1, 1, 0);
	return out;
}

/* BN, followed by the activation act (an enum act) fused into it, or BN_NO_ACT. */
static int build_bn(struct builder *b, const char *module, int act, int in)
{
	const struct net_tensor *x = &b->n->t[in];
	int C = x->c;
	int out = add_tensor(b, x->h, x->w, C);
	struct net_op *op = add_op(b, NOP_BN, in);
	op->out = out;
	op->cin = op->cout = C;
	op->bn_act = act;
	op->w = add_entry(b, module, PT_WEIGHT, 0, 1, C, 0, 0, 0, 0);
	op->b = add_entry(b, module, PT_BIAS, 0, 1, C, 0, 0, 0, 0);
	op->rmean = add_entry(b, module, PT_RUNNING_MEAN, 1, 1, C, 0, 0, 0, 0);
	op->rvar = add_entry(b, module, PT_RUNNING_VAR, 1, 1, C, 0, 0, 0, 0);
	op->bn = b->n->nbn++;
	b->n->entries[b->n->nentries - 1].bn = op->bn;
	op->mean = xcalloc((size_t)C, sizeof(float));
	op->invstd = xcalloc((size_t)C, sizeof(float));
	return out;
}

/* The depthwise conv of graph op g (kernel, stride, pad) writing a tensor shaped as o. */
static int build_dw(struct builder *b, const struct g_op *g, const struct g_tensor *o, int in)
{
	const struct net_tensor *x = &b->n->t[in];
	int C = x->c;
	int out = add_tensor(b, o->h, o->w, C);
	struct net_op *op = add_op(b, NOP_DW, in);
	op->out = out;
	op->cin = op->cout = C;
	op->dws = (struct dw_shape){.N = 0, .H = x->h, .W = x->w, .C = C, .OH = o->h, .OW = o->w,
				    .k = g->kernel, .stride = g->stride, .pad = g->pad};
	op->w = add_entry(b, g->conv, PT_WEIGHT, 0, 4, C, 1, g->kernel, g->kernel, 1);
	op->dwwork.threads = omp_get_max_threads();
	op->dwwork.buf = xcalloc(dw_work_floats(&op->dws, op->dwwork.threads), sizeof(float));
	return out;
}

/* SE as one op: squeeze conv fc1 (C -> R) and excite conv fc2 (R -> C), PyTorch modules. */
static int build_se(struct builder *b, const char *fc1, const char *fc2, int R, int in)
{
	const struct net_tensor *x = &b->n->t[in];
	int C = x->c;
	int out = add_tensor(b, x->h, x->w, C);
	struct net_op *op = add_op(b, NOP_SE, in);
	op->out = out;
	op->cin = op->cout = C;
	op->se_ch = R;
	op->w = add_entry(b, fc1, PT_WEIGHT, 0, 4, R, C, 1, 1, 0);
	op->b = add_entry(b, fc1, PT_BIAS, 0, 1, R, 0, 0, 0, 0);
	op->w2 = add_entry(b, fc2, PT_WEIGHT, 0, 4, C, R, 1, 1, 0);
	op->b2 = add_entry(b, fc2, PT_BIAS, 0, 1, C, 0, 0, 0, 0);
	size_t NB = (size_t)b->n->max_batch;
	op->se.p = xcalloc(NB * C, sizeof(float));
	op->se.z1 = xcalloc(NB * R, sizeof(float));
	op->se.a1 = xcalloc(NB * R, sizeof(float));
	op->se.s = xcalloc(NB * C, sizeof(float));
	op->se.dp = xcalloc(NB * C, sizeof(float));
	op->se.dz1 = xcalloc(NB * R, sizeof(float));
	return out;
}

static int build_add(struct builder *b, int x, int skip)
{
	const struct net_tensor *t = &b->n->t[x];
	int out = add_tensor(b, t->h, t->w, t->c);
	struct net_op *op = add_op(b, NOP_ADD, x);
	op->in2 = skip;
	op->out = out;
	return out;
}

/* The head's global average pool (its output named name), then the dropout before the
 * classifier. */
static int build_pool(struct builder *b, int x, const char *name)
{
	struct net *n = b->n;
	int C = n->t[x].c;
	int g = add_tensor(b, 1, 1, C);
	snprintf(n->t[g].name, sizeof n->t[g].name, "%s", name);
	add_op(b, NOP_GAP, x)->out = g;
	int d = add_tensor(b, 1, 1, C);
	struct net_op *op = add_op(b, NOP_DROPOUT, g);
	op->out = d;
	op->mask = xcalloc((size_t)n->max_batch * C, sizeof(float));
	return d;
}

static int build_linear(struct builder *b, const char *module, int x, int classes)
{
	int C = b->n->t[x].c;
	int y = add_tensor(b, 1, 1, classes);
	struct net_op *op = add_op(b, NOP_LINEAR, x);
	op->out = y;
	op->cin = C;
	op->cout = classes;
	op->w = add_entry(b, module, PT_WEIGHT, 0, 2, classes, C, 0, 0, 0);
	op->b = add_entry(b, module, PT_BIAS, 0, 1, classes, 0, 0, 0, 0);
	return y;
}

/* The activation fused after a BN: the op's, or none. */
static int bn_act_of(enum op_act a)
{
	switch (a) {
	case OPACT_RELU6: return ACT_RELU6;
	case OPACT_LEAKYRELU: return ACT_LEAKYRELU;
	case OPACT_SWISH: return ACT_SWISH;
	default: return BN_NO_ACT;
	}
}

/* The training ops of graph op i. tmap: graph tensor -> net tensor. */
static void build_op(struct builder *b, const struct graph *g, int i, int *tmap)
{
	const struct g_op *op = &g->ops[i];
	const struct g_tensor *o = &g->tensors[op->out];
	int x = tmap[op->in[0]], y = -1;
	switch (op->kind) {
	case OP_PW:
		y = build_conv1x1(b, op->conv, x, o->c);
		y = build_bn(b, op->bn, bn_act_of(op->act), y);
		break;
	case OP_DW:
		y = build_dw(b, op, o, x);
		y = build_bn(b, op->bn, bn_act_of(op->act), y);
		break;
	case OP_SE_POOL:
	case OP_SE_FC1:
	case OP_SE_FC2:
		return; /* trained as one op (nn_se.h), built at OP_SE_SCALE */
	case OP_SE_SCALE: {
		const struct g_op *fc2 = &g->ops[g->tensors[op->in[1]].first];
		const struct g_op *fc1 = &g->ops[g->tensors[fc2->in[0]].first];
		y = build_se(b, fc1->conv, fc2->conv, g->tensors[fc1->out].c, x);
		struct net_op *se = &b->n->ops[b->n->nops - 1];
		snprintf(se->se_names[0], sizeof se->se_names[0], "%s", fc1->name);
		snprintf(se->se_names[1], sizeof se->se_names[1], "%s", fc2->name);
		break;
	}
	case OP_ADD:
		y = build_add(b, x, tmap[op->in[1]]);
		break;
	case OP_POOL:
		y = build_pool(b, x, op->name); /* the dropout's output: no int8 tensor */
		tmap[op->out] = y;
		return;
	case OP_LINEAR:
		y = build_linear(b, op->conv, x, o->c);
		break;
	}
	tmap[op->out] = y;
	snprintf(b->n->t[y].name, sizeof b->n->t[y].name, "%s", op->name);
}

/* Backward order: the last consumer of a tensor (first in backward) writes its gradient, the
 * others add to it. */
static void mark_accumulation(struct net *n)
{
	char *seen = xcalloc((size_t)n->nt, 1);
	for (int i = n->nops - 1; i >= 0; i--) {
		struct net_op *op = &n->ops[i];
		op->accum = seen[op->in];
		seen[op->in] = 1;
		if (op->in2 >= 0) {
			op->accum2 = seen[op->in2];
			seen[op->in2] = 1;
		}
	}
	free(seen);
}

/* When tensor t's gradient is live, in op indices: net_backward runs the ops from last to first;
 * the last op reading t (hi) writes its gradient first, the op writing t (lo) reads it last. The
 * logits' gradient is written by the loss, after every op. The input (t[0]) has none: lo = -1. */
static void grad_lifetimes(const struct net *n, int *lo, int *hi)
{
	for (int t = 0; t < n->nt; t++)
		lo[t] = hi[t] = -1;
	for (int i = 0; i < n->nops; i++) {
		const struct net_op *op = &n->ops[i];
		lo[op->out] = i;
		hi[op->in] = i > hi[op->in] ? i : hi[op->in];
		if (op->in2 >= 0)
			hi[op->in2] = i > hi[op->in2] ? i : hi[op->in2];
	}
	hi[n->logits] = n->nops;
}

/* The free buffer for a gradient of need floats first written by op hi (free: its last
 * gradient was read for the last time by an op after hi, so before hi runs backward): the
 * smallest that holds need, else the largest (it grows); -1 when none is free. */
static int pick_grad_buf(const size_t *floats, const int *free_after, int nb, int hi, size_t need)
{
	int fit = -1, big = -1;
	for (int b = 0; b < nb; b++) {
		if (free_after[b] <= hi)
			continue;
		if (floats[b] >= need && (fit < 0 || floats[b] < floats[fit]))
			fit = b;
		if (big < 0 || floats[b] > floats[big])
			big = b;
	}
	return fit >= 0 ? fit : big;
}

/* Plans the gradient buffers: gradients whose lifetimes do not meet share one. Each tensor, in
 * the order backward first writes their gradients, takes a free buffer (pick_grad_buf) or a new
 * one; net_tensor.grad_buf says which, grad_buf_floats how big each must be. The network's
 * gradients then take a few buffers instead of one per tensor, and backward writes into memory
 * it used a moment ago. The logits' gradient keeps a buffer of its own: it is the loss's, and
 * a second net_backward reads it again. */
static void plan_grads(struct net *n)
{
	int *lo = xmalloc(sizeof(int) * 2 * (size_t)n->nt), *hi = lo + n->nt;
	int *free_after = xmalloc(sizeof(int) * (size_t)n->nt); /* per buffer: lo of its last */
	n->grad_buf_floats = xcalloc((size_t)n->nt, sizeof(size_t));
	grad_lifetimes(n, lo, hi);
	int nb = 0;
	for (int t = 0; t < n->nt; t++)
		n->t[t].grad_buf = -1;
	for (int start = n->nops; start >= 0; start--)
		for (int t = 1; t < n->nt; t++) {
			if (hi[t] != start || lo[t] < 0)
				continue;
			size_t need = n->t[t].per_image * (size_t)n->max_batch;
			int b = t == n->logits ? -1
					       : pick_grad_buf(n->grad_buf_floats, free_after, nb,
							       hi[t], need);
			if (b < 0)
				b = nb++;
			if (n->grad_buf_floats[b] < need)
				n->grad_buf_floats[b] = need;
			free_after[b] = t == n->logits ? -1 : lo[t];
			n->t[t].grad_buf = b;
		}
	n->ngrad_bufs = nb;
	free(lo);
	free(free_after);
}

/* Allocates the planned gradient buffers (plan_grads) and points each tensor's grad into its. */
static void alloc_grads(struct net *n)
{
	n->grad_bufs = xcalloc((size_t)(n->ngrad_bufs ? n->ngrad_bufs : 1), sizeof(float *));
	for (int b = 0; b < n->ngrad_bufs; b++)
		n->grad_bufs[b] = xcalloc_huge(n->grad_buf_floats[b], sizeof(float));
	for (int t = 0; t < n->nt; t++)
		n->t[t].grad = n->t[t].grad_buf >= 0 ? n->grad_bufs[n->t[t].grad_buf] : NULL;
}

/* Refuses, before allocating them, activations and parameters that would not fit in memory:
 * every activation for max_batch images and the buffers their gradients share (plan_grads),
 * then params, grads and an optimizer's momentum of the same size, the BN buffers and the
 * conv1x1 scratch (the small per-op buffers are already allocated). A failed calloc would end
 * the program, an overcommitted one would get it killed while training: either way the other
 * records would be lost. */
static int check_memory(const struct net *n, char *err, size_t errlen)
{
	double act = 0;
	for (int i = 0; i < n->nt; i++)
		act += sizeof(float) * (double)n->t[i].per_image * n->max_batch;
	for (int b = 0; b < n->ngrad_bufs; b++)
		act += sizeof(float) * (double)n->grad_buf_floats[b];
	double pw = 0;
	for (int i = 0; i < n->nops; i++)
		if (n->ops[i].kind == NOP_CONV1X1) {
			double len = (double)pw_work_floats(n->ops[i].cin, n->ops[i].cout,
							    omp_get_max_threads());
			pw = len > pw ? len : pw;
		}
	double need = act + sizeof(float) * (3.0 * n->nparams + n->nbufs + pw);
	const char *what;
	double avail = memory_available(&what);
	if (need <= avail)
		return 0;
	char nb[32], ab[32], av[32];
	snprintf(err, errlen, "needs %s for batch %d at %dx%d (activations and their gradients %s), "
		 "more than the %s of the %s; use a smaller --batch or --resolution",
		 fmt_bytes(need, nb, sizeof nb), n->max_batch, n->an.in_h, n->an.in_w,
		 fmt_bytes(act, ab, sizeof ab), fmt_bytes(avail, av, sizeof av), what);
	return -1;
}

struct net *net_new(const struct arch *a, int in_h, int in_w, int classes, int max_batch,
		    float dropout, char *err, size_t errlen)
{
	if (max_batch < 1 || max_batch > 1 << 20) {
		snprintf(err, errlen, "batch %d is outside 1..%d", max_batch, 1 << 20);
		return NULL;
	}
	if (!(dropout >= 0 && dropout < 1)) {
		snprintf(err, errlen, "dropout %g is outside [0, 1)", dropout);
		return NULL;
	}
	openblas_set_num_threads(1); /* see net_set_threads */
	struct net *n = xcalloc(1, sizeof *n);
	n->arch = *a;
	if (arch_expand(a, in_h, in_w, classes, &n->an, err, errlen)) {
		free(n);
		return NULL;
	}
	n->max_batch = max_batch;
	n->dropout = dropout;
	n->rng = 0x9E3779B97F4A7C15ULL;
	struct builder b = {.n = n};
	struct graph g;
	graph_build(&n->an, false, &g);
	int *tmap = xmalloc(sizeof(int) * g.ntensors);
	tmap[g.input] = add_tensor(&b, in_h, in_w, a->input_channels);
	snprintf(n->t[0].name, sizeof n->t[0].name, "input");
	for (int i = 0; i < g.nops; i++)
		build_op(&b, &g, i, tmap);
	n->logits = tmap[g.output];
	free(tmap);
	graph_free(&g);
	mark_accumulation(n);
	plan_grads(n);

	if (check_memory(n, err, errlen)) {
		net_free(n);
		return NULL;
	}
	for (int i = 1; i < n->nt; i++) /* t[0], the input, is the caller's (net_forward) */
		n->t[i].val = xcalloc_huge(n->t[i].per_image * (size_t)max_batch, sizeof(float));
	alloc_grads(n);
	size_t pw_len = 1; /* the largest conv1x1's weight-gradient scratch */
	n->pwwork.threads = omp_get_max_threads();
	for (int i = 0; i < n->nops; i++) {
		const struct net_op *op = &n->ops[i];
		if (op->kind != NOP_CONV1X1)
			continue;
		size_t len = pw_work_floats(op->cin, op->cout, n->pwwork.threads);
		pw_len = len > pw_len ? len : pw_len;
	}
	n->pwwork.buf = xcalloc(pw_len, sizeof(float));
	n->params = xcalloc(n->nparams, sizeof(float));
	n->grads = xcalloc(n->nparams, sizeof(float));
	n->bufs = xcalloc(n->nbufs ? n->nbufs : 1, sizeof(float));
	n->batches_tracked = xcalloc(n->nbn ? (size_t)n->nbn : 1, sizeof(int64_t));
	return n;
}

void net_free(struct net *n)
{
	if (!n)
		return;
	for (int i = 1; i < n->nt; i++)
		free(n->t[i].val);
	for (int i = 0; n->grad_bufs && i < n->ngrad_bufs; i++)
		free(n->grad_bufs[i]);
	free(n->grad_bufs);
	free(n->grad_buf_floats);
	for (int i = 0; i < n->nops; i++) {
		struct net_op *op = &n->ops[i];
		free(op->mean);
		free(op->invstd);
		free(op->pre);
		free(op->dpre);
		free(op->se.p);
		free(op->se.z1);
		free(op->se.a1);
		free(op->se.s);
		free(op->se.dp);
		free(op->se.dz1);
		free(op->mask);
		free(op->dwwork.buf);
	}
	free(n->t);
	free(n->ops);
	free(n->entries);
	free(n->params);
	free(n->grads);
	free(n->bufs);
	free(n->batches_tracked);
	free(n->pwwork.buf);
	free(n->xin);
	free(n);
}

void net_init_weights(struct net *n, uint64_t seed)
{
	uint64_t rng = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
	if (!rng)
		rng = 1;
	memset(n->params, 0, sizeof(float) * n->nparams);
	memset(n->bufs, 0, sizeof(float) * n->nbufs);
	memset(n->batches_tracked, 0, sizeof(int64_t) * (size_t)(n->nbn ? n->nbn : 1));
	for (int i = 0; i < n->nentries; i++) {
		const struct net_entry *e = &n->entries[i];
		int is_weight = e->part == PT_WEIGHT;
		if (e->is_buffer) {
			if (e->part == PT_RUNNING_VAR)
				for (size_t j = 0; j < e->numel; j++)
					n->bufs[e->off + j] = 1;
		} else if (!is_weight) {
			/* biases: 0 */
		} else if (e->ndim == 4) {
			/* kaiming normal, fan_out = out_channels * kh * kw, gain sqrt(2) */
			double fan_out = (double)e->shape[0] * e->shape[2] * e->shape[3];
			double sd = sqrt(2.0 / fan_out);
			for (size_t j = 0; j < e->numel; j++)
				n->params[e->off + j] = (float)(sd * prng_xorshift_gauss(&rng));
		} else if (e->ndim == 2) {
			for (size_t j = 0; j < e->numel; j++)
				n->params[e->off + j] = (float)(0.01 * prng_xorshift_gauss(&rng));
		} else {
			for (size_t j = 0; j < e->numel; j++) /* BN gamma */
				n->params[e->off + j] = 1;
		}
	}
}

/* ---- running ---- */

const float *net_forward(struct net *n, const float *images, int batch, int train)
{
	/* The input tensor is the caller's batch itself, NHWC as dataset_batch fills it: no op
	 * writes its input, and it has no gradient. */
	n->t[0].val = (float *)images;
	if (n->tap.forward) {
		size_t len = n->t[0].per_image * (size_t)batch;
		memcpy(n->xin, images, sizeof(float) * len);
		n->tap.forward(n->tap.ctx, 0, NP_OUT, n->xin, len, train);
		n->t[0].val = n->xin;
	}
	float *P = n->params, *Bf = n->bufs;
	for (int i = 0; i < n->nops; i++) {
		struct net_op *op = &n->ops[i];
		const struct net_tensor *x = &n->t[op->in];
		struct net_tensor *y = &n->t[op->out];
		int M = batch * x->h * x->w;
		switch (op->kind) {
		case NOP_CONV1X1:
			conv1x1_forward(y->val, x->val, P + op->w, M, op->cin, op->cout, &n->pwwork);
			break;
		case NOP_DW: {
			struct dw_shape s = op->dws;
			s.N = batch;
			depthwise_forward(y->val, x->val, P + op->w, &s, &op->dwwork);
			break;
		}
		case NOP_BN: {
			/* split: BN into pre, the tap, then the activation into y */
			float *z = op->pre ? op->pre : y->val;
			int act = op->pre ? BN_NO_ACT : op->bn_act;
			if (train) {
				bn_forward_train(z, op->mean, op->invstd, Bf + op->rmean, Bf + op->rvar,
						 x->val, P + op->w, P + op->b, M, x->c, act);
				n->batches_tracked[op->bn]++;
			} else {
				bn_forward_infer(z, x->val, P + op->w, P + op->b, Bf + op->rmean,
						 Bf + op->rvar, M, x->c, act);
			}
			if (op->pre) {
				if (n->tap.forward)
					n->tap.forward(n->tap.ctx, op->out, NP_PRE, z, (size_t)M * x->c,
						       train);
				act_forward((enum act)op->bn_act, y->val, z, (size_t)M * x->c);
			}
			break;
		}
		case NOP_SE:
			op->se.train = train;
			se_forward(y->val, &op->se, x->val, P + op->w, P + op->b, P + op->w2, P + op->b2,
				   batch, x->h * x->w, x->c, op->se_ch);
			break;
		case NOP_ADD:
			add_forward(y->val, x->val, n->t[op->in2].val, (size_t)M * x->c);
			break;
		case NOP_GAP:
			gap_forward(y->val, x->val, batch, x->h * x->w, x->c);
			break;
		case NOP_DROPOUT:
			if (train && n->dropout > 0)
				dropout_forward(y->val, op->mask, x->val, (size_t)batch * x->c,
						n->dropout, &n->rng);
			else
				memcpy(y->val, x->val, sizeof(float) * (size_t)batch * x->c);
			break;
		case NOP_LINEAR:
			linear_forward(y->val, x->val, P + op->w, P + op->b, batch, op->cin, op->cout);
			break;
		}
		if (n->tap.forward && y->name[0])
			n->tap.forward(n->tap.ctx, op->out, NP_OUT, y->val,
				       y->per_image * (size_t)batch, train);
	}
	return n->t[n->logits].val;
}

double net_loss(struct net *n, const int *labels, int batch)
{
	return softmax_xent(n->t[n->logits].grad, n->t[n->logits].val, labels, batch,
			    n->an.classes);
}

float *net_dlogits(struct net *n)
{
	return n->t[n->logits].grad;
}

void net_backward(struct net *n, int batch)
{
	float *P = n->params, *G = n->grads;
	for (int i = n->nops - 1; i >= 0; i--) {
		struct net_op *op = &n->ops[i];
		struct net_tensor *x = &n->t[op->in];
		const struct net_tensor *y = &n->t[op->out];
		int M = batch * x->h * x->w;
		float *dx = x->grad;
		if (n->tap.backward && y->name[0])
			n->tap.backward(n->tap.ctx, op->out, NP_OUT, y->grad,
					y->per_image * (size_t)batch);
		switch (op->kind) {
		case NOP_CONV1X1:
			conv1x1_backward(dx, G + op->w, y->grad, x->val, P + op->w, M, op->cin,
					 op->cout, op->accum, &n->pwwork);
			break;
		case NOP_DW: {
			struct dw_shape s = op->dws;
			s.N = batch;
			depthwise_backward(dx, G + op->w, y->grad, x->val, P + op->w, &s, op->accum,
					   &op->dwwork);
			break;
		}
		case NOP_BN:
			if (op->pre) { /* split: the activation's backward, the tap, then BN's */
				size_t len = (size_t)M * x->c;
				act_backward((enum act)op->bn_act, op->dpre, y->grad, op->pre, len, 0);
				if (n->tap.backward)
					n->tap.backward(n->tap.ctx, op->out, NP_PRE, op->dpre, len);
				bn_backward(dx, G + op->w, G + op->b, op->dpre, x->val, op->mean,
					    op->invstd, P + op->w, P + op->b, M, x->c, op->accum,
					    BN_NO_ACT);
			} else {
				bn_backward(dx, G + op->w, G + op->b, y->grad, x->val, op->mean,
					    op->invstd, P + op->w, P + op->b, M, x->c, op->accum,
					    op->bn_act);
			}
			break;
		case NOP_SE:
			se_backward(dx, G + op->w, G + op->b, G + op->w2, G + op->b2, &op->se, y->grad,
				    x->val, P + op->w, P + op->w2, batch, x->h * x->w, x->c,
				    op->se_ch, op->accum);
			break;
		case NOP_ADD:
			if (dx)
				pass_backward(dx, y->grad, (size_t)M * x->c, op->accum);
			if (n->t[op->in2].grad)
				pass_backward(n->t[op->in2].grad, y->grad, (size_t)M * x->c,
					      op->accum2);
			break;
		case NOP_GAP:
			gap_backward(dx, y->grad, batch, x->h * x->w, x->c, op->accum);
			break;
		case NOP_DROPOUT:
			if (n->dropout > 0)
				dropout_backward(dx, y->grad, op->mask, (size_t)batch * x->c, op->accum);
			else
				pass_backward(dx, y->grad, (size_t)batch * x->c, op->accum);
			break;
		case NOP_LINEAR:
			linear_backward(dx, G + op->w, G + op->b, y->grad, x->val, P + op->w, batch,
					op->cin, op->cout, op->accum);
			break;
		}
	}
}

/* An SE op's se_tap: the net's tap on the part of the op's output tensor. */
static void se_tap_forward(void *ctx, enum se_part part, float *v, size_t len, int train)
{
	struct net_se_ctx *c = ctx;
	c->n->tap.forward(c->n->tap.ctx, c->tensor, (enum net_part)(NP_SE_POOL + part), v, len, train);
}

static void se_tap_backward(void *ctx, enum se_part part, float *g, size_t len)
{
	struct net_se_ctx *c = ctx;
	c->n->tap.backward(c->n->tap.ctx, c->tensor, (enum net_part)(NP_SE_POOL + part), g, len);
}

void net_set_tap(struct net *n, const struct net_tap *tap)
{
	for (int i = 0; i < n->nops; i++) {
		struct net_op *op = &n->ops[i];
		if (op->kind != NOP_SE)
			continue;
		op->se_ctx = (struct net_se_ctx){n, op->out};
		if (tap)
			op->se.tap = (struct se_tap){se_tap_forward, se_tap_backward, &op->se_ctx};
		else
			memset(&op->se.tap, 0, sizeof op->se.tap);
	}
	if (!tap) {
		memset(&n->tap, 0, sizeof n->tap);
		return;
	}
	n->tap = *tap;
	if (!n->xin)
		n->xin = xmalloc(sizeof(float) * n->t[0].per_image * (size_t)n->max_batch);
}

void net_split_act(struct net *n, int i)
{
	struct net_op *op = &n->ops[i];
	if (op->kind != NOP_BN || op->bn_act == BN_NO_ACT)
		die("net_split_act: op %d is not a BN with an activation", i);
	if (op->pre)
		return;
	size_t len = n->t[op->out].per_image * (size_t)n->max_batch;
	op->pre = xcalloc_huge(len, sizeof(float));
	op->dpre = xcalloc_huge(len, sizeof(float));
}

const struct net_entry *net_find(const struct net *n, const char *name)
{
	for (int i = 0; i < n->nentries; i++)
		if (strcmp(n->entries[i].name, name) == 0)
			return &n->entries[i];
	return NULL;
}

size_t net_activation_bytes(const struct net *n)
{
	size_t total = 0;
	for (int i = 0; i < n->nt; i++)
		total += sizeof(float) * n->t[i].per_image * n->max_batch;
	for (int b = 0; b < n->ngrad_bufs; b++)
		total += sizeof(float) * n->grad_buf_floats[b];
	return total;
}


void net_set_threads(int threads)
{
	if (threads <= 0)
		threads = omp_get_num_procs();
	if (threads > 1 && !getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT"))
		log_info("OMP_WAIT_POLICY is not set: idle OpenMP threads spin, which slows a busy "
			 "machine down (export OMP_WAIT_POLICY=passive, or GOMP_SPINCOUNT=10000 on a "
			 "machine this program has to itself; make and the pipelines do)");
	omp_set_num_threads(threads);
	openblas_set_num_threads(1); /* gemm_rows threads the GEMMs with OpenMP */
}
