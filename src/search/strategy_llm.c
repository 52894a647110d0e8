/* strategy_llm.c — a chat model proposes the arch (gen-arch --strategy llm): the paper's prompt,
 * the answer parsed tolerantly and checked with the shared check; a parse error, a cut-off answer
 * or a violation goes back to the model in the next message, up to --max-retries times. With
 * --explain the model is then asked why it chose the design (the paper's explainability module).
 * gen.answers counts the answers the server gave: 0 means every request failed, and the record
 * says "the model server gave no answer". */
#include "search/gen.h"
#include "search/prompt.h"
#include "core/record.h"
#include "core/utf8.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *int_enum(const int *vals, int n)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "integer");
	cJSON *e = cJSON_AddArrayToObject(o, "enum");
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(e, cJSON_CreateNumber(vals[i]));
	return o;
}

static cJSON *str_enum(const bool *allowed, const char *(*name)(int), int n)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "string");
	cJSON *e = cJSON_AddArrayToObject(o, "enum");
	for (int i = 0; i < n; i++)
		if (allowed[i])
			cJSON_AddItemToArray(e, cJSON_CreateString(name(i)));
	return o;
}

static const char *conv_name_i(int i) { return conv_type_name((enum conv_type)i); }
static const char *skip_name_i(int i) { return skip_op_name((enum skip_op)i); }
static const char *act_name_i(int i) { return act_name((enum act)i); }

/* The schema of one block whose fields take the values of s. */
static cJSON *block_schema(const struct block_space *s)
{
	cJSON *item = cJSON_CreateObject();
	cJSON_AddStringToObject(item, "type", "object");
	cJSON *bp = cJSON_AddObjectToObject(item, "properties");
	cJSON_AddItemToObject(bp, "output_channels", int_enum(s->out_ch, s->n_out_ch));
	cJSON_AddItemToObject(bp, "num_layers", int_enum(s->layers, s->n_layers));
	cJSON_AddItemToObject(bp, "kernel_size", int_enum(s->kernel, s->n_kernel));
	cJSON_AddItemToObject(bp, "stride", int_enum(s->stride, s->n_stride));
	cJSON_AddItemToObject(bp, "expansion_factor", int_enum(s->expansion, s->n_expansion));
	cJSON *se = cJSON_AddObjectToObject(bp, "use_se");
	cJSON_AddStringToObject(se, "type", "boolean");
	cJSON *ratio = cJSON_AddObjectToObject(bp, "se_ratio");
	cJSON_AddStringToObject(ratio, "type", "number");
	cJSON *re = cJSON_AddArrayToObject(ratio, "enum");
	cJSON_AddItemToArray(re, cJSON_CreateNumber(0));
	for (int i = 0; i < s->n_se_ratio; i++)
		cJSON_AddItemToArray(re, cJSON_CreateNumber(s->se_ratio[i]));
	cJSON_AddItemToObject(bp, "conv_type", str_enum(s->conv_allowed, conv_name_i, 2));
	cJSON_AddItemToObject(bp, "skip_op", str_enum(s->skip_allowed, skip_name_i, 2));
	cJSON_AddItemToObject(bp, "activation", str_enum(s->act_allowed, act_name_i, 3));
	cJSON *req = cJSON_AddArrayToObject(item, "required");
	static const char *const fields[] = { "output_channels", "num_layers", "kernel_size",
		"stride", "expansion_factor", "use_se", "se_ratio", "conv_type", "skip_op",
		"activation" };
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		cJSON_AddItemToArray(req, cJSON_CreateString(fields[i]));
	return item;
}

/* blocks: an array of exactly s->stages blocks; when the space's first_block applies to
 * input_channels, the first of them as prefixItems (JSON Schema 2020-12), the rest as items. */
cJSON *strategy_llm_schema(const struct space *s, int input_channels)
{
	cJSON *sc = cJSON_CreateObject();
	cJSON_AddStringToObject(sc, "type", "object");
	cJSON *props = cJSON_AddObjectToObject(sc, "properties");
	cJSON_AddItemToObject(props, "input_channels", int_enum(&input_channels, 1));
	cJSON *blocks = cJSON_AddObjectToObject(props, "blocks");
	cJSON_AddStringToObject(blocks, "type", "array");
	cJSON_AddNumberToObject(blocks, "minItems", s->stages);
	cJSON_AddNumberToObject(blocks, "maxItems", s->stages);
	const struct block_space *first = space_block(s, input_channels, 0);
	if (first != &s->block)
		cJSON_AddItemToArray(cJSON_AddArrayToObject(blocks, "prefixItems"), block_schema(first));
	cJSON_AddItemToObject(blocks, "items", block_schema(&s->block));
	cJSON *top = cJSON_AddArrayToObject(sc, "required");
	cJSON_AddItemToArray(top, cJSON_CreateString("input_channels"));
	cJSON_AddItemToArray(top, cJSON_CreateString("blocks"));
	return sc;
}

static void add_message(cJSON *msgs, const char *role, const char *content)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", role);
	cJSON_AddStringToObject(m, "content", content);
	cJSON_AddItemToArray(msgs, m);
}

/* The violation messages of a rejected record, joined into one text for the model. */
static void violations_text(const cJSON *rec, char *buf, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	const cJSON *v;
	cJSON_ArrayForEach(v, record_get(rec, "check.violations")) {
		const char *msg = record_string(v, "message");
		if (msg && used < n)
			used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? " " : "", msg);
	}
	if (!buf[0])
		snprintf(buf, n, "the design was rejected by the constraint check");
}

