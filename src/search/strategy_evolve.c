/* strategy_evolve.c — aging (regularised) evolution (Real et al. 2019) over the feedback:
 * the population is the most recent feasible evaluations (feedback "population", newest first,
 * so old members age out as new ones arrive) plus the current front; a tournament of a few random
 * members picks the most accurate as parent; the child changes one block field to another value
 * of the search space. Without any evaluated member yet it samples uniformly. */
#include "search/gen.h"
#include "core/record.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>

/* Members with a parsable arch and an accuracy: population first, then the front. */
static int gather(const cJSON *fb, const cJSON **out, int max)
{
	int n = 0;
	const char *lists[] = { "population", "front" };
	for (int l = 0; l < 2; l++) {
		const cJSON *m;
		cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(fb, lists[l])) {
			if (n == max)
				return n;
			if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(m, "arch")) &&
			    cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(m, "val_acc")))
				out[n++] = m;
		}
	}
	return n;
}

static const cJSON *tournament(struct gen_ctx *g, const cJSON **pop, int n)
{
	const cJSON *best = NULL;
	int k = g->tournament < 1 ? 1 : g->tournament;
	for (int i = 0; i < k; i++) {
		const cJSON *m = pop[gen_below(&g->rng, n)];
		if (!best || record_number(m, "val_acc", 0) > record_number(best, "val_acc", 0))
			best = m;
	}
	return best;
}

cJSON *strategy_evolve_next(struct gen_ctx *g)
{
	const cJSON *pop[256];
	int n = gather(g->feedback, pop, 256);
	cJSON *last = NULL;
	for (int t = 1; t <= g->max_tries; t++) {
		struct arch child, parent;
		const cJSON *p = NULL;
		char err[256];
		if (n > 0 && prng_unit(&g->rng) >= g->fresh_prob) {
			p = tournament(g, pop, n);
			if (arch_parse(cJSON_GetObjectItemCaseSensitive(p, "arch"), &parent, err,
				       sizeof err)) {
				p = NULL;
			} else {
				strategy_mutate(g->space, &g->rng, &parent, &child);
				/* Several mutations when one keeps failing: walk further away. */
				for (int extra = t / 50; extra > 0; extra--) {
					struct arch again;
					strategy_mutate(g->space, &g->rng, &child, &again);
					child = again;
				}
			}
		}
		if (!p)
			strategy_random_arch(g->space, g->input_channels, &g->rng, &child);
		bool ok;
		cJSON_Delete(last);
		last = gen_try(g, arch_to_json(&child), &ok);
		if (ok) {
			cJSON *gen = gen_stamp(g, last, "evolve", t);
			const cJSON *pid = cJSON_GetObjectItemCaseSensitive(p, "id");
			if (p && cJSON_IsString(pid))
				cJSON_AddStringToObject(gen, "parent", pid->valuestring);
			gen_remember(g, record_string(last, "id"));
			return last;
		}
	}
	return gen_give_up(g, last, "evolve", "evolution tries");
}
