/* gen.h — what every generation strategy shares (gen-arch(1)): the run's seeded generator
 * (struct prng, prng.h), its settings, the ids already tried, and the step that checks a
 * proposed arch with the shared check (check.h) before it may be emitted.
 *
 * Strategies: random (uniform over the search space), evolve (aging evolution over the recent
 * population and front of the feedback), llm (a chat model; strategy_llm.c). Each returns one
 * record per call: accepted ({id, arch, gen, cost, check}) or, after its bounded tries, the last
 * rejected attempt with gen.error. */
#ifndef LMNAS_GEN_H
#define LMNAS_GEN_H
#include <stdbool.h>
#include <stdint.h>
#include <cJSON.h>

#include "core/arch.h"
#include "cost/check.h"
#include "search/llm.h"
#include "core/prng.h"
#include "core/space.h"

/* Uniform in [0, n) from r. n <= 1 gives 0 and draws nothing, which keeps the archs of a given
 * --seed what they have always been. */
int gen_below(struct prng *r, int n);

struct gen_ctx {
	struct check_opts *check;    /* limits, space, seen file */
	const struct space *space;   /* what random/evolve draw from */
	int input_channels;
	int iteration;
	int max_tries;               /* random/evolve: samples per candidate before giving up */
	int tournament;              /* evolve: sample size of the tournament */
	double fresh_prob;           /* evolve: chance of a random arch instead of a child */
	struct prng rng;             /* seeded by --seed */
	const cJSON *feedback;       /* feedback(1) object or NULL */
	/* ids tried before (feedback "tried") and emitted in this run */
	char (*ids)[CHECK_ID_LEN];
	int nids, capids;
	/* llm */
	struct llm_client *llm;
	const char *model;
	int max_retries;
	bool explain;
	const char *tmpl_system, *tmpl_generate, *tmpl_retry, *tmpl_explain;
	const char *dataset;
	const char *space_text;
	cJSON *proposed;             /* archs accepted in this run, named in later prompts */
};

bool gen_tried(const struct gen_ctx *g, const char *id);
void gen_remember(struct gen_ctx *g, const char *id);
/* Adds every id of feedback.tried. */
void gen_remember_feedback(struct gen_ctx *g);

/* Builds {arch, resolution, classes}, runs check_record and the tried-id check. Returns the record
 * (always) and sets *ok. A tried id is a rejection with metric "seen". */
cJSON *gen_try(struct gen_ctx *g, cJSON *arch_json, bool *ok);

/* Sets rec.gen (strategy, model, iteration, attempts). */
cJSON *gen_stamp(const struct gen_ctx *g, cJSON *rec, const char *strategy, int attempts);
/* A sampling strategy's answer after max_tries rejected samples: the last one, stamped, with
 * gen.error "no accepted arch in N SAMPLES; the limits may be too tight". */
cJSON *gen_give_up(const struct gen_ctx *g, cJSON *last, const char *strategy, const char *samples);

/* A uniform arch of the search space. */
void strategy_random_arch(const struct space *s, int input_channels, struct prng *r, struct arch *a);
/* One child: a copy of parent with one block field changed to another value of the space. */
void strategy_mutate(const struct space *s, struct prng *r, const struct arch *parent,
		     struct arch *child);

cJSON *strategy_random_next(struct gen_ctx *g);
cJSON *strategy_evolve_next(struct gen_ctx *g);
cJSON *strategy_llm_next(struct gen_ctx *g);
/* The JSON schema of an answer: an arch with the space's values as enums. */
cJSON *strategy_llm_schema(const struct space *s, int input_channels);
#endif
