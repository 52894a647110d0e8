/* plan.h — the static memory planner: tensor lifetimes in, offsets and arena size out.
 *
 * Greedy, largest first, like TFLite Micro's greedy_memory_planner: buffers are sorted by size
 * (largest first, then by first use) and each is put at the lowest offset where it overlaps no
 * already placed buffer whose lifetime overlaps its own. A tensor may name an alias (a tensor it can
 * overwrite in place, e.g. in-place depthwise): when the alias dies exactly at the op that writes
 * this tensor, lives longer than that one op, and no other tensor took it over first, both share
 * one buffer (sized for the larger, living for both lifetimes). Otherwise the alias is ignored
 * (shares = -1) and the tensor gets its own place. The result
 * is verified by plan_check, an independent pairwise overlap test.
 *
 * Used by check-cost (cost.arena_bytes) and by emit-c (the static arena and every tensor's
 * offset), so both report the same arena. */
#ifndef LMNAS_PLAN_H
#define LMNAS_PLAN_H
#include <stdint.h>
#include <stdio.h>

struct plan_tensor {
	/* in */
	int64_t bytes;    /* 0 is allowed (takes no space) */
	int first, last;  /* lifetime in op indices, inclusive; first <= last */
	int alias;        /* index of a tensor this one may overwrite in place, or -1 */
	/* out */
	int64_t offset;   /* byte offset in the arena */
	int buffer;       /* the buffer (group of in-place tensors) it was placed in */
	int shares;       /* the alias actually used (-1 when the alias was not valid) */
};

/* Plans n tensors (n <= 1<<20). Returns the arena size in bytes, or -1 when the self-check failed
 * (a bug: the reason is in err). Alignment: offsets are multiples of align (1, 4, 8, 16). */
int64_t plan_run(struct plan_tensor *t, int n, int align, char *err, size_t errlen);

/* The self-check: no two tensors whose lifetimes overlap share a byte, except a tensor and the
 * alias it overwrites in place at the single op where one dies and the other is born.
 * Returns 0, or -1 with the first offending pair in err. */
int plan_check(const struct plan_tensor *t, int n, int64_t arena, char *err, size_t errlen);

/* The highest end (offset + bytes) of the tensors alive during each op: the arena actually in use
 * at op i. Writes nops values into used; returns the op with the highest. */
int plan_usage(const struct plan_tensor *t, int n, int nops, int64_t *used);

/* Prints, for a person, per op: the op's name, the live tensors with offset and size, and the
 * bytes in use. op_name(op, buf, n, ctx) and tensor_name(t, buf, n, ctx) describe them. */
void plan_print(FILE *f, const struct plan_tensor *t, int n, int nops, int64_t arena,
		char *(*op_name)(int op, char *buf, size_t n, const void *ctx),
		char *(*tensor_name)(int tensor, char *buf, size_t n, const void *ctx),
		const void *ctx);
#endif
