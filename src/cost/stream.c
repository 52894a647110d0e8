/* stream.c — row-streamed execution of the first layers: runs, schedule, rings (see stream.h). */
#include "cost/stream.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* The state of the pull while the schedule is made. */
struct sched {
	struct graph *g;
	struct streams *s;
	int *produced;  /* [nops] rows made so far */
	int *producer;  /* [ntensors] op writing it, -1 for the network input */
	int cap;        /* steps allocated */
};

static int streamable(const struct g_op *op, int patch_layers)
{
	return op->layer >= 0 && op->layer < patch_layers &&
	       (op->kind == OP_PW || op->kind == OP_DW || op->kind == OP_ADD);
}

void stream_rows_needed(const struct graph *g, int op, int r, int *lo, int *hi)
{
	const struct g_op *o = &g->ops[op];
	if (o->kind != OP_DW) {
		*lo = *hi = r;
		return;
	}
	int h = g->tensors[o->in[0]].h, top = r * o->stride - o->pad;
	*lo = top < 0 ? 0 : top;
	*hi = top + o->kernel - 1 < h - 1 ? top + o->kernel - 1 : h - 1;
}

/* Whether op reads tensor t. */
static int reads(const struct g_op *op, int t)
{
	return op->in[0] == t || (op->nin > 1 && op->in[1] == t);
}

/* The oldest row of t that a reader in stream sid still needs: the first row its next output
 * row reads. INT32_MAX when no reader in the stream is pending. */
static int oldest_needed(const struct sched *c, int sid, int t)
{
	const struct streams *s = c->s;
	int oldest = INT32_MAX;
	for (int op = s->first[sid]; op <= s->last[sid]; op++) {
		const struct g_op *o = &c->g->ops[op];
		if (!reads(o, t) || c->produced[op] >= c->g->tensors[o->out].h)
			continue;
		int lo, hi;
		stream_rows_needed(c->g, op, c->produced[op], &lo, &hi);
		if (lo < oldest)
			oldest = lo;
	}
	return oldest;
}

/* Makes rows of op up to row `upto`, pulling what they read first. */
static void pull(struct sched *c, int sid, int op, int upto)
{
	struct streams *s = c->s;
	const struct g_op *o = &c->g->ops[op];
	while (c->produced[op] <= upto) {
		int r = c->produced[op], lo, hi;
		stream_rows_needed(c->g, op, r, &lo, &hi);
		for (int i = 0; i < o->nin; i++) {
			int p = c->producer[o->in[i]];
			if (p >= 0 && s->stream_of[p] == sid)
				pull(c, sid, p, hi);
		}
		/* Writing row r overwrites row r - ring: the ring must reach the oldest row a
		 * pending reader still needs. */
		int oldest = oldest_needed(c, sid, o->out);
		int need = oldest == INT32_MAX || oldest > r ? 1 : r - oldest + 1;
		if (need > s->ring[o->out])
			s->ring[o->out] = need;
		if (s->nsteps == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 1024;
			s->steps = xrealloc(s->steps, sizeof *s->steps * c->cap);
		}
		s->steps[s->nsteps++] = op;
		s->step_macs += o->macs / c->g->tensors[o->out].h;
		c->produced[op]++;
	}
}

/* Whether t is read by an op outside stream sid (or is the network output). */
static int read_outside(const struct sched *c, int sid, int t)
{
	if (t == c->g->output)
		return 1;
	for (int op = 0; op < c->g->nops; op++)
		if (c->s->stream_of[op] != sid && reads(&c->g->ops[op], t))
			return 1;
	return 0;
}

/* The schedule of stream sid: the last op pulled row by row, the other ops whose output is read
 * after the stream (sinks) kept at the same pace. */
