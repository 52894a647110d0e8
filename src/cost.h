/* cost.h — the cost model of an arch at a resolution and class count (DESIGN.md "Cost
 * conventions"; the formulas are in check-cost(1)).
 *
 *   macs        multiply-accumulates of every conv (SE's included) and of the classifier
 *   params      every trainable parameter (BN gamma/beta, SE and classifier biases included)
 *   flash_bytes per conv/linear after BN folding: int8 weights + 9 bytes per output channel
 *               (int32 bias, int32 requant multiplier, int8 shift); plus 256 bytes per lookup
 *               table: one per op applying sigmoid (SE), swish or leakyrelu
 *   peak_sram   layer by layer: max over ops of input(s) + output + tensors held for later
 *   arena       the planner's arena with in-place ops (what emit-c allocates) */
#ifndef LMNAS_COST_H
#define LMNAS_COST_H
#include <stdint.h>

#include "arch.h"
#include "graph.h"

#define COST_LUT_BYTES 256
#define COST_PER_CHANNEL_BYTES 9
#define COST_ARENA_ALIGN 1

struct cost {
	int64_t macs, params, flash_bytes;
	int64_t peak_sram_bytes; /* layer by layer, no reuse */
	char peak_op[160];
	int64_t arena_bytes;     /* planned, in place */
	char arena_op[160];      /* the op where the arena is fullest */
	int64_t block_macs[ARCH_MAX_BLOCKS]; /* MACs per block (for messages) */
};

/* Counts MACs, params and flash of a graph (either variant: the counts do not depend on
 * in-place). */
void cost_count(const struct graph *g, struct cost *c);

/* Flash bytes of one op (weights + per-channel + LUT). */
int64_t cost_op_flash(const struct g_op *op);

/* Everything, including the layer-by-layer peak and the planned arena. Returns 0, or -1 with err
 * when the planner's self-check fails (a bug). */
int cost_compute(const struct arch_net *net, struct cost *c, char *err, size_t errlen);

/* Plans the in-place graph: fills t (g->ntensors entries, from graph tensors) and returns the
 * arena, or -1 with err. emit-c uses this to place its tensors. */
struct plan_tensor;
int64_t cost_plan_graph(const struct graph *g, struct plan_tensor *t, char *err, size_t errlen);
#endif