/* Accepts the arch itself or {"arch": {...}}. */
static cJSON *take_arch(cJSON *doc)
{
	cJSON *inner = cJSON_DetachItemFromObjectCaseSensitive(doc, "arch");
	if (cJSON_IsObject(inner)) {
		cJSON_Delete(doc);
		return inner;
	}
	cJSON_Delete(inner);
	return doc;
}

/* The reason an answer gave no object: a cut-off answer (finish_reason "length") is named as such,
 * since its parse error would mislead the model. */
static void unparsed_reason(const struct gen_ctx *g, char *error, size_t n)
{
	if (strcmp(g->llm->finish_reason, "length"))
		return;
	snprintf(error, n, "the answer was cut off at the token limit (finish_reason \"length\") "
			   "before its JSON object was complete; answer with the JSON object alone, "
			   "without reasoning or prose");
}

static void explain(struct gen_ctx *g, cJSON *msgs, cJSON *gen)
{
	add_message(msgs, "user", g->tmpl_explain);
	char *text = NULL, err[1500];
	if (llm_chat(g->llm, msgs, NULL, &text, err, sizeof err)) {
		log_error("explanation: %s", err);
		cJSON_AddStringToObject(gen, "explanation_error", err);
		return;
	}
	cJSON_AddStringToObject(gen, "explanation", text);
	free(text);
}

cJSON *strategy_llm_next(struct gen_ctx *g)
{
	struct prompt_ctx pc = { .dataset = g->dataset, .res_h = g->check->res_h,
				 .res_w = g->check->res_w, .in_ch = g->input_channels,
				 .classes = g->check->classes, .macs_min = g->check->macs_min,
				 .macs_max = g->check->macs_max, .sram_max = g->check->sram_max,
				 .flash_max = g->check->flash_max, .space_text = g->space_text,
				 .feedback = g->feedback };
	char *user = prompt_generate(g->tmpl_generate, &pc);
	if (cJSON_GetArraySize(g->proposed) > 0) {
		/* Candidates of this same iteration are not in the feedback yet: name them. */
		char *list = cJSON_PrintUnformatted(g->proposed);
		size_t len = strlen(user) + strlen(list) + 128;
		char *more = xmalloc(len);
		snprintf(more, len, "%s\nAlready proposed in this iteration (do not repeat them): %s\n",
			 user, list);
		free(list);
		free(user);
		user = more;
	}
	cJSON *msgs = cJSON_CreateArray();
	add_message(msgs, "system", g->tmpl_system);
	add_message(msgs, "user", user);
	free(user);
	cJSON *schema = strategy_llm_schema(g->space, g->input_channels);
	cJSON *last = NULL;
	char error[2048] = "";
	int attempts = 0, answers = 0;
	for (int t = 0; t <= g->max_retries; t++) {
		char *answer = NULL;
		attempts++;
		if (llm_chat(g->llm, msgs, schema, &answer, error, sizeof error)) {
			break; /* the client already retried HTTP errors and timeouts */
		}
		answers++;
		add_message(msgs, "assistant", answer);
		cJSON *doc = llm_extract_json(answer, error, sizeof error);
		free(answer);
		if (!doc) {
			unparsed_reason(g, error, sizeof error);
		} else {
			bool ok;
			cJSON_Delete(last);
			last = gen_try(g, take_arch(doc), &ok);
			if (ok) {
				cJSON *gen = gen_stamp(g, last, "llm", attempts);
				cJSON_AddNumberToObject(gen, "answers", answers);
				gen_remember(g, record_string(last, "id"));
				if (!g->proposed)
					g->proposed = cJSON_CreateArray();
				cJSON_AddItemToArray(g->proposed,
						     cJSON_Duplicate(record_get(last, "arch"), 1));
				if (g->explain)
					explain(g, msgs, gen);
				cJSON_Delete(schema);
				cJSON_Delete(msgs);
				return last;
			}
			violations_text(last, error, sizeof error);
		}
		log_info("answer %d not accepted: %s", attempts, error);
		const char *keys[] = { "error" };
		const char *vals[] = { error };
		char *retry = prompt_render(g->tmpl_retry, keys, vals, 1);
		add_message(msgs, "user", retry);
		free(retry);
	}
	if (!last) {
		last = cJSON_CreateObject();
		cJSON *res = cJSON_AddArrayToObject(last, "resolution");
		cJSON_AddItemToArray(res, cJSON_CreateNumber(g->check->res_h));
		cJSON_AddItemToArray(res, cJSON_CreateNumber(g->check->res_w));
		cJSON_AddNumberToObject(last, "classes", g->check->classes);
	}
	cJSON *gen = gen_stamp(g, last, "llm", attempts);
	cJSON_AddNumberToObject(gen, "answers", answers);
	char msg[2300];
	if (answers == 0)
		snprintf(msg, sizeof msg, "the model server gave no answer: %s", error);
	else
		snprintf(msg, sizeof msg, "no accepted arch after %d answer(s): %s", answers, error);
	char *clean = utf8_clean(msg, strlen(msg)); /* a message cut inside a character */
	cJSON_AddStringToObject(gen, "error", clean);
	free(clean);
	cJSON_Delete(schema);
	cJSON_Delete(msgs);
	return last;
}
