/* quant.h — post-training int8 quantisation (DESIGN.md "int8") and the int8 model.
 *
 * The int8 model is a list of ops over int8 tensors, one per op of the arch's op list (graph.h,
 * quant_graph_build) and named as it names them, placed in one arena by the shared planner with
 * in-place depthwise, SE scaling and residual adds, and filled with integer parameters either by quantising a folded
 * float network against calibration ranges (quant_from_float) or by loading an int8 file
 * (quant_load). int8_ref.c runs it on the host with the kernels of int8_ref.h; emit.c writes it
 * out as C calling the same kernels with the same arena offsets.
 *
 * Scheme: weights int8 symmetric per output channel (scale max|w|/127); activations int8
 * asymmetric per tensor from calibration min/max (range widened to include 0); bias int32 at
 * scale s_in * s_w; requantisation multiplier s_in * s_w / s_out as a Q31 multiplier and shift
 * (TFLite QuantizeMultiplier); relu6 and ReLU as clamping; sigmoid (SE gate, output scale 1/256,
 * zero point -128), swish and LeakyReLU as 256-entry tables applied to the requantised
 * pre-activation; global average pool keeps its input's scale; SE scale and residual add
 * requantise to their calibrated output scale. */
#ifndef LMNAS_QUANT_H
#define LMNAS_QUANT_H
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include "core/arch.h"
#include "int8/fold.h"
#include "cost/stream.h"

/* The largest int32 bias: the accumulator (below 2^28 for the arch limits) plus it stays an
 * int32. A channel whose bias would exceed it at scale s_in * s_w gets a larger s_w. */
#define QUANT_BIAS_MAX ((double)(1 << 30))

enum qop_kind { QOP_PW, QOP_DW, QOP_GAP, QOP_SCALE, QOP_ADD };
enum qact { QACT_NONE, QACT_RELU, QACT_RELU6, QACT_LUT_SIGMOID, QACT_LUT_SWISH, QACT_LUT_LEAKY };

struct qtensor {
	char name[128];
	size_t size;          /* bytes (int8 elements) */
	float scale;
	int32_t zp;
	int first, last;      /* ops that produce it / use it last (input: first -1; logits: last nops) */
	int alias;            /* tensor whose buffer this one reuses (in place), or -1 */
	int cal_layer, cal_slot; /* calibration source (fold.h slots), cal_slot -1 = none */
	size_t offset;        /* in the arena, from the planner */
	int rows, ring;       /* height, and rows held in the arena (ring < rows: a ring buffer of
				 a row-streamed op, lmq_row) */
};

struct qop {
	enum qop_kind kind;
	char name[128];        /* PyTorch-like prefix, e.g. layers.1.layers.0.expand */
	int in, in2, out;     /* tensor ids (in2: SE gate / add's second operand, else -1) */
	int scratch;          /* depthwise scratch tensor id, else -1 */
	int scratch_t;        /* depthwise: its scratch tensor, used or not (else -1) */
	int np;               /* output positions (pw, scale, add: elements / channels) */
	int h, wd, oh, ow;    /* spatial sizes (dw, gap) */
	int cin, cout, k, stride, pad;
	enum qact act;
	int cal_layer, cal_pre_slot; /* calibration of the pre-activation (LUT ops) */
	float pre_scale;      /* requantisation target before a LUT */
	int32_t pre_zp;
	const struct fconv *src; /* float weights (quantising only) */
	/* parameters (owned): conv */
	int8_t *w;            /* [cout][cin*k*k] */
	int32_t *bias, *mult; /* [cout] */
	int8_t *shift;        /* [cout] */
	float *wscale;        /* [cout] */
	int8_t *lut;          /* [256] or NULL */
	/* ternary conv (w3 not NULL; int8_ref.h "sparse ternary weights"): w holds the codes
	 * -1/0/1 too, bias and mult the exact int32 values of bias16 * 2^bshift and mult16 * 2^16 */
	uint8_t *w3;          /* [ceil(cout*cin*k*k/5)] weights packed base 3, or NULL */
	int16_t *bias16, *mult16; /* [cout] */
	int bshift;
	int32_t lo, hi;
	/* scale (1 entry) and add (3 entries: a, b, out) */
	int32_t emult[3];
	int8_t eshift[3];
};

struct qmodel {
	struct arch arch;
	struct arch_net net;
	int ntensors, nops;
	struct qtensor *t;
	struct qop *ops;
	int input, logits;    /* tensor ids */
	size_t arena_bytes;
	char peak_op[128];     /* op where the arena peak is reached */
	int patch_layers;      /* the first layers run row-streamed (stream.h), 0: none */
	struct stream_exec exec; /* how (cost_pick_exec) */
	struct streams st;     /* their streams and schedule (st.stream_of NULL before a plan) */
};

/* Builds the op graph and plan for an expanded arch (no parameters yet). */
void quant_graph_build(const struct arch *a, const struct arch_net *net, struct qmodel *m);
void quant_free(struct qmodel *m);
/* Plans m again with its first patch_layers layers row-streamed (0: layer by layer; STREAM_AUTO:
 * cost_pick_exec's choice): offsets, rings, arena and schedule,
 * the very plan check-cost reports for the same choice. Parameters are kept. */
void quant_replan(struct qmodel *m, int patch_layers);
/* The same with the choice made: streamed as x says (a copy is kept in m->exec). */
void quant_replan_exec(struct qmodel *m, const struct stream_exec *x);

/* Calibration ranges: min/max per (layer + 1, slot); layer -1 = input, nlayers = logits.
 * Optional second pass (quant_calib_hist_begin, then observe again): a histogram of every
 * tensor over its min/max, from which quant_calib_mse narrows each activation range (not the
 * input's nor the logits') to the one minimising the expected squared quantisation error
 * (rounding noise step^2/12 inside the range, clipping error outside). */
