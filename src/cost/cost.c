/* cost.c — MACs, params, flash, layer-by-layer peak SRAM and the planned arena (see cost.h). */
#include "cost/cost.h"
#include "cost/latency.h"
#include "cost/plan.h"
#include "cost/stream.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The comma-separated list's item at p: its length in *len; returns where the next one starts,
 * or NULL after the last. */
static const char *list_item(const char *p, size_t *len)
{
	const char *end = strchr(p, ',');
	*len = end ? (size_t)(end - p) : strlen(p);
	return end ? end + 1 : NULL;
}

/* Whether name is the list item at p of length len. */
static int item_is(const char *p, size_t len, const char *name)
{
	return strlen(name) == len && !strncmp(p, name, len);
}

/* Whether name is one of the comma-separated list. */
static int listed(const char *list, const char *name)
{
	size_t len;
	for (const char *p = list, *next; p && *p; p = next) {
		next = list_item(p, &len);
		if (item_is(p, len, name))
			return 1;
	}
	return 0;
}

/* Ternary would make op ternary: a conv with weights that is not the first one (graph_build's
 * tensor 0 is the network input) or the classifier. */
static int ternary_candidate(const struct g_op *op)
{
	return op->weights > 0 && op->kind != OP_LINEAR && op->in[0] != 0;
}

int cost_op_ternary(const struct g_op *op, struct cost_weights w)
{
	return w.ternary && ternary_candidate(op) && !listed(w.int8_ops, op->name);
}

int cost_int8_ops_check(const struct arch_net *net, const char *list, char *err, size_t errlen)
{
	if (!list || !*list) /* check-cost asks for every record: no graph to build then */
		return 0;
	struct graph g;
	graph_build(net, false, &g);
	int rc = 0;
	size_t len;
	for (const char *p = list, *next; p && *p && !rc; p = next) {
		next = list_item(p, &len);
		int found = 0;
		for (int i = 0; i < g.nops && !found; i++)
			found = ternary_candidate(&g.ops[i]) && item_is(p, len, g.ops[i].name);
		if (!found)
			rc = fail(err, errlen, "--int8-ops: '%.*s' is not a conv that ternary makes "
				  "ternary (check-cost --plan names the ops: e.g. layers.1.layers.0.dw)",
				  len > 64 ? 64 : (int)len, p);
	}
	graph_free(&g);
	return rc;
}

int64_t cost_op_flash(const struct g_op *op)
{
	return cost_op_flash_w(op, (struct cost_weights){0});
}

int64_t cost_op_flash_w(const struct g_op *op, struct cost_weights w)
{
	int64_t bytes = cost_op_ternary(op, w)
				? (op->weights + 4) / 5 + (int64_t)COST_PER_CHANNEL_BYTES_T3 * op->out_ch
				: op->weights + (int64_t)COST_PER_CHANNEL_BYTES * op->out_ch;
	if (op->act == OPACT_SIGMOID || op->act == OPACT_SWISH || op->act == OPACT_LEAKYRELU)
		bytes += COST_LUT_BYTES;
	return bytes;
}

/* Code bytes of each kernel (compiled once) and of one call to it in NAME_run, from
 * arm-none-eabi-size of emitted models (see cost.h). The Cortex-M7 build selects the DSP
 * kernels of int8_dsp.h: pointwise is lmq_pw_dsp (3884), depthwise lmq_dw_dsp (2626) with the
 * plain lmq_dw (1322) it falls back to (kernels above 7x7, strides above 2, rows over 192 bytes
 * padded) and, for small outputs, lmq_dwg_dsp (2634; counted whenever a model has a depthwise:
 * nearly every one has both large and small maps), SE scale lmq_scale_dsp (238) and add
 * lmq_add_dsp (422) with the plain ones (480, 1022) they fall back to (left shifts); ternary
 * convs call lmq_pw_t3 (692) and lmq_dw_t3 (1044), row-streamed lmq_dw_row_t3 (908). */
static const int kernel_bytes[COST_NKERNELS] = {3884, 692, 2626 + 1322 + 2634, 1044, 100,
						 238 + 480, 422 + 1022};
/* A ternary model calls the plain int8 kernels for its few int8 ops (the first conv, the
 * classifier, SE scales and adds: emit.c, int8_kernel): lmq_pw (616), lmq_dw (1322), lmq_scale
 * (480), lmq_add (1022); the DSP ones would add about 7 kB to its code. */
static const int kernel_bytes_plain[COST_NKERNELS] = {616, 692, 1322, 1044, 100, 480, 1022};
static const int call_bytes[COST_NKERNELS] = {40, 40, 55, 55, 16, 36, 33};

/* The kernel sizes of a model with these calls: a model that calls a ternary kernel is ternary. */
static const int *kernel_sizes(const int calls[COST_NKERNELS])
{
	return calls[COST_K_PW_T3] || calls[COST_K_DW_T3] ? kernel_bytes_plain : kernel_bytes;
}

