/* net.h — a trainable network built from an arch (DESIGN.md "Architecture semantics").
 *
 * Usage (one training step; nothing is allocated after net_new):
 *
 *     struct net *n = net_new(&arch, 32, 32, 100, 128, 0.0f, err, sizeof err);
 *     net_init_weights(n, seed);                       // or checkpoint_load()
 *     struct sgd *opt = sgd_new(n->nparams, 0.9f, 5e-4f, 1);
 *     net_forward(n, images, B, 1);                    // images: [B][H][W][C] float, NHWC
 *     double loss = net_loss(n, labels, B);            // softmax CE, fills net_dlogits()
 *     net_backward(n, B);                              // fills n->grads
 *     sgd_step(opt, n->params, n->grads, n->nparams, lr);
 *
 * For another loss (distillation), fill net_dlogits(n) ([B][classes], d loss / d logits) yourself
 * after net_forward, then call net_backward. Inference: net_forward(n, images, B, 0) returns the
 * logits [B][classes] using the BN running statistics and no dropout.
 *
 * Memory: one flat parameter buffer (params), one flat gradient buffer (grads, same layout), one
 * flat buffer of BN running statistics (bufs), and every activation preallocated for max_batch
 * images, NHWC, with the activations' gradients in a few buffers they share (net_tensor.grad).
 * Layouts inside params are PyTorch's except depthwise weights, kept as [k][k][C] (checkpoint.c
 * converts from/to [C][1][k][k]).
 *
 * Threads: OpenMP only (net_set_threads); OpenBLAS runs single-threaded inside the OpenMP threads. */
#ifndef LMNAS_NET_H
#define LMNAS_NET_H
#include <stddef.h>
#include <stdint.h>
#include "core/arch.h"
#include "cost/graph.h"
#include "engine/nn_conv.h"
#include "engine/nn_se.h"

/* The training ops: graph.h's op list with BN apart from its conv, the SE ops as one, and the
 * head's dropout. */
enum net_op_kind {
	NOP_CONV1X1, NOP_DW, NOP_BN, NOP_SE, NOP_ADD, NOP_GAP, NOP_DROPOUT, NOP_LINEAR
};

/* An activation: per image h*w*c floats, NHWC. */
struct net_tensor {
	int h, w, c;
	size_t per_image;
	char name[48];     /* the int8 model's tensor it becomes (graph.h op name; "input"), or ""
			      for one the int8 model does not have (a conv before its BN, dropout) */
	float *val, *grad; /* [max_batch][h][w][c]; the network input: the caller's, grad NULL.
			      grad lies in a buffer that tensors whose gradients are never needed
			      at the same time share (plan_grads in net.c): valid from the op that
			      last reads the tensor to the op that writes it, in net_backward */
	int grad_buf;      /* which of net.grad_bufs grad is in; -1: none */
};

/* Which value of a tensor a tap sees: the tensor itself; the value before the activation of
 * the BN writing it when split (net_split_act); or, for an SE op's output, one inside the SE
 * (nn_se.h, NP_SE_POOL + enum se_part). */
enum net_part { NP_OUT, NP_PRE, NP_SE_POOL, NP_SE_FC1, NP_SE_FC2_PRE, NP_SE_GATE, NP_NPARTS };

/* A tap on the activations (qat_act.h fake-quantises them through it): forward is called on
 * the network input (a copy the tap may rewrite) and on every named tensor (net_tensor.name)
 * right after the op that writes it, before any op reads it; backward on a named tensor's
 * gradient once it is complete, before the op that wrote the tensor runs backward. n: elements
 * (batch * per_image). NP_PRE: forward between BN and the activation, backward on its gradient
 * between the activation's backward and BN's. The SE parts: as nn_se.h's se_tap says. */
struct net_tap {
	void (*forward)(void *ctx, int tensor, enum net_part part, float *val, size_t n, int train);
	void (*backward)(void *ctx, int tensor, enum net_part part, float *grad, size_t n);
	void *ctx;
};

/* What an SE op's se_tap calls the net's tap with. */
struct net_se_ctx {
	struct net *n;
	int tensor;   /* the SE op's output */
};

/* One operation: out = f(in[, in2]) with parameters at offsets into params/grads. */
struct net_op {
	enum net_op_kind kind;
	int in, in2, out;          /* tensor indices (in2: second operand of NOP_ADD) */
	int accum, accum2;         /* backward adds into in's (in2's) gradient instead of writing */
	size_t w, b, w2, b2;       /* parameter offsets: weight/gamma, bias/beta, SE second conv */
	size_t rmean, rvar;        /* BN running statistics: offsets into bufs */
	int bn;                    /* BN index (num_batches_tracked) */
	int cin, cout, se_ch;
	struct dw_shape dws;       /* NOP_DW (N set per call; max_batch at build) */
	struct dw_work dwwork;     /* NOP_DW scratch for the fast kernels */
	int bn_act;                /* NOP_BN: the activation fused after it (enum act) or BN_NO_ACT */
	float *mean, *invstd;      /* NOP_BN saved statistics [C] */
	float *pre, *dpre;         /* NOP_BN split from its activation (net_split_act): the value
				      before it and its gradient [max_batch][H][W][C], else NULL */
	struct se_saved se;        /* NOP_SE saved values */
	struct net_se_ctx se_ctx;  /* NOP_SE: its se.tap's context */
	char se_names[2][48];      /* NOP_SE: the graph's names of its two 1x1 convs (fc1, fc2) */
	float *mask;               /* NOP_DROPOUT [max_batch][C] */
};

