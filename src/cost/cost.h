/* cost.h — the cost model of an arch at a resolution and class count (DESIGN.md "Cost
 * conventions"; the formulas are in check-cost(1)).
 *
 *   macs        multiply-accumulates of every conv (SE's included) and of the classifier
 *   params      every trainable parameter (BN gamma/beta, SE and classifier biases included)
 *   flash_bytes the emitted model as built for the Cortex-M7 (text + data of NAME.c compiled by
 *               emit-c's Makefile, as arm-none-eabi-size counts it), within 1%:
 *               parameters: per conv/linear after BN folding int8 weights + 9 bytes per output
 *                 channel (int32 bias, int32 requant multiplier, int8 shift), plus 256 bytes per
 *                 lookup table: one per op applying sigmoid (SE), swish or leakyrelu
 *                 (cost_op_flash; what the PyTorch golden files check);
 *               ternary convs (--weight-format ternary, cost_op_ternary): ceil(weights / 5)
 *                 + 5 bytes per output channel (int16 bias, int16 multiplier, int8 shift);
 *               structs: a 28-byte struct lmq_rq per conv (32-byte lmq_rq3 when ternary),
 *                 15 bytes per residual add;
 *               code (flash_code_bytes): each kernel the model calls, once, plus a call per op,
 *                 plus the run function's frame. The code sizes are measured with Debian's
 *                 arm-none-eabi-gcc 12.2, -O2 -mcpu=cortex-m7 -mthumb (tests/cli/emit-c.sh
 *                 checks the whole against a real build)
 *   peak_sram   layer by layer: max over ops of input(s) + output + tensors held for later
 *   arena       the planner's arena with in-place ops (what emit-c allocates)
 *   sram        what the emitted program needs in SRAM: the arena rounded up to RAM words plus
 *               the stack reserve (COST_STACK_BYTES, emit-c's --stack); --sram-max applies to it,
 *               in check-cost, in emit-c and in the emitted linker script alike */
#ifndef LMNAS_COST_H
#define LMNAS_COST_H
#include <stdint.h>

#include "core/arch.h"
#include "cost/graph.h"
#include "cost/stream.h"

#define COST_LUT_BYTES 256
#define COST_PER_CHANNEL_BYTES 9
/* A ternary conv's per channel: int16 bias, int16 multiplier, int8 shift (struct lmq_rq3). */
#define COST_PER_CHANNEL_BYTES_T3 5
#define COST_ARENA_ALIGN 1
/* The stack reserved in SRAM next to the arena (emit-c's --stack default and the linker
 * script's _stack_size); a multiple of 8, the AAPCS stack alignment. */
#define COST_STACK_BYTES 8192
/* The emitted linker script places .bss (the arena) in whole 4-byte words. */
#define COST_RAM_ALIGN 4

/* The kernels of int8_ref.h a model calls; an op calls one (cost_op_kernel). */
enum cost_kernel { COST_K_PW, COST_K_PW_T3, COST_K_DW, COST_K_DW_T3, COST_K_GAP, COST_K_SCALE,
		   COST_K_ADD, COST_NKERNELS };
#define COST_RQ_BYTES 28  /* struct lmq_rq of a conv: 4 pointers, 3 int32 */
#define COST_RQ3_BYTES 32 /* struct lmq_rq3 of a ternary conv: 4 pointers, 4 int32 */
#define COST_ADD_BYTES 15 /* a residual add's 3 int32 multipliers and 3 int8 shifts */
#define COST_RUN_BYTES 128 /* NAME_run's frame: input copy, argmax, prologue */

struct cost {
	int64_t macs, params, flash_bytes;
	int64_t flash_code_bytes; /* the code part of flash_bytes */
	int64_t flash_params_bytes; /* the parameter part (sum of cost_op_flash) */
	int64_t peak_sram_bytes; /* layer by layer, no reuse */
	char peak_op[160];
	int64_t arena_bytes;     /* planned, in place */
	char arena_op[160];      /* the op where the arena is fullest */
	int64_t stack_bytes;     /* COST_STACK_BYTES */
	int64_t sram_bytes;      /* cost_sram_bytes(arena_bytes, stack_bytes) */
	int64_t block_macs[ARCH_MAX_BLOCKS]; /* MACs per block (for messages) */
	double m7_instructions;  /* predicted instructions of one inference (latency.h) */
	int patch_layers;        /* layers row-streamed (stream.h), 0 = layer by layer */
	int patch_streams;       /* streams they form */
	int64_t patch_steps;     /* row steps of the streams */
	double patch_macs_overhead; /* MACs the streams compute beyond layer by layer, as a
				       fraction of macs (0: rows are never recomputed) */
};