enum cost_kernel cost_op_kernel_w(const struct g_op *op, struct cost_weights w)
{
	if (!cost_op_ternary(op, w))
		return cost_op_kernel(op);
	return op->kind == OP_DW ? COST_K_DW_T3 : COST_K_PW_T3;
}

enum cost_kernel cost_op_kernel(const struct g_op *op)
{
	switch (op->kind) {
	case OP_DW: return COST_K_DW;
	case OP_SE_POOL:
	case OP_POOL: return COST_K_GAP;
	case OP_SE_SCALE: return COST_K_SCALE;
	case OP_ADD: return COST_K_ADD;
	default: return COST_K_PW; /* pointwise, SE fc1/fc2, classifier */
	}
}

int64_t cost_op_struct_bytes(enum cost_kernel k)
{
	if (k == COST_K_PW || k == COST_K_DW)
		return COST_RQ_BYTES;
	if (k == COST_K_PW_T3 || k == COST_K_DW_T3)
		return COST_RQ3_BYTES;
	return k == COST_K_ADD ? COST_ADD_BYTES : 0;
}

int64_t cost_code_bytes(const int calls[COST_NKERNELS])
{
	const int *kb = kernel_sizes(calls);
	int64_t bytes = COST_RUN_BYTES;
	for (int k = 0; k < COST_NKERNELS; k++)
		if (calls[k])
			bytes += kb[k] + (int64_t)call_bytes[k] * calls[k];
	return bytes;
}

void cost_count(const struct graph *g, struct cost *c)
{
	cost_count_w(g, (struct cost_weights){0}, c);
}

void cost_count_w(const struct graph *g, struct cost_weights w, struct cost *c)
{
	int calls[COST_NKERNELS] = {0};
	for (int i = 0; i < g->nops; i++) {
		const struct g_op *op = &g->ops[i];
		enum cost_kernel k = cost_op_kernel_w(op, w);
		c->macs += op->macs;
		c->params += op->params;
		c->flash_params_bytes += cost_op_flash_w(op, w);
		c->flash_bytes += cost_op_flash_w(op, w) + cost_op_struct_bytes(k);
		calls[k]++;
	}
	c->flash_code_bytes = cost_code_bytes(calls);
	c->flash_bytes += c->flash_code_bytes;
}

int64_t cost_plan_graph(const struct graph *g, struct plan_tensor *t, char *err, size_t errlen)
{
	for (int i = 0; i < g->ntensors; i++) {
		const struct g_tensor *gt = &g->tensors[i];
		memset(&t[i], 0, sizeof t[i]);
		t[i].bytes = gt->bytes;
		t[i].first = gt->first;
		t[i].last = gt->last;
		t[i].alias = gt->alias;
	}
	return plan_run(t, g->ntensors, COST_ARENA_ALIGN, err, errlen);
}

int64_t cost_sram_bytes(int64_t arena_bytes, int64_t stack_bytes)
{
	return (arena_bytes + COST_RAM_ALIGN - 1) / COST_RAM_ALIGN * COST_RAM_ALIGN + stack_bytes;
}

/* A stream's loop, a switch case of a streamed op per kernel (its row pointers computed in
 * place), and lmq_dw_row's code: measured as cost.h says. */
#define STREAM_LOOP_BYTES 104
#define DW_ROW_KERNEL_BYTES 740
#define DW_ROW_T3_KERNEL_BYTES 908
static const int case_bytes[COST_NKERNELS] = {96, 96, 18, 28, 16, 36, 67};

int64_t cost_stream_code_bytes(int nstreams, int nsteps, const int streamed[COST_NKERNELS],
			       const int calls[COST_NKERNELS])
{
	const int *kb = kernel_sizes(calls);
	int64_t b = (int64_t)STREAM_LOOP_BYTES * nstreams + nsteps;
	for (int k = 0; k < COST_NKERNELS; k++)
		b += (int64_t)(case_bytes[k] - call_bytes[k]) * streamed[k];
	if (streamed[COST_K_DW])
		b += DW_ROW_KERNEL_BYTES;
	if (streamed[COST_K_DW] && streamed[COST_K_DW] == calls[COST_K_DW])
		b -= kb[COST_K_DW];
	if (streamed[COST_K_DW_T3])
		b += DW_ROW_T3_KERNEL_BYTES;
	if (streamed[COST_K_DW_T3] && streamed[COST_K_DW_T3] == calls[COST_K_DW_T3])
		b -= kb[COST_K_DW_T3];
	return b;
}

int64_t cost_stream_flash(const struct graph *g, const struct streams *s)
{
	int streamed[COST_NKERNELS] = {0}, calls[COST_NKERNELS] = {0};
	for (int i = 0; i < g->nops; i++) {
		enum cost_kernel k = cost_op_kernel(&g->ops[i]);
		calls[k]++;
		streamed[k] += s->stream_of[i] >= 0;
	}
	return cost_stream_code_bytes(s->nstreams, s->nsteps, streamed, calls);
}