/* A named tensor of the checkpoint (PyTorch's state_dict name and shape). */
struct net_entry {
	char name[80];      /* graph_tensor_name(module, part) */
	char module[48];    /* the PyTorch module it belongs to (graph.h: an op's conv or bn) */
	enum pt_tensor part;
	int is_buffer;      /* 0: params/grads, 1: bufs (running_mean/var) */
	size_t off, numel;
	int ndim;
	int64_t shape[4];
	int dw_layout;      /* stored as [k][k][C]; PyTorch's is [C][1][k][k] */
	int bn;             /* for running_var entries: the BN index, else -1 */
};

struct net {
	struct arch arch;
	struct arch_net an;
	int max_batch;
	float dropout;
	uint64_t rng;

	float *params, *grads;
	size_t nparams;
	float *bufs;
	size_t nbufs;
	int64_t *batches_tracked; /* per BN */
	int nbn;

	struct net_entry *entries;
	int nentries;
	struct net_tensor *t;
	int nt;
	struct net_op *ops;
	int nops;
	int logits; /* tensor index of the logits */
	struct pw_work pwwork; /* conv1x1 scratch (weight gradient, transposed weights), shared */
	struct net_tap tap;    /* forward NULL: none */
	float *xin;            /* [max_batch][H][W][C] the input copy the tap rewrites */
	float **grad_bufs;     /* the buffers the tensors' gradients share (net_tensor.grad_buf) */
	size_t *grad_buf_floats;
	int ngrad_bufs;
};

/* Builds the network of the arch's op list (graph.h) for in_h x in_w inputs, classes outputs, up
 * to max_batch images, dropout p before the classifier. Returns NULL with a reason in err.
 * Parameters are zero: call net_init_weights or load a checkpoint. */
struct net *net_new(const struct arch *a, int in_h, int in_w, int classes, int max_batch,
		    float dropout, char *err, size_t errlen);
void net_free(struct net *n);

/* The reference's init: convs kaiming-normal (fan_out, relu), BN γ=1 β=0, running mean 0 var 1,
 * Linear N(0, 0.01) bias 0, conv biases 0. */
void net_init_weights(struct net *n, uint64_t seed);

/* Forward over batch images [batch][H][W][C] (NHWC, as dataset_batch fills them; not copied: they
 * are the input tensor, read again by net_backward, so keep them unchanged until then). train = 1:
 * batch statistics (running statistics updated), dropout on; train = 0: inference. Returns the
 * logits [batch][classes], valid until the next call. */
const float *net_forward(struct net *n, const float *images, int batch, int train);

/* Mean softmax cross-entropy of the last forward's logits; writes d loss/d logits. Returns NAN
 * for a label outside [0, classes). */
double net_loss(struct net *n, const int *labels, int batch);
/* The gradient of the loss w.r.t. the logits, [batch][classes], read by net_backward. */
float *net_dlogits(struct net *n);
/* Backward through the last (training) forward; writes every parameter gradient to grads.
 * Running it again after the same forward gives the same gradients (the forward's state is
 * kept apart from the backward's scratch). */
void net_backward(struct net *n, int batch);

/* Installs tap (copied; NULL removes it). */
void net_set_tap(struct net *n, const struct net_tap *tap);
/* Runs BN op i (a NOP_BN with an activation) and its activation as two passes, keeping the value
 * between them for the tap (pre = 1). The same results as fused, slower. */
void net_split_act(struct net *n, int i);

/* The entry called name, or NULL. */
const struct net_entry *net_find(const struct net *n, const char *name);
/* Activation bytes held for max_batch (values, and the buffers their gradients share). */
size_t net_activation_bytes(const struct net *n);
/* Sets the OpenMP thread count (0: all cores) and keeps OpenBLAS single-threaded (the GEMMs
 * are split across the OpenMP threads: one thread pool). Call before the first net_forward.
 * OpenMP threads that spin while they wait steal a busy 2-core machine's time from the working
 * ones (a training step measured 5 to 10x slower), but libgomp reads OMP_WAIT_POLICY once, as it
 * is loaded, before main: a program cannot set it for itself. So the caller's environment sets
 * it (the Makefile, the pipelines and the tests export OMP_WAIT_POLICY=passive). Sleeping has
 * its own cost: each of a step's hundreds of parallel regions wakes the threads through the
 * kernel, and on a machine the program has to itself a short spin before sleeping
 * (GOMP_SPINCOUNT=10000, OMP_WAIT_POLICY unset) trained small networks 1.3 to 2.4x faster on two
 * threads (make demo's trainings and make bench run so). With more than one thread and neither
 * variable set, this says so on stderr. */
void net_set_threads(int threads);
#endif