#define QCALIB_BINS 512
struct qcalib {
	int nlayers;
	float (*mn)[FS_NSLOTS], (*mx)[FS_NSLOTS];
	double (*hist)[FS_NSLOTS][QCALIB_BINS]; /* NULL in the min/max pass */
};
void quant_calib_init(struct qcalib *c, int nlayers);
void quant_calib_free(struct qcalib *c);
/* fold_observer (ctx = struct qcalib *): widens the ranges, or fills the histograms. */
void quant_calib_observe(void *ctx, int layer, enum fslot slot, const float *x, size_t n);
void quant_calib_hist_begin(struct qcalib *c);
void quant_calib_mse(struct qcalib *c);

/* Replaces calibrated ranges with those QAT trained on: json is a checkpoint's
 * qat_activation_ranges (qat_act.h), {"TENSOR": [min, max], ...} named as m's tensors. Returns
 * the number replaced, or -1 with err (not an object, a name that is not a calibrated tensor of
 * m, a value that is not [min, max]). */
int quant_calib_use_qat(struct qcalib *c, const struct qmodel *m, const char *json, char *err,
			size_t errlen);

/* Quantises a folded float network (m built for fn->net: m's op i is fn->g's op i) with
 * calibration ranges.
 * ternary_sparsity < 0: int8 weights everywhere. Otherwise the convs cost_op_ternary names
 * (all but the first, the classifier and those in int8_ops, a comma-separated list or NULL)
 * get sparse ternary weights: per output channel the fraction ternary_sparsity of smallest
 * |w| become 0 (qat_ternary_channel), the rest +-alpha with alpha = mean |w| of the kept ones,
 * folded into the multiplier; packed base 3 (1.6 bits a weight) with 16-bit biases and
 * multipliers (quant_ternary_params). The names in int8_ops must be checked first
 * (cost_int8_ops_check).
 * Returns 0, or -1 with err naming the op and channel when a weight is not finite, a bias does
 * not fit QUANT_BIAS_MAX at its scale, or a requantisation multiplier is 2^30 or more (scales so small
 * that the int32 kernels would saturate): such a model is refused rather than emitted wrong. */
int quant_from_float(const struct fnet *fn, const struct qcalib *cal, double ternary_sparsity,
		     const char *int8_ops, struct qmodel *m, char *err, size_t errlen);
/* Fraction of zero weights over the ternary ops (0 when none). */
double quant_ternary_zero_fraction(const struct qmodel *m);
/* The zero point conv o's requantisation rounds to: its lookup table's input when it ends in a
 * table activation, else its output tensor's. */
int32_t quant_requant_zp(const struct qmodel *m, const struct qop *o);

/* The narrow per-channel parameters of ternary conv o (int8_ref.h, struct lmq_rq3) from its
 * int32 bias, mult and shift: bshift is the smallest in 0..15 at which every bias / 2^bshift
 * rounded fits int16, each multiplier is rounded to 15 bits (mult16 = 2^15 becomes 2^14 with the
 * shift one higher); o->bias and o->mult are set to the values the device uses (bias16 *
 * 2^bshift, mult16 * 2^16). Returns 0, or -1 with err when a shift leaves -31..30.
 * With exact = 1 (a loaded file) the values must already be those: -1 with err otherwise. */
int quant_ternary_params(struct qop *o, int exact, char *err, size_t errlen);

/* TFLite QuantizeMultiplier: real = mult * 2^shift / 2^31. */
void quant_multiplier(double real, int32_t *mult, int *shift);

/* Input quantisation: x [n] float normalised -> q [n]. */
void quant_input(const struct qmodel *m, const float *x, size_t n, int8_t *q);

/* Saves / loads the int8 model file (safetensors; metadata "format" = "lmnas-int8", "arch",
 * "resolution" HxW, "classes", then extra_meta: NULL or a NULL-terminated key, value list, e.g.
 * "source", "normalisation", "class_names"). Return 0, or -1 with a reason in err. */
int quant_save(const struct qmodel *m, const char *path, const char *const *extra_meta, char *err,
	       size_t errlen);
int quant_load(const char *path, struct qmodel *m, char *err, size_t errlen);
/* 1 when the file is an lmnas int8 model, 0 when not, -1 when it cannot be read. */
int quant_is_int8_file(const char *path);

/* Host reference inference with the shared kernels. arena: [m->arena_bytes] (NULL: allocated
 * and freed inside). q_in: [input size] int8; logits_q: [classes] int8 (may be NULL);
 * logits: [classes] dequantised (may be NULL). */
void int8_ref_run(const struct qmodel *m, const int8_t *q_in, int8_t *arena, int8_t *logits_q,
		  float *logits);

/* Runs op i when it is row-streamed (the whole stream at its first op; patch.c) and returns 1;
 * returns 0 for an op that runs whole. */
int int8_stream_op(const struct qmodel *m, int i, int8_t *arena);
/* The requantisation of a conv op, for the kernels (int8_ref.c). */
struct lmq_rq;
void int8_ref_rq(const struct qmodel *m, const struct qop *o, struct lmq_rq *rq);
/* ... and of a ternary conv op. */
struct lmq_rq3;
void int8_ref_rq3(const struct qmodel *m, const struct qop *o, struct lmq_rq3 *rq);

/* Human-readable plan, one op per line (for --plan and messages). */
void quant_print_plan(const struct qmodel *m, FILE *f);


/* Flash bytes of the deployed model by the check-cost formula (cost.h "flash_bytes"), ternary
 * convs included: parameters, structs and code. */
size_t quant_flash_bytes(const struct qmodel *m);
#endif
