/* cost.c — MACs, params, flash, layer-by-layer peak SRAM and the planned arena (see cost.h). */
#include "cost.h"
#include "plan.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t cost_op_flash(const struct g_op *op)
{
	int64_t bytes = op->weights + (int64_t)COST_PER_CHANNEL_BYTES * op->out_ch;
	if (op->act == OPACT_SIGMOID || op->act == OPACT_SWISH || op->act == OPACT_LEAKYRELU)
		bytes += COST_LUT_BYTES;
	return bytes;
}

void cost_count(const struct graph *g, struct cost *c)
{
	for (int i = 0; i < g->nops; i++) {
		const struct g_op *op = &g->ops[i];
		c->macs += op->macs;
		c->params += op->params;
		c->flash_bytes += cost_op_flash(op);
	}
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

int cost_compute(const struct arch_net *net, struct cost *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	struct graph g;
	int at;

	graph_build(net, false, &g);
	cost_count(&g, c);
	for (int i = 0; i < g.nops; i++)
		if (g.ops[i].layer >= 0)
			c->block_macs[net->layers[g.ops[i].layer].block] += g.ops[i].macs;
	c->peak_sram_bytes = graph_live_peak(&g, &at);
	graph_op_name(&g, at, c->peak_op, sizeof c->peak_op);
	graph_free(&g);

	graph_build(net, true, &g);
	struct plan_tensor *t = xcalloc(g.ntensors, sizeof *t);
	c->arena_bytes = cost_plan_graph(&g, t, err, errlen);
	if (c->arena_bytes >= 0) {
		int64_t *used = xcalloc(g.nops, sizeof *used);
		at = plan_usage(t, g.ntensors, g.nops, used);
		graph_op_name(&g, at, c->arena_op, sizeof c->arena_op);
		free(used);
	}
	free(t);
	graph_free(&g);
	c->stack_bytes = COST_STACK_BYTES;
	c->sram_bytes = cost_sram_bytes(c->arena_bytes, c->stack_bytes);
	return c->arena_bytes >= 0 ? 0 : -1;
}
