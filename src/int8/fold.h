/* fold.h — a float checkpoint with its batch norms folded into the convolutions, and a float
 * inference of that folded network (the calibration path of quantize).
 *
 * Reads PyTorch-named tensors (DESIGN.md "Checkpoints"): for every conv followed by BN,
 *   s = gamma / sqrt(running_var + 1e-5),  w' = w * s (per output channel),  b' = beta - mean * s.
 * The tensors are those the op list names (graph.h: each op's conv and bn).
 * Layouts after folding (all row-major):
 *   pointwise / SE / linear:  w [cout][cin]
 *   depthwise:                w [c][k][k]
 * Activations are NHWC. */
#ifndef LMNAS_FOLD_H
#define LMNAS_FOLD_H
#include <stddef.h>
#include "core/arch.h"
#include "cost/graph.h"

struct fconv {
	int cout, cin, k; /* k = 1 for pointwise/linear; cin = 1 for depthwise */
	float *w;         /* [cout][cin][k][k] */
	float *b;         /* [cout] */
};

struct fnet {
	struct arch arch;
	struct arch_net net;  /* shapes at the chosen resolution */
	struct graph g;       /* the op list (graph.h, not in place) */
	struct fconv *conv;   /* [g.nops]: the folded weights of each op that has a conv */
};

/* The values a float inference can report to an observer, per layer. */
enum fslot {
	FS_EXP_PRE,    /* expand conv output before its activation */
	FS_EXP,        /* after the activation */
	FS_DW_PRE,     /* depthwise output before its activation */
	FS_DW,         /* after the activation */
	FS_SE_FC1,     /* SE first 1x1, after ReLU */
	FS_SE_FC2_PRE, /* SE second 1x1, before the sigmoid */
	FS_SE_OUT,     /* x * sigmoid(...) */
	FS_PROJECT,    /* projection conv output (branch result) of a residual layer */
	FS_RES,        /* residual projection output */
	FS_OUT,        /* layer output (the projection, or the add when residual) */
	FS_NSLOTS
};
/* layer -1 = the network input (slot FS_OUT); layer nlayers = the logits (slot FS_OUT). */
typedef void (*fold_observer)(void *ctx, int layer, enum fslot slot, const float *x, size_t n);

/* Where fold_forward reports a graph op's values: the layer, the slot of its output and the slot
 * of its value before the activation (-1: not reported). */
struct fold_obs {
	int layer;
	int out, pre;
};
struct fold_obs fold_op_obs(const struct arch_net *net, const struct g_op *op);

/* Loads a float checkpoint and folds it. arch: the architecture, or NULL to read it from the
 * metadata key "arch". res_h/res_w: input resolution for the shapes (0: the metadata key
 * "resolution" "HxW" or "H", else 160x160). Classes come from the
 * classifier. Returns 0, or -1 with a reason in err. */
int fold_load(const char *path, const struct arch *arch, int res_h, int res_w, struct fnet *fn,
	      char *err, size_t errlen);
void fold_free(struct fnet *fn);

/* Float inference of one image. x: [in_h][in_w][in_ch] normalised input; logits: [classes].
 * obs may be NULL. */
void fold_forward(const struct fnet *fn, const float *x, float *logits, fold_observer obs,
		  void *ctx);
#endif
