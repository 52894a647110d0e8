/* gen.c — shared parts of the generation strategies (see gen.h). */
#include "search/gen.h"
#include "core/record.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gen_below(struct prng *r, int n)
{
	return n <= 1 ? 0 : (int)prng_below(r, (uint64_t)n);
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

cJSON *gen_give_up(const struct gen_ctx *g, cJSON *last, const char *strategy, const char *samples)
{
	cJSON *gen = gen_stamp(g, last, strategy, g->max_tries);
	char msg[160];
	snprintf(msg, sizeof msg, "no accepted arch in %d %s; the limits may be too tight",
		 g->max_tries, samples);
	cJSON_AddStringToObject(gen, "error", msg);
	return last;
}
