/* prompt.c — filling the prompt templates (see prompt.h). */
#include "search/prompt.h"
#include "cost/cost.h"
#include "core/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing string. */
struct sb {
	char *s;
	size_t len, cap;
};

static void sb_add(struct sb *b, const char *text, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, text, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	char *tmp = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb_add(b, tmp, (size_t)n);
	free(tmp);
}

static char *sb_done(struct sb *b)
{
	if (!b->s)
		return xstrdup("");
	return b->s;
}

char *prompt_template(const char *dir, const char *name, char *err, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s.txt", dir, name);
	const char *why = NULL;
	size_t len;
	char *text = read_file(path, 1 << 20, &len, &why);
	if (!text)
		snprintf(err, errlen, "cannot read the prompt template %s: %s", path, why);
	return text;
}

char *prompt_render(const char *tmpl, const char *const *keys, const char *const *vals, int n)
{
	struct sb b = { 0 };
	const char *p = tmpl;
	while (*p) {
		const char *open = strstr(p, "{{");
		if (!open) {
			sb_add(&b, p, strlen(p));
			break;
		}
		sb_add(&b, p, (size_t)(open - p));
		const char *close = strstr(open + 2, "}}");
		int k = -1;
		if (close)
			for (int i = 0; i < n && k < 0; i++)
				if (strlen(keys[i]) == (size_t)(close - open - 2) &&
				    !strncmp(open + 2, keys[i], (size_t)(close - open - 2)))
					k = i;
		if (k < 0) {
			sb_add(&b, "{{", 2);
			p = open + 2;
			continue;
		}
		sb_add(&b, vals[k], strlen(vals[k]));
		p = close + 2;
	}
	return sb_done(&b);
}

char *prompt_constraints(const struct prompt_ctx *c)
{
	struct sb b = { 0 };
	char x[32], y[32];
	sb_printf(&b, "- input %dx%d with %d channel(s), %d classes\n", c->res_h, c->res_w, c->in_ch,
		  c->classes);
	if (c->macs_max > 0)
		sb_printf(&b, "- MACs (multiply-accumulates of every convolution and the classifier) "
			      "at most %s\n", fmt_count(c->macs_max, x, sizeof x));
	if (c->macs_min > 0)
		sb_printf(&b, "- MACs at least %s\n", fmt_count(c->macs_min, x, sizeof x));
	if (c->sram_max > 0)
		sb_printf(&b, "- SRAM at most %s: the int8 activation arena (the input image counts, "
			      "and a block input held for a residual add) plus a %d-byte stack\n",
			  fmt_bytes(c->sram_max, x, sizeof x), COST_STACK_BYTES);
	if (c->flash_max > 0)
		sb_printf(&b, "- flash of the int8 model (weights after BN folding, int32 biases, "
			      "per-channel scales) at most %s\n", fmt_bytes(c->flash_max, y, sizeof y));
	if (c->macs_max <= 0 && c->sram_max <= 0 && c->flash_max <= 0)
		sb_printf(&b, "- no resource limit given: keep the network small anyway\n");
	return sb_done(&b);
}

static double num(const cJSON *o, const char *k, double fallback)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(x) ? x->valuedouble : fallback;
}

char *prompt_feedback_text(const cJSON *fb)
{
	struct sb b = { 0 };
	if (!fb) {
		sb_printf(&b, "This is the first iteration: nothing has been evaluated yet.\n");
		return sb_done(&b);
	}
	const cJSON *counts = cJSON_GetObjectItemCaseSensitive(fb, "counts");
	sb_printf(&b, "So far: %d designs evaluated, %d rejected by the constraints, %d failed in "
		      "training.\n",
		  (int)num(counts, "evaluated", 0), (int)num(counts, "rejected", 0),
		  (int)num(counts, "failed", 0));
	const cJSON *front = cJSON_GetObjectItemCaseSensitive(fb, "front");
	if (cJSON_GetArraySize(front) > 0) {
		sb_printf(&b, "Pareto front (best validation accuracy first):\n");
		const cJSON *m;
		char x[32], y[32], z[32];
		cJSON_ArrayForEach(m, front) {
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
			sb_printf(&b, "- %s: accuracy %.2f%%, MACs %s, params %s",
				  cJSON_IsString(id) ? id->valuestring : "?", 100 * num(m, "val_acc", 0),
				  fmt_count(num(m, "macs", 0), x, sizeof x),
				  fmt_count(num(m, "params", 0), y, sizeof y));
			if (num(m, "sram_bytes", 0) > 0)
				sb_printf(&b, ", SRAM %s", fmt_bytes(num(m, "sram_bytes", 0), z, sizeof z));
			const cJSON *arch = cJSON_GetObjectItemCaseSensitive(m, "arch");
			if (arch) {
				char *a = cJSON_PrintUnformatted(arch);
				sb_printf(&b, "\n  arch: %s", a);
				free(a);
			}
			sb_printf(&b, "\n");
		}
	}
	const cJSON *trend = cJSON_GetObjectItemCaseSensitive(fb, "trend");
	if (cJSON_GetArraySize(trend) > 0) {
		sb_printf(&b, "Best validation accuracy per iteration:");
		const cJSON *t;
		cJSON_ArrayForEach(t, trend) {
			if (cJSON_GetObjectItemCaseSensitive(t, "best_val_acc"))
				sb_printf(&b, " %d: %.2f%%;", (int)num(t, "iteration", 0),
					  100 * num(t, "best_val_acc", 0));
		}
		sb_printf(&b, "\n");
	}
	const cJSON *sg = cJSON_GetObjectItemCaseSensitive(fb, "suggestions");
	if (cJSON_GetArraySize(sg) > 0) {
		sb_printf(&b, "Suggestions:\n");
		const cJSON *s;
		cJSON_ArrayForEach(s, sg)
			if (cJSON_IsString(s))
				sb_printf(&b, "- %s\n", s->valuestring);
	}
	const cJSON *rj = cJSON_GetObjectItemCaseSensitive(fb, "rejections");
	if (cJSON_GetArraySize(rj) > 0) {
		sb_printf(&b, "Recently rejected designs and why:\n");
		const cJSON *r;
		cJSON_ArrayForEach(r, rj) {
			const cJSON *msg;
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(r, "error");
			if (cJSON_IsString(e))
				sb_printf(&b, "- %s\n", e->valuestring);
			cJSON_ArrayForEach(msg, cJSON_GetObjectItemCaseSensitive(r, "messages"))
				if (cJSON_IsString(msg))
					sb_printf(&b, "- %s\n", msg->valuestring);
		}
	}
	return sb_done(&b);
}

char *prompt_generate(const char *tmpl, const struct prompt_ctx *c)
{
	char res[64], inch[16], classes[16];
	snprintf(res, sizeof res, "%dx%d", c->res_h, c->res_w);
	snprintf(inch, sizeof inch, "%d", c->in_ch);
	snprintf(classes, sizeof classes, "%d", c->classes);
	char *constraints = prompt_constraints(c);
	char *feedback = prompt_feedback_text(c->feedback);
	const char *keys[] = { "dataset", "resolution", "input_channels", "classes", "constraints",
			       "search_space", "feedback" };
	const char *vals[] = { c->dataset ? c->dataset : "the target dataset", res, inch, classes,
			       constraints, c->space_text ? c->space_text : "(no search space given)",
			       feedback };
	char *out = prompt_render(tmpl, keys, vals, 7);
	free(constraints);
	free(feedback);
	return out;
}
