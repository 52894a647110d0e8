/* test_plan.c — the memory planner: hand cases, in-place sharing, alignment, the overlap
 * self-check, and random problems checked against an independent bound. */
#include "cost/plan.h"
#include "t.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

static void set(struct plan_tensor *t, int64_t bytes, int first, int last, int alias)
{
	memset(t, 0, sizeof *t);
	t->bytes = bytes;
	t->first = first;
	t->last = last;
	t->alias = alias;
}

static void test_hand(void)
{
	struct plan_tensor t[4];
	char err[256];
	/* A chain a -> b -> c: a and c never live together, so they share. */
	set(&t[0], 100, 0, 1, -1);
	set(&t[1], 50, 1, 2, -1);
	set(&t[2], 100, 2, 3, -1);
	T_CHECK(plan_run(t, 3, 1, err, sizeof err) == 150, "chain 100/50/100 needs 150 bytes");
	T_CHECK(t[0].offset == t[2].offset, "a and c share their offset");

	/* In place: b overwrites a at op 1 (a dies there). */
	set(&t[0], 100, 0, 1, -1);
	set(&t[1], 80, 1, 2, 0);
	T_CHECK(plan_run(t, 2, 1, err, sizeof err) == 100, "in-place pair needs max(100, 80)");
	T_CHECK(t[1].shares == 0 && t[1].offset == t[0].offset, "b shares a's buffer");

	/* Not in place when a outlives op 1 (held for later). */
	set(&t[0], 100, 0, 3, -1);
	set(&t[1], 80, 1, 2, 0);
	T_CHECK(plan_run(t, 2, 1, err, sizeof err) == 180, "alias refused when a lives on: 180");
	T_CHECK(t[1].shares == -1, "b does not share");

	/* Two tensors cannot both take over the same dying tensor. */
	set(&t[0], 100, 0, 1, -1);
	set(&t[1], 100, 1, 2, 0);
	set(&t[2], 100, 1, 2, 0);
	T_CHECK(plan_run(t, 3, 1, err, sizeof err) == 200, "one alias per dying tensor: 200");

	/* Alignment 16: offsets are multiples of 16 and the arena is rounded up. */
	set(&t[0], 10, 0, 2, -1);
	set(&t[1], 7, 0, 2, -1);
	set(&t[2], 3, 1, 2, -1);
	int64_t arena = plan_run(t, 3, 16, err, sizeof err);
	T_CHECK(arena == 48 && t[0].offset % 16 == 0 && t[1].offset % 16 == 0 && t[2].offset % 16 == 0,
		"align 16: arena %lld == 48, offsets aligned", (long long)arena);
	T_CHECK(plan_run(t, 3, 3, err, sizeof err) == -1, "align 3 refused");

	/* Bad lifetimes are refused, not planned. */
	set(&t[0], 10, 2, 1, -1);
	T_CHECK(plan_run(t, 1, 1, err, sizeof err) == -1, "first > last refused");
	set(&t[0], -1, 0, 1, -1);
	T_CHECK(plan_run(t, 1, 1, err, sizeof err) == -1, "negative size refused");
	T_CHECK(plan_run(t, 0, 1, err, sizeof err) == 0, "no tensors: empty arena");
}

static void test_self_check(void)
{
	struct plan_tensor t[2];
	char err[256];
	set(&t[0], 100, 0, 2, -1);
	set(&t[1], 100, 1, 3, -1);
	int64_t arena = plan_run(t, 2, 1, err, sizeof err);
	T_CHECK(arena == 200, "two overlapping 100s need 200");
	t[1].offset = 50; /* corrupt */
	T_CHECK(plan_check(t, 2, arena, err, sizeof err) == -1 && strstr(err, "overlap"),
		"self-check catches an overlap: %s", err);
	t[1].offset = 150;
	T_CHECK(plan_check(t, 2, arena, err, sizeof err) == -1 && strstr(err, "outside"),
		"self-check catches a tensor past the arena: %s", err);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static int rnd(int n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (int)(rng_state % (uint64_t)n);
}

/* Random problems: the plan passes the self-check, is at least the live bytes at every op and
 * at most the sum of all sizes; a deliberate overlap is always caught. */
static void test_random(void)
{
	enum { N = 40, OPS = 30, ROUNDS = 20000 };
	struct plan_tensor t[N];
	char err[256];
	int good = 0, caught = 0, tried = 0;
	for (int r = 0; r < ROUNDS; r++) {
		int n = 1 + rnd(N);
		int64_t total = 0;
		for (int i = 0; i < n; i++) {
			int first = rnd(OPS), len = rnd(6);
			int alias = i > 0 && rnd(3) == 0 ? rnd(i) : -1;
			set(&t[i], rnd(1000), first, first + len > OPS - 1 ? OPS - 1 : first + len, alias);
			total += t[i].bytes;
		}
		int align = (int[]){1, 4, 8, 16}[rnd(4)];
		int64_t arena = plan_run(t, n, align, err, sizeof err);
		if (arena < 0) {
			printf("# round %d: %s\n", r, err);
			continue;
		}
		/* Bound: at each op, live bytes with a shared pair counted once (the larger). */
		int64_t bound = 0;
		for (int op = 0; op < OPS; op++) {
			int64_t live = 0;
			for (int i = 0; i < n; i++) {
				if (t[i].first > op || t[i].last < op)
					continue;
				int s = t[i].shares;
				if (s >= 0 && t[i].first == op)
					live += t[i].bytes > t[s].bytes ? t[i].bytes - t[s].bytes : 0;
				else
					live += t[i].bytes;
			}
			if (live > bound)
				bound = live;
		}
		good += arena >= bound && arena <= total + (int64_t)n * align &&
			plan_check(t, n, arena, err, sizeof err) == 0;
		/* Corrupt: move a tensor onto another one it coexists with (not its handoff). */
		for (int i = 0; i < n; i++) {
			int j = rnd(n);
			if (i == j || !t[i].bytes || !t[j].bytes || t[i].first > t[j].last ||
			    t[j].first > t[i].last || t[i].shares == j || t[j].shares == i)
				continue;
			int64_t saved = t[i].offset;
			t[i].offset = t[j].offset;
			if (t[i].offset + t[i].bytes <= arena) {
				tried++;
				caught += plan_check(t, n, arena, err, sizeof err) == -1;
			}
			t[i].offset = saved;
			break;
		}
	}
	T_CHECK(good == ROUNDS, "random plans valid and within bounds: %d of %d", good, ROUNDS);
	T_CHECK(tried > 100 && caught == tried, "self-check caught %d of %d corruptions", caught,
		tried);
}

int main(void)
{
	test_hand();
	test_self_check();
	test_random();
	return t_done();
}
