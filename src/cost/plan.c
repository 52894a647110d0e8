/* plan.c — greedy largest-first static memory planner with an overlap self-check (see plan.h). */
#include "cost/plan.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

struct buffer {
	int64_t bytes;
	int first, last;
	int64_t offset;
	int placed;
};

static int64_t align_up(int64_t v, int align)
{
	return (v + align - 1) / align * align;
}

/* Valid in-place share: the alias exists, is another tensor, dies exactly where t is born, lives
 * longer than that one op, and no other tensor already took it over. (A chain a -> b -> c through
 * a b that lives for one op only would put a, b and c in one buffer at that op.) */
static int valid_alias(const struct plan_tensor *t, int n, int i, const int *taken)
{
	int a = t[i].alias;
	return a >= 0 && a < n && a != i && t[a].last == t[i].first && t[a].first < t[a].last &&
	       !taken[a];
}

/* Groups tensors into buffers along valid alias links. Returns the number of buffers. */
static int make_buffers(struct plan_tensor *t, int n, struct buffer *b)
{
	int *taken = xcalloc(n, sizeof *taken);
	int nb = 0;
	/* Tensors are numbered in creation order in practice, but do not rely on it: resolve the
	 * alias chain by following links until a tensor without a (valid) alias. */
	for (int i = 0; i < n; i++)
		t[i].buffer = -1;
	for (int i = 0; i < n; i++) {
		t[i].shares = -1;
		if (valid_alias(t, n, i, taken)) {
			t[i].shares = t[i].alias;
			taken[t[i].alias] = 1;
		}
	}
	for (int i = 0; i < n; i++) {
		/* Walk to the root of i's chain (bounded by n steps: a cycle would need a tensor born
		 * where its own descendant dies, which lifetimes forbid unless first == last; guard
		 * anyway). */
		int r = i, steps = 0;
		while (t[r].shares >= 0 && t[r].buffer < 0 && steps++ < n)
			r = t[r].shares;
		int buf = t[r].buffer;
		if (buf < 0) {
			buf = nb++;
			b[buf].bytes = 0;
			b[buf].first = t[r].first;
			b[buf].last = t[r].last;
			b[buf].placed = 0;
			t[r].buffer = buf;
		}
		/* Assign the whole path from i to r. */
		for (int k = i; t[k].buffer < 0; k = t[k].shares)
			t[k].buffer = buf;
	}
	for (int i = 0; i < n; i++) {
		struct buffer *B = &b[t[i].buffer];
		if (t[i].bytes > B->bytes)
			B->bytes = t[i].bytes;
		if (t[i].first < B->first)
			B->first = t[i].first;
		if (t[i].last > B->last)
			B->last = t[i].last;
	}
	free(taken);
	return nb;
}

static const struct buffer *sort_base;
static int by_size_desc(const void *pa, const void *pb)
{
	const struct buffer *a = &sort_base[*(const int *)pa], *b = &sort_base[*(const int *)pb];
	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	if (a->first != b->first)
		return a->first < b->first ? -1 : 1;
	return *(const int *)pa - *(const int *)pb;
}

static int64_t *offsets_base;
static int by_offset(const void *pa, const void *pb)
{
	int64_t a = offsets_base[*(const int *)pa], b = offsets_base[*(const int *)pb];
	return a < b ? -1 : a > b;
}

/* Places buffer `idx` at the lowest aligned offset free during its lifetime. `order` holds the
 * already placed buffers; conflict is scratch space. */
static void place(struct buffer *b, int idx, const int *order, int nplaced, int *conflict,
		  int64_t *offs, int align)
{
	int nc = 0;
	for (int k = 0; k < nplaced; k++) {
		const struct buffer *o = &b[order[k]];
		if (o->bytes > 0 && o->first <= b[idx].last && b[idx].first <= o->last) {
			offs[order[k]] = o->offset;
			conflict[nc++] = order[k];
		}
	}
	offsets_base = offs;
	qsort(conflict, nc, sizeof *conflict, by_offset);
	int64_t candidate = 0;
	for (int k = 0; k < nc; k++) {
		const struct buffer *o = &b[conflict[k]];
		if (candidate + b[idx].bytes <= o->offset)
			break;
		int64_t end = align_up(o->offset + o->bytes, align);
		if (end > candidate)
			candidate = end;
	}
	b[idx].offset = candidate;
	b[idx].placed = 1;
}

