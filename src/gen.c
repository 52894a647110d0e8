/* gen.c — shared parts of the generation strategies (see gen.h). */
#include "gen.h"
#include "record.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void gen_rng_seed(struct gen_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
uint64_t gen_rng_next(struct gen_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

int gen_rng_below(struct gen_rng *r, int n)
{
	return n <= 1 ? 0 : (int)(gen_rng_next(r) % (uint64_t)n);
}

double gen_rng_unit(struct gen_rng *r)
{
	return (double)(gen_rng_next(r) >> 11) / 9007199254740992.0;
}

bool gen_tried(const struct gen_ctx *g, const char *id)
{
	for (int i = 0; i < g->nids; i++)
		if (!strcmp(g->ids[i], id))
			return true;
	return false;
}

void gen_remember(struct gen_ctx *g, const char *id)
{
	if (strlen(id) >= CHECK_ID_LEN || gen_tried(g, id))
		return;
	if (g->nids == g->capids) {
		g->capids = g->capids ? g->capids * 2 : 64;
		g->ids = xrealloc(g->ids, sizeof *g->ids * (size_t)g->capids);
	}
	snprintf(g->ids[g->nids++], CHECK_ID_LEN, "%s", id);
}

void gen_remember_feedback(struct gen_ctx *g)
{
	const cJSON *id;
	cJSON_ArrayForEach(id, cJSON_GetObjectItemCaseSensitive(g->feedback, "tried"))
		if (cJSON_IsString(id))
			gen_remember(g, id->valuestring);
}

cJSON *gen_try(struct gen_ctx *g, cJSON *arch_json, bool *ok)
{
	cJSON *rec = cJSON_CreateObject();
	cJSON_AddItemToObject(rec, "arch", arch_json);
	cJSON *res = cJSON_AddArrayToObject(rec, "resolution");
	cJSON_AddItemToArray(res, cJSON_CreateNumber(g->check->res_h));
	cJSON_AddItemToArray(res, cJSON_CreateNumber(g->check->res_w));
	cJSON_AddNumberToObject(rec, "classes", g->check->classes);
	*ok = check_record(rec, g->check) == 1;
	const char *id = record_string(rec, "id");
	if (*ok && id && gen_tried(g, id)) {
		*ok = false;
		cJSON *check = cJSON_GetObjectItemCaseSensitive(rec, "check");
		cJSON_ReplaceItemInObject(check, "ok", cJSON_CreateFalse());
		cJSON *vs = cJSON_GetObjectItemCaseSensitive(check, "violations");
		if (!vs)
			vs = cJSON_AddArrayToObject(check, "violations");
		cJSON *v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "metric", "seen");
		cJSON_AddStringToObject(v, "value", id);
		cJSON_AddNullToObject(v, "limit");
		char msg[200];
		snprintf(msg, sizeof msg, "This design (id %s) was already evaluated; propose a "
					  "different architecture.", id);
		cJSON_AddStringToObject(v, "message", msg);
		cJSON_AddItemToArray(vs, v);
	}
	return rec;
}

cJSON *gen_stamp(const struct gen_ctx *g, cJSON *rec, const char *strategy, int attempts)
{
	cJSON *gen = record_stage(rec, "gen");
	cJSON_AddStringToObject(gen, "strategy", strategy);
	if (g->model)
		cJSON_AddStringToObject(gen, "model", g->model);
	cJSON_AddNumberToObject(gen, "iteration", g->iteration);
	cJSON_AddNumberToObject(gen, "attempts", attempts);
	return gen;
}