static void schedule(struct sched *c, int sid)
{
	struct streams *s = c->s;
	struct graph *g = c->g;
	int a = s->first[sid], b = s->last[sid], hb = g->tensors[g->ops[b].out].h;
	int *sink = xcalloc(b - a + 1, sizeof *sink);
	for (int op = a; op <= b; op++)
		sink[op - a] = op == b || read_outside(c, sid, g->ops[op].out);
	s->step_begin[sid] = s->nsteps;
	for (int r = 0; r < hb; r++)
		for (int op = a; op <= b; op++) {
			int h = g->tensors[g->ops[op].out].h;
			if (sink[op - a])
				pull(c, sid, op, (int)(((int64_t)(r + 1) * h + hb - 1) / hb) - 1);
		}
	for (int op = a; op <= b; op++) /* every row of every op (none is left unread) */
		pull(c, sid, op, g->tensors[g->ops[op].out].h - 1);
	s->step_begin[sid + 1] = s->nsteps;
	/* Sinks, and rings as tall as the tensor, are full tensors. */
	for (int op = a; op <= b; op++) {
		int t = g->ops[op].out;
		if (sink[op - a] || s->ring[t] >= g->tensors[t].h)
			s->ring[t] = g->tensors[t].h;
	}
	free(sink);
}

/* Whether ops a and a + 1 may be in one run: both streamable, and no split between their layers. */
static int joins(const struct graph *g, const struct stream_exec *x, int a)
{
	const struct g_op *o = &g->ops[a], *p = &g->ops[a + 1];
	return streamable(p, x->layers) && !(p->layer != o->layer && x->split[o->layer]);
}

/* The runs of streamable ops of the first x->layers layers, split where x says (at most
 * STREAM_MAX_OPS each); a run of one op is left to the layer-by-layer code. */
static void find_runs(const struct graph *g, const struct stream_exec *x, struct streams *s)
{
	for (int op = 0; op < g->nops;) {
		if (!streamable(&g->ops[op], x->layers)) {
			op++;
			continue;
		}
		int end = op;
		while (end + 1 < g->nops && end + 1 - op < STREAM_MAX_OPS && joins(g, x, end))
			end++;
		if (end > op) {
			s->first[s->nstreams] = op;
			s->last[s->nstreams] = end;
			for (int k = op; k <= end; k++)
				s->stream_of[k] = s->nstreams;
			s->nstreams++;
		}
		op = end + 1;
	}
}

/* The planner's view: rings are small, and a stream's tensors all live across it. */
static void apply(struct graph *g, const struct streams *s)
{
	for (int sid = 0; sid < s->nstreams; sid++) {
		int a = s->first[sid], b = s->last[sid];
		for (int op = a; op <= b; op++) {
			struct g_op *o = &g->ops[op];
			for (int i = 0; i < o->nin; i++)
				if (g->tensors[o->in[i]].last < b)
					g->tensors[o->in[i]].last = b;
			struct g_tensor *t = &g->tensors[o->out];
			t->first = a;
			if (t->last < b)
				t->last = b;
			t->alias = -1;
			t->bytes = (int64_t)s->ring[o->out] * t->w * t->c;
			if (o->scratch >= 0) {
				g->tensors[o->scratch].bytes = 0;
				o->scratch = -1;
			}
		}
	}
}

void stream_build(struct graph *g, const struct stream_exec *x, struct streams *s)
{
	memset(s, 0, sizeof *s);
	int n = g->nops > 0 ? g->nops : 1;
	s->first = xcalloc(n, sizeof *s->first);
	s->last = xcalloc(n, sizeof *s->last);
	s->step_begin = xcalloc(n + 1, sizeof *s->step_begin);
	s->stream_of = xmalloc(sizeof *s->stream_of * n);
	s->ring = xcalloc(g->ntensors, sizeof *s->ring);
	for (int i = 0; i < g->nops; i++)
		s->stream_of[i] = -1;
	for (int t = 0; t < g->ntensors; t++)
		s->ring[t] = g->tensors[t].h;
	find_runs(g, x, s);
	struct sched c = {g, s, xcalloc(n, sizeof(int)), xmalloc(sizeof(int) * g->ntensors), 0};
	for (int t = 0; t < g->ntensors; t++)
		c.producer[t] = -1;
	for (int op = 0; op < g->nops; op++) {
		c.producer[g->ops[op].out] = op;
		if (s->stream_of[op] >= 0) {
			s->ring[g->ops[op].out] = 0; /* found by the schedule */
			s->streamed_macs += g->ops[op].macs;
		}
	}
	for (int sid = 0; sid < s->nstreams; sid++)
		schedule(&c, sid);
	free(c.produced);
	free(c.producer);
	apply(g, s);
}

void stream_free(struct streams *s)
{
	free(s->first);
	free(s->last);
	free(s->step_begin);
	free(s->steps);
	free(s->stream_of);
	free(s->ring);
	memset(s, 0, sizeof *s);
}