void cost_exec_graph(const struct arch_net *net, const struct stream_exec *x, struct graph *g,
		     struct streams *s)
{
	graph_build(net, true, g);
	stream_build(g, x, s);
}

/* The planned arena with x streamed, or INT64_MAX when the planner's self-check fails. */
static int64_t arena_with(const struct arch_net *net, const struct stream_exec *x)
{
	struct graph g;
	struct streams s;
	char err[256];
	cost_exec_graph(net, x, &g, &s);
	struct plan_tensor *t = xcalloc(g.ntensors, sizeof *t);
	int64_t arena = cost_plan_graph(&g, t, err, sizeof err);
	free(t);
	stream_free(&s);
	graph_free(&g);
	return arena < 0 ? INT64_MAX : arena;
}

/* Splits x's streams after each layer in turn where that lowers the arena (one pass, first layer
 * first); returns the arena. */
static int64_t add_splits(const struct arch_net *net, struct stream_exec *x, int64_t arena)
{
	for (int l = 0; l + 1 < x->layers; l++) {
		x->split[l] = 1;
		int64_t a = arena_with(net, x);
		if (a < arena)
			arena = a;
		else
			x->split[l] = 0;
	}
	return arena;
}

void cost_pick_exec(const struct arch_net *net, int patch_layers, struct stream_exec *x)
{
	memset(x, 0, sizeof *x);
	if (patch_layers != STREAM_AUTO) {
		x->layers = patch_layers < 0 ? 0 : patch_layers > net->nlayers ? net->nlayers
										   : patch_layers;
		return;
	}
	/* each number of first layers with its best splits; the smallest arena wins */
	struct stream_exec *best = xcalloc(1, sizeof *best);
	int64_t best_arena = arena_with(net, best);
	for (int n = 1; n <= net->nlayers; n++) {
		memset(x, 0, sizeof *x);
		x->layers = n;
		int64_t a = add_splits(net, x, arena_with(net, x));
		if (a < best_arena) {
			*best = *x;
			best_arena = a;
		}
	}
	*x = *best;
	free(best);
}

int cost_compute(const struct arch_net *net, struct cost *c, char *err, size_t errlen)
{
	return cost_compute_with(net, (struct cost_weights){0}, 0, c, err, errlen);
}

int cost_compute_w(const struct arch_net *net, struct cost_weights w, struct cost *c, char *err,
		   size_t errlen)
{
	return cost_compute_with(net, w, 0, c, err, errlen);
}

int cost_compute_exec(const struct arch_net *net, int patch_layers, struct cost *c, char *err,
		      size_t errlen)
{
	return cost_compute_with(net, (struct cost_weights){0}, patch_layers, c, err, errlen);
}

int cost_compute_with(const struct arch_net *net, struct cost_weights w, int patch_layers,
		      struct cost *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	struct graph g;
	struct streams s;
	int at;

	graph_build(net, false, &g);
	cost_count_w(&g, w, c);
	for (int i = 0; i < g.nops; i++)
		if (g.ops[i].layer >= 0)
			c->block_macs[net->layers[g.ops[i].layer].block] += g.ops[i].macs;
	c->peak_sram_bytes = graph_live_peak(&g, &at);
	graph_op_name(&g, at, c->peak_op, sizeof c->peak_op);
	graph_free(&g);

	struct stream_exec *x = xmalloc(sizeof *x);
	cost_pick_exec(net, patch_layers, x);
	cost_exec_graph(net, x, &g, &s);
	c->patch_layers = x->layers;
	c->patch_streams = s.nstreams;
	c->patch_steps = s.nsteps;
	free(x);
	c->patch_macs_overhead = c->macs ? (double)(s.step_macs - s.streamed_macs) / c->macs : 0;
	c->flash_bytes += cost_stream_flash(&g, &s);
	c->m7_instructions = latency_instructions(&g); /* layer by layer: rows are not modelled */
	struct plan_tensor *t = xcalloc(g.ntensors, sizeof *t);
	c->arena_bytes = cost_plan_graph(&g, t, err, errlen);
	if (c->arena_bytes >= 0) {
		int64_t *used = xcalloc(g.nops, sizeof *used);
		at = plan_usage(t, g.ntensors, g.nops, used);
		graph_op_name(&g, at, c->arena_op, sizeof c->arena_op);
		free(used);
	}
	free(t);
	stream_free(&s);
	graph_free(&g);
	c->stack_bytes = COST_STACK_BYTES;
	c->sram_bytes = cost_sram_bytes(c->arena_bytes, c->stack_bytes);
	return c->arena_bytes >= 0 ? 0 : -1;
}
