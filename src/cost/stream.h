/* stream.h — row-streamed ("patched") execution of the early layers (issue 15).
 *
 * Layer by layer, an mbconv layer at high resolution holds its whole expanded tensor (e.g.
 * 80x80x48) at once. Row-streamed, the ops of the first N layers run one output row at a time,
 * pulled on demand: a depthwise row pulls the k input rows it needs, each of which pulls the row
 * of the expand conv before it, and so on back to a full tensor. A tensor whose producer and
 * every reader are in the same stream then lives in a ring buffer of a few rows instead of a full
 * tensor; only the stream's inputs and the tensors read after it are full. Each row of each op is
 * computed exactly once and in the same arithmetic, so the outputs are bit-identical to layer by
 * layer and no MAC is repeated (the halo rows stay in the ring instead of being recomputed, as a
 * patch-based executor would).
 *
 * A stream is a maximal run of consecutive streamable ops (pointwise, depthwise, residual add) of
 * the first N layers; SE (a global pool of the whole tensor) ends a run, as does the head.
 *
 * The schedule is a list of steps, one op-row each, in the order the pull makes them; ring sizes
 * come from replaying that very order (the oldest row a pending reader still needs against the
 * row being written), so the plan (check-cost), the host reference (int8_ref.c) and the emitted C
 * (emit.c) all follow the one list built here. */
#ifndef LMNAS_STREAM_H
#define LMNAS_STREAM_H
#include <stdint.h>
#include "cost/graph.h"

/* A run may hold at most this many ops: the emitted step table numbers them in one byte. */
#define STREAM_MAX_OPS 255
/* patch_layers value meaning "the N with the smallest arena" (cost_compute_exec). */
#define STREAM_AUTO (-1)

/* What is streamed: the first `layers` layers, with a stream ending after layer l when split[l]. */
struct stream_exec {
	int layers;
	unsigned char split[ARCH_MAX_TOTAL_LAYERS];
};

struct streams {
	int nstreams;
	int *first, *last;      /* [nstreams] op range, inclusive */
	int *step_begin;        /* [nstreams + 1] into steps */
	int *steps;             /* [nsteps] the op (graph index) of each step; its row is the
				   op's next row */
	int nsteps;
	int *stream_of;         /* [nops] stream of each op, or -1 */
	int *ring;              /* [ntensors] rows held: the tensor's height when full */
	int64_t step_macs;      /* MACs the steps compute (= the streamed ops' MACs: none
				   repeated) */
	int64_t streamed_macs;  /* MACs of the streamed ops, layer by layer */
};

/* Streams what x says of g (x->layers 0: nothing) and rewrites g's tensors for the planner:
 * a ring tensor's bytes become ring x w x c, every tensor a stream touches lives across the whole
 * stream, tensors written in a stream reuse nothing in place, and a streamed depthwise needs no
 * scratch (op->scratch = -1, its scratch tensor 0 bytes). */
void stream_build(struct graph *g, const struct stream_exec *x, struct streams *s);
void stream_free(struct streams *s);

/* The rows [*lo, *hi] of its input(s) that output row r of op reads. */
void stream_rows_needed(const struct graph *g, int op, int r, int *lo, int *hi);
#endif