int64_t plan_run(struct plan_tensor *t, int n, int align, char *err, size_t errlen)
{
	if (n < 0 || n > (1 << 20) || (align != 1 && align != 4 && align != 8 && align != 16)) {
		snprintf(err, errlen, "plan_run: bad arguments (n %d, align %d)", n, align);
		return -1;
	}
	for (int i = 0; i < n; i++)
		if (t[i].bytes < 0 || t[i].first > t[i].last || t[i].first < 0) {
			snprintf(err, errlen, "plan_run: tensor %d has a bad size or lifetime", i);
			return -1;
		}
	struct buffer *b = xcalloc(n ? n : 1, sizeof *b);
	int nb = make_buffers(t, n, b);
	int *order = xcalloc(nb ? nb : 1, sizeof *order);
	int *conflict = xcalloc(nb ? nb : 1, sizeof *conflict);
	int64_t *offs = xcalloc(nb ? nb : 1, sizeof *offs);
	for (int i = 0; i < nb; i++)
		order[i] = i;
	sort_base = b;
	qsort(order, nb, sizeof *order, by_size_desc);
	int64_t arena = 0;
	for (int k = 0; k < nb; k++) {
		place(b, order[k], order, k, conflict, offs, align);
		const struct buffer *B = &b[order[k]];
		if (B->offset + B->bytes > arena)
			arena = B->offset + B->bytes;
	}
	for (int i = 0; i < n; i++)
		t[i].offset = b[t[i].buffer].offset;
	free(b);
	free(order);
	free(conflict);
	free(offs);
	arena = align_up(arena, align);
	if (plan_check(t, n, arena, err, errlen))
		return -1;
	return arena;
}

/* i overwrites j in place (or j overwrites i) at the single op where one dies and the other is
 * born. */
static int handoff(const struct plan_tensor *t, int i, int j)
{
	return (t[i].shares == j && t[j].last == t[i].first) ||
	       (t[j].shares == i && t[i].last == t[j].first);
}

int plan_check(const struct plan_tensor *t, int n, int64_t arena, char *err, size_t errlen)
{
	for (int i = 0; i < n; i++) {
		if (t[i].offset < 0 || t[i].offset + t[i].bytes > arena) {
			snprintf(err, errlen, "plan: tensor %d [%lld, +%lld) is outside the %lld-byte arena",
				 i, (long long)t[i].offset, (long long)t[i].bytes, (long long)arena);
			return -1;
		}
	}
	for (int i = 0; i < n; i++) {
		if (!t[i].bytes)
			continue;
		for (int j = i + 1; j < n; j++) {
			if (!t[j].bytes || t[i].first > t[j].last || t[j].first > t[i].last)
				continue;
			if (t[i].offset >= t[j].offset + t[j].bytes ||
			    t[j].offset >= t[i].offset + t[i].bytes)
				continue;
			if (handoff(t, i, j))
				continue;
			snprintf(err, errlen,
				 "plan: tensors %d [%lld, +%lld) ops %d..%d and %d [%lld, +%lld) ops "
				 "%d..%d overlap",
				 i, (long long)t[i].offset, (long long)t[i].bytes, t[i].first, t[i].last,
				 j, (long long)t[j].offset, (long long)t[j].bytes, t[j].first, t[j].last);
			return -1;
		}
	}
	return 0;
}

int plan_usage(const struct plan_tensor *t, int n, int nops, int64_t *used)
{
	for (int op = 0; op < nops; op++)
		used[op] = 0;
	for (int i = 0; i < n; i++)
		for (int op = t[i].first; op <= t[i].last && op < nops; op++)
			if (t[i].offset + t[i].bytes > used[op])
				used[op] = t[i].offset + t[i].bytes;
	/* The op at the arena top; among ties, the one with the most live bytes (the real demand). */
	int64_t *live = xcalloc(nops ? nops : 1, sizeof *live);
	for (int i = 0; i < n; i++)
		for (int op = t[i].first; op <= t[i].last && op < nops; op++)
			live[op] += t[i].bytes;
	int best = 0;
	for (int op = 1; op < nops; op++)
		if (used[op] > used[best] || (used[op] == used[best] && live[op] > live[best]))
			best = op;
	free(live);
	return best;
}

void plan_print(FILE *f, const struct plan_tensor *t, int n, int nops, int64_t arena,
		char *(*op_name)(int op, char *buf, size_t n, const void *ctx),
		char *(*tensor_name)(int tensor, char *buf, size_t n, const void *ctx),
		const void *ctx)
{
	int64_t *used = xcalloc(nops ? nops : 1, sizeof *used);
	int peak = nops ? plan_usage(t, n, nops, used) : 0;
	char name[256], tname[128];
	for (int op = 0; op < nops; op++) {
		fprintf(f, "op %d: %s\n", op, op_name(op, name, sizeof name, ctx));
		int64_t live = 0;
		for (int i = 0; i < n; i++) {
			if (t[i].first > op || t[i].last < op)
				continue;
			const char *state = t[i].first == op ? "new " : t[i].last == op ? "last" : "    ";
			char shares[32] = "";
			if (t[i].shares >= 0 && t[i].first == op)
				snprintf(shares, sizeof shares, " in place of t%d", t[i].shares);
			fprintf(f, "    %s t%-4d %-28s @ %8lld  %8lld bytes%s\n", state, i,
				tensor_name(i, tname, sizeof tname, ctx), (long long)t[i].offset,
				(long long)t[i].bytes, shares);
			live += t[i].bytes;
		}
		fprintf(f, "    in use %lld bytes (arena top), live tensors %lld bytes%s\n",
			(long long)used[op], (long long)live, op == peak ? "  <- peak" : "");
	}
	fprintf(f, "arena %lld bytes\n", (long long)arena);
	free(used);
}