/* The deployed weight format: int8 everywhere, or sparse ternary in every conv (pointwise,
 * depthwise, SE) but the first one (it reads the image: its few weights cost little flash and
 * much accuracy), the classifier and the convs named in int8_ops, packed base 3 (ceil(weights /
 * 5) bytes) with 5 bytes per output channel, run by lmq_pw_t3 and lmq_dw_t3 (quantize
 * --weight-format ternary, check-cost --weight-format ternary, QAT's ternary mode, each with
 * --int8-ops; int8_ref.h "sparse ternary weights"). */
struct cost_weights {
	int ternary;          /* 0: int8 everywhere */
	const char *int8_ops; /* ternary: op names that stay int8, comma-separated
				 ("layers.1.layers.0.dw,layers.2.layers.0.dw"), or NULL */
};
/* 1 when op's weights are ternary in format w: the one rule of quantize, QAT and check-cost. */
int cost_op_ternary(const struct g_op *op, struct cost_weights w);
/* Checks that every name in the comma-separated list (NULL: none) is a conv of net's graph that
 * ternary would make ternary (so keeping it int8 means something). Returns 0, or -1 with err
 * naming the first that is not. */
int cost_int8_ops_check(const struct arch_net *net, const char *list, char *err, size_t errlen);

/* Counts MACs, params and flash of a graph (either variant: the counts do not depend on
 * in-place); cost_count is cost_count_w with int8 weights. */
void cost_count(const struct graph *g, struct cost *c);
void cost_count_w(const struct graph *g, struct cost_weights w, struct cost *c);

/* Parameter flash bytes of one op (weights + per-channel + LUT); int8 or in format w. */
int64_t cost_op_flash(const struct g_op *op);
int64_t cost_op_flash_w(const struct g_op *op, struct cost_weights w);

/* The kernel an op calls in the emitted C (int8 weights; cost_op_kernel_w: in format w). */
enum cost_kernel cost_op_kernel(const struct g_op *op);
enum cost_kernel cost_op_kernel_w(const struct g_op *op, struct cost_weights w);

/* Flash bytes an op adds beyond its parameters (its struct), and the code of a model that makes
 * calls[k] calls of each kernel k. */
int64_t cost_op_struct_bytes(enum cost_kernel k);
int64_t cost_code_bytes(const int calls[COST_NKERNELS]);

/* SRAM of the emitted program: the arena rounded up to COST_RAM_ALIGN, plus the stack. */
int64_t cost_sram_bytes(int64_t arena_bytes, int64_t stack_bytes);

/* Everything, including the layer-by-layer peak and the planned arena. Returns 0, or -1 with err
 * when the planner's self-check fails (a bug). */
int cost_compute(const struct arch_net *net, struct cost *c, char *err, size_t errlen);
/* The same with the flash of weight format w. */
int cost_compute_w(const struct arch_net *net, struct cost_weights w, struct cost *c, char *err,
		   size_t errlen);

/* As cost_compute, with the first patch_layers layers row-streamed (stream.h): 0 is layer by
 * layer, STREAM_AUTO the choice of cost_pick_exec. */
int cost_compute_exec(const struct arch_net *net, int patch_layers, struct cost *c, char *err,
		      size_t errlen);

/* Both: the flash of weight format w, the first patch_layers layers row-streamed. */
int cost_compute_with(const struct arch_net *net, struct cost_weights w, int patch_layers,
		      struct cost *c, char *err, size_t errlen);

/* What cost_compute_exec streams for patch_layers: N (clamped to the layers) is the first N
 * layers in as few streams as SE allows; STREAM_AUTO tries each number of first layers, each
 * with a stream split after every layer where that lowers the arena (one pass, first layer
 * first), and keeps the smallest arena (the fewest layers among equals). */
void cost_pick_exec(const struct arch_net *net, int patch_layers, struct stream_exec *x);

/* The graph as deployed: in place, streamed as x says. Free both with graph_free and
 * stream_free. */
void cost_exec_graph(const struct arch_net *net, const struct stream_exec *x, struct graph *g,
		     struct streams *s);

/* Flash the streams add to a model (cost.h "flash"): per stream its loop and step table (a byte
 * per step), per streamed op its switch case instead of its call, lmq_dw_row's code instead of
 * lmq_dw's when no depthwise runs whole. streamed[k] of the calls[k] ops calling kernel k are
 * streamed. Fitted to arm-none-eabi-size of 9 emitted models (within 16 bytes). */
int64_t cost_stream_code_bytes(int nstreams, int nsteps, const int streamed[COST_NKERNELS],
			       const int calls[COST_NKERNELS]);
/* The same for graph g streamed as s. */
int64_t cost_stream_flash(const struct graph *g, const struct streams *s);

/* Plans the in-place graph: fills t (g->ntensors entries, from graph tensors) and returns the
 * arena, or -1 with err. emit-c uses this to place its tensors. */
struct plan_tensor;
int64_t cost_plan_graph(const struct graph *g, struct plan_tensor *t, char *err, size_t errlen);
#endif
