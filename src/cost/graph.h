/* graph.h — the int8 deployment op graph of an arch_net (DESIGN.md "Cost conventions", "int8").
 *
 * The network as a flat list of operations in execution order, each reading and writing int8
 * activation tensors (one byte per element, NHWC). BN and the activation are fused into the conv
 * that precedes them. Per layer (names follow PyTorch: layers.B.layers.L):
 *
 *   mbconv:    expand pw 1x1 (+act) -> dw kxk (+act) -> [SE] -> project pw 1x1
 *   depthwise: dw kxk (+act) -> [SE] -> project pw 1x1
 *   SE:        se_pool (GAP) -> se_fc1 (+relu) -> se_fc2 (+sigmoid) -> se_scale (x * s)
 *   residual:  [res_proj pw 1x1 of the layer input] -> add
 *   head:      pool (GAP) -> classifier (Linear)
 *
 * Every tensor has a lifetime [first, last] in op indices: first = the op that writes it (the
 * network input: 0), last = the last op that reads it. A tensor may name an "alias" tensor whose
 * memory it can reuse (in-place depthwise, SE scale, residual add) — the builder sets it only when
 * the alias dies at the op that writes this one. In-place depthwise (TinyEngine style) also needs
 * a scratch tensor of out_h*out_w bytes that lives only during that op.
 *
 * The graph is the one description of the network: cost.c counts it (MACs, params, flash,
 * layer-by-layer peak), plan.c places it, net.c trains it, fold.c folds and runs it in float,
 * quant.c turns it into the int8 model that int8_ref.c runs and emit.c writes out. It is also the
 * one place that spells the reference's PyTorch tensor names (graph_tensor_name). */
#ifndef LMNAS_GRAPH_H
#define LMNAS_GRAPH_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/arch.h"

enum op_kind {
	OP_PW,         /* 1x1 conv, BN folded, optional act: expand, project, res_proj */
	OP_DW,         /* depthwise kxk conv, BN folded, act */
	OP_SE_POOL,    /* global average pool [H][W][C] -> [C] */
	OP_SE_FC1,     /* 1x1 conv with bias [C] -> [R], relu */
	OP_SE_FC2,     /* 1x1 conv with bias [R] -> [C], sigmoid */
	OP_SE_SCALE,   /* [H][W][C] * [C] -> [H][W][C] */
	OP_ADD,        /* [H][W][C] + [H][W][C] -> [H][W][C], no activation */
	OP_POOL,       /* head global average pool [H][W][C] -> [C] */
	OP_LINEAR,     /* classifier [C] -> [classes], with bias */
};

enum op_act { OPACT_NONE, OPACT_RELU, OPACT_RELU6, OPACT_LEAKYRELU, OPACT_SWISH, OPACT_SIGMOID };

struct g_tensor {
	int h, w, c;     /* shape [h][w][c]; vectors are 1x1xc */
	int64_t bytes;   /* h*w*c (int8) */
	int first, last; /* lifetime in op indices, inclusive */
	int alias;       /* tensor whose memory this one may reuse in place, or -1 */
	bool scratch;    /* the in-place depthwise scratch buffer */
};

struct g_op {
	enum op_kind kind;
	enum op_act act;
	int layer;       /* index into arch_net.layers, or -1 for the head */
	const char *role;/* "expand", "dw", "se_pool", "se_fc1", "se_fc2", "se_scale", "project",
			    "res_proj", "add", "pool", "classifier" */
	int in[2], nin;  /* input tensors */
	int out;         /* output tensor */
	int scratch;     /* scratch tensor (in-place dw) or -1 */
	int kernel, stride, pad; /* dw only; 1,1,0 otherwise */
	int64_t macs;    /* multiply-accumulates */
	int64_t weights; /* weight elements (after BN folding; bias not included) */
	int64_t params;  /* trainable parameters of the PyTorch modules behind this op (conv + BN, or
			    conv/linear with bias) */
	int out_ch;      /* output channels that carry a bias + requant (flash), 0 for no conv */
	char module[32]; /* PyTorch prefix: "layers.1.layers.0" or "classifier" */
	char name[48];   /* the op's own name: "layers.1.layers.0.expand", ".se.fc1", "pool",
			    "classifier" (the int8 model's tensors, the emitted C) */
	char conv[48];   /* PyTorch module of its weights: "layers.1.layers.0.conv.0",
			    "layers.1.layers.0.conv.6.se.1", "classifier"; "" without weights */
	char bn[48];     /* PyTorch module of the BN after the conv: "layers.1.layers.0.conv.1";
			    "" when the conv has its own bias (SE, classifier) or there is no conv */
};

/* The PyTorch module of the classifier (the head's Linear). */
#define GRAPH_CLASSIFIER "classifier"

/* The tensors of a PyTorch module: "<module>.weight", ... (DESIGN.md "Checkpoints"). */
enum pt_tensor { PT_WEIGHT, PT_BIAS, PT_RUNNING_MEAN, PT_RUNNING_VAR, PT_BATCHES_TRACKED };

struct graph {
	int ntensors, nops;
	struct g_tensor *tensors;
	struct g_op *ops;
	int input, output; /* the network input and the logits */
	bool inplace;
};

/* Builds the op graph. With inplace, the depthwise, SE scale and residual add reuse a dying input
 * (and in-place depthwise gets its scratch); without, every op writes a fresh tensor. The arch_net
 * comes from arch_expand, so every size is already validated; allocation is bounded by
 * ARCH_MAX_TOTAL_LAYERS. Free with graph_free. */
void graph_build(const struct arch_net *net, bool inplace, struct graph *g);
void graph_free(struct graph *g);

/* The PyTorch name of tensor `which` of module (an op's conv or bn) into buf. Returns buf. */
char *graph_tensor_name(char *buf, size_t n, const char *module, enum pt_tensor which);

/* A readable one-line description of an op for messages and plans:
 * "layers.1.layers.0 expand 1x1 (80x80x16 -> 80x80x32)". Returns buf. */
char *graph_op_name(const struct graph *g, int op, char *buf, size_t n);

/* Layer-by-layer peak: max over ops of the bytes of every tensor alive during the op (its inputs,
 * its output and every tensor held for later), no reuse. Sets *peak_op. */
int64_t graph_live_peak(const struct graph *g, int *peak_op);

/* The taps of op's k x k kernel that meet an input pixel at some output pixel: live[ky * k + kx]
 * = 1, and 0 for a tap that only ever meets padding (a 5x5 depthwise on a 2x2 map uses its
 * centre 3x3). Pointwise ops (k = 1) have their one tap live. Returns the number of live taps;
 * live holds op->kernel^2 entries. */
int graph_live_taps(const struct graph *g, const struct g_op *op, unsigned char *live);
/* The live taps of a depthwise op, malloc'd [kernel^2]; NULL for any other op (its channel's
 * weights are input channels, not taps: all of them count). */
unsigned char *graph_dw_live_mask(const struct graph *g, const struct g_op *op);
#endif
