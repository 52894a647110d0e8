/* feedback.c — the search history summarised for the generator (see feedback.h). */
#include "search/feedback.h"
#include "core/status.h"
#include "search/pareto.h"
#include "core/record.h"
#include "core/util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void feedback_opts_init(struct feedback_opts *o)
{
	memset(o, 0, sizeof *o);
	o->max_front = 8;
	o->max_rejections = 8;
	o->population = 16;
}

static int iteration_of(const cJSON *r)
{
	return (int)record_number(r, "gen.iteration", 0);
}

static int has_acc(const cJSON *r)
{
	return record_status(r, "mini.val_acc") == STATUS_EVALUATED;
}

static int is_rejected(const cJSON *r)
{
	return record_status(r, "mini.val_acc") == STATUS_REJECTED;
}

static void copy_num(cJSON *dst, const char *name, const cJSON *rec, const char *path)
{
	const cJSON *x = record_get(rec, path);
	if (cJSON_IsNumber(x))
		cJSON_AddNumberToObject(dst, name, x->valuedouble);
}

static cJSON *member(const cJSON *r, int with_arch)
{
	cJSON *m = cJSON_CreateObject();
	const char *id = record_string(r, "id");
	cJSON_AddStringToObject(m, "id", id ? id : "");
	copy_num(m, "val_acc", r, "mini.val_acc");
	copy_num(m, "macs", r, "cost.macs");
	copy_num(m, "params", r, "cost.params");
	copy_num(m, "flash_bytes", r, "cost.flash_bytes");
	copy_num(m, "peak_sram_bytes", r, "cost.peak_sram_bytes");
	copy_num(m, "arena_bytes", r, "cost.arena_bytes");
	copy_num(m, "sram_bytes", r, "cost.sram_bytes"); /* arena + stack: what --sram-max limits */
	copy_num(m, "iteration", r, "gen.iteration");
	const cJSON *arch = record_get(r, "arch");
	if (with_arch && arch)
		cJSON_AddItemToObject(m, "arch", cJSON_Duplicate(arch, 1));
	return m;
}

/* Front members, best accuracy first. */
static int by_acc_desc(const void *a, const void *b)
{
	double x = record_number(*(cJSON *const *)a, "mini.val_acc", 0);
	double y = record_number(*(cJSON *const *)b, "mini.val_acc", 0);
	return (x < y) - (x > y);
}

static void add_avg(cJSON *obj, cJSON **recs, int n, int front_only)
{
	static const char *const paths[] = { "mini.val_acc", "cost.macs", "cost.params" };
	static const char *const names[] = { "val_acc", "macs", "params" };
	for (int k = 0; k < 3; k++) {
		double sum = 0;
		int count = 0;
		for (int i = 0; i < n; i++) {
			if (!has_acc(recs[i]))
				continue;
			if (front_only && !cJSON_IsTrue(record_get(recs[i], "pareto.front")))
				continue;
			const cJSON *x = record_get(recs[i], paths[k]);
			if (cJSON_IsNumber(x)) {
				sum += x->valuedouble;
				count++;
			}
		}
		if (count)
			cJSON_AddNumberToObject(obj, names[k], sum / count);
	}
}

static void suggest(cJSON *list, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void suggest(cJSON *list, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	cJSON_AddItemToArray(list, cJSON_CreateString(buf));
}

/* Which value of an arch field most of the blocks use ("" when none). */
static const char *majority(const cJSON *arch, const char *field, char *buf, size_t n)
{
	const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(arch, "blocks");
	char vals[16][24];
	int counts[16], nv = 0;
	const cJSON *b;
	buf[0] = '\0';
	cJSON_ArrayForEach(b, blocks) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(b, field);
		char v[24];
		if (cJSON_IsString(x))
			snprintf(v, sizeof v, "%s", x->valuestring);
		else if (cJSON_IsBool(x))
			snprintf(v, sizeof v, "%s", cJSON_IsTrue(x) ? "true" : "false");
		else
			continue;
		int k;
		for (k = 0; k < nv && strcmp(vals[k], v); k++)
			;
		if (k == nv) {
			if (nv == 16)
				continue;
			snprintf(vals[nv], sizeof vals[nv], "%s", v);
			counts[nv++] = 0;
		}
		counts[k]++;
	}
	int best = -1;
	for (int k = 0; k < nv; k++)
		if (best < 0 || counts[k] > counts[best])
			best = k;
	if (best >= 0)
		snprintf(buf, n, "%s", vals[best]);
	return buf;
}

/* Compares mean accuracy of designs grouped by the majority value of an arch field. */
static void attribute_suggestion(cJSON *list, cJSON **recs, int n, const char *field)
{
	char names[8][24];
	double sum[8];
	int count[8], nv = 0;
	for (int i = 0; i < n; i++) {
		if (!has_acc(recs[i]))
			continue;
		char v[24];
		majority(record_get(recs[i], "arch"), field, v, sizeof v);
		if (!v[0])
			continue;
		int k;
		for (k = 0; k < nv && strcmp(names[k], v); k++)
			;
		if (k == nv) {
			if (nv == 8)
				continue;
			snprintf(names[nv], sizeof names[nv], "%s", v);
			sum[nv] = 0;
			count[nv++] = 0;
		}
		sum[k] += record_number(recs[i], "mini.val_acc", 0);
		count[k]++;
	}
	int hi = -1, lo = -1;
	for (int k = 0; k < nv; k++) {
		if (count[k] < 2)
			continue;
		if (hi < 0 || sum[k] / count[k] > sum[hi] / count[hi])
			hi = k;
		if (lo < 0 || sum[k] / count[k] < sum[lo] / count[lo])
			lo = k;
	}
	if (hi < 0 || hi == lo)
		return;
	double a = sum[hi] / count[hi], b = sum[lo] / count[lo];
	if (a - b < 0.01)
		return;
	suggest(list,
		"Designs whose blocks mostly have %s %s averaged %.1f%% validation accuracy (%d designs) "
		"against %.1f%% with %s %s (%d designs); favour %s %s.",
		field, names[hi], 100 * a, count[hi], 100 * b, field, names[lo], count[lo], field,
		names[hi]);
}

static const char *rejection_advice(const char *metric)
{
	if (!strcmp(metric, "macs"))
		return "use fewer output channels or smaller expansion factors in the last stages";
	if (!strcmp(metric, "train_time"))
		return "use fewer MACs and fewer layers at the highest resolutions, so that training "
		       "fits the time";
	if (!strcmp(metric, "macs_min"))
		return "use more channels or layers: the design is smaller than the minimum";
	if (!strcmp(metric, "sram") || !strcmp(metric, "peak_sram") || !strcmp(metric, "arena"))
		return "reduce channels in the early high-resolution blocks or downsample earlier "
		       "with stride 2 in the first block";
	if (!strcmp(metric, "flash") || !strcmp(metric, "params"))
		return "reduce channels in the last blocks, where most weights are";
	if (!strcmp(metric, "seen"))
		return "propose a design that is not in the list of ids already tried";
	if (!strcmp(metric, "space"))
		return "use only the values the search space lists";
	return "return one valid architecture object in the required format";
}

/* counts: records, evaluated, rejected, failed, front; and the last iteration. Returns the
 * number evaluated. */
static int add_counts(cJSON *fb, cJSON **recs, int n, int nfront, int *last_iter)
{
	int evaluated = 0, rejected = 0, failed = 0;
	*last_iter = 0;
	for (int i = 0; i < n; i++) {
		int it = iteration_of(recs[i]);
		*last_iter = it > *last_iter ? it : *last_iter;
		enum record_status st = record_status(recs[i], "mini.val_acc");
		rejected += st == STATUS_REJECTED;
		failed += st == STATUS_FAILED;
		evaluated += st == STATUS_EVALUATED;
	}
	cJSON_AddNumberToObject(fb, "iteration", *last_iter);
	cJSON *c = cJSON_AddObjectToObject(fb, "counts");
	cJSON_AddNumberToObject(c, "records", n);
	cJSON_AddNumberToObject(c, "evaluated", evaluated);
	cJSON_AddNumberToObject(c, "rejected", rejected);
	cJSON_AddNumberToObject(c, "failed", failed);
	cJSON_AddNumberToObject(c, "front", nfront);
	return evaluated;
}

/* The records on the front (pareto.front), best accuracy first: front[0..*nf), to free. */
static cJSON **front_by_accuracy(cJSON **recs, int n, int *nf)
{
	cJSON **front = xmalloc(sizeof(cJSON *) * (size_t)(n ? n : 1));
	*nf = 0;
	for (int i = 0; i < n; i++)
		if (cJSON_IsTrue(record_get(recs[i], "pareto.front")))
			front[(*nf)++] = recs[i];
	qsort(front, (size_t)*nf, sizeof *front, by_acc_desc);
	return front;
}

/* What the trend says about progress: the best accuracy so far, before the last iteration, and
 * the design that holds it. */
struct progress {
	double best_so_far, prev_best;
	const char *best_id;
};

/* trend: per iteration, evaluations, rejections, best and mean accuracy, best so far. */
static void add_trend(cJSON *fb, cJSON **recs, int n, int last_iter, struct progress *p)
{
	cJSON *trend = cJSON_AddArrayToObject(fb, "trend");
	p->best_so_far = -1, p->prev_best = -1, p->best_id = NULL;
	for (int it = 0; it <= last_iter; it++) {
		int cnt = 0, rej = 0;
		double best = -1, sum = 0;
		const char *id = NULL;
		for (int i = 0; i < n; i++) {
			if (iteration_of(recs[i]) != it)
				continue;
			if (is_rejected(recs[i]))
				rej++;
			if (!has_acc(recs[i]))
				continue;
			double a = record_number(recs[i], "mini.val_acc", 0);
			cnt++;
			sum += a;
			if (a > best) {
				best = a;
				id = record_string(recs[i], "id");
			}
		}
		if (!cnt && !rej)
			continue;
		p->prev_best = p->best_so_far;
		if (best > p->best_so_far) {
			p->best_so_far = best;
			p->best_id = id;
		}
		cJSON *t = cJSON_CreateObject();
		cJSON_AddNumberToObject(t, "iteration", it);
		cJSON_AddNumberToObject(t, "evaluated", cnt);
		cJSON_AddNumberToObject(t, "rejected", rej);
		if (cnt) {
			cJSON_AddNumberToObject(t, "best_val_acc", best);
			cJSON_AddNumberToObject(t, "mean_val_acc", sum / cnt);
		}
		cJSON_AddNumberToObject(t, "best_so_far", p->best_so_far);
		cJSON_AddItemToArray(trend, t);
	}
}

/* Suggestions from the progress: start small, explore around a new best, or change direction. */
static void suggest_progress(cJSON *sg, int evaluated, const struct progress *p)
{
	if (evaluated == 0)
		suggest(sg, "No design has been evaluated yet: start from a small valid network well "
			    "inside every budget, then grow it.");
	if (evaluated == 0 || p->prev_best < 0)
		return;
	if (p->best_so_far > p->prev_best)
		suggest(sg, "The last iteration raised the best validation accuracy from %.1f%% to "
			    "%.1f%% (design %s): explore variations around it.",
			100 * p->prev_best, 100 * p->best_so_far, p->best_id ? p->best_id : "?");
	else
		suggest(sg, "The last iteration did not improve on the best validation accuracy "
			    "(%.1f%%): change direction (kernel sizes, activations, squeeze-excitation, "
			    "depth) rather than making small variations of the same design.",
			100 * p->best_so_far);
}

/* Suggestions from the front (front[0..nf), best first, nf > 0): budget left, the design to beat. */
static void suggest_from_front(cJSON *sg, cJSON **front, int nf, const struct feedback_opts *o)
{
	double max_macs = 0, max_flash = 0;
	for (int i = 0; i < nf; i++) {
		double m = record_number(front[i], "cost.macs", 0);
		double f = record_number(front[i], "cost.flash_bytes", 0);
		max_macs = m > max_macs ? m : max_macs;
		max_flash = f > max_flash ? f : max_flash;
	}
	char a[32], b[32];
	if (o->macs_max > 0 && max_macs < 0.5 * o->macs_max)
		suggest(sg, "The front uses at most %s of the %s MAC budget: larger designs (more "
			    "channels or layers in the middle blocks) may reach higher accuracy.",
			fmt_count(max_macs, a, sizeof a), fmt_count(o->macs_max, b, sizeof b));
	if (o->flash_max > 0 && max_flash > 0 && max_flash < 0.5 * o->flash_max)
		suggest(sg, "The front uses at most %s of the %s flash budget: there is room for "
			    "wider late blocks.",
			fmt_bytes(max_flash, a, sizeof a), fmt_bytes(o->flash_max, b, sizeof b));
	const cJSON *top = front[0];
	suggest(sg, "The most accurate feasible design so far, %s, reaches %.1f%% with %s MACs "
		    "and %s parameters; beat it, or match it at lower cost.",
		record_string(top, "id") ? record_string(top, "id") : "?",
		100 * record_number(top, "mini.val_acc", 0),
		fmt_count(record_number(top, "cost.macs", 0), a, sizeof a),
		fmt_count(record_number(top, "cost.params", 0), b, sizeof b));
}

/* The violated metrics of the rejections listed, and how often each (at most 8 metrics). */
struct metric_tally {
	char name[8][32];
	int count[8], n;
};

static void tally_metric(struct metric_tally *t, const char *metric)
{
	int k;
	for (k = 0; k < t->n && strcmp(t->name[k], metric); k++)
		;
	if (k == t->n && t->n < 8) {
		snprintf(t->name[t->n], sizeof t->name[t->n], "%s", metric);
		t->count[t->n++] = 0;
	}
	if (k < t->n)
		t->count[k]++;
}

/* One rejected record as {id, iteration, error, messages}, its metrics tallied. */
static cJSON *rejection(const cJSON *r, struct metric_tally *t)
{
	cJSON *e = cJSON_CreateObject();
	const char *id = record_string(r, "id");
	cJSON_AddStringToObject(e, "id", id ? id : "");
	copy_num(e, "iteration", r, "gen.iteration");
	const char *gerr = record_string(r, "gen.error");
	if (gerr)
		cJSON_AddStringToObject(e, "error", gerr);
	cJSON *msgs = cJSON_AddArrayToObject(e, "messages");
	const cJSON *v;
	cJSON_ArrayForEach(v, record_get(r, "check.violations")) {
		const char *msg = record_string(v, "message");
		const char *metric = record_string(v, "metric");
		if (msg)
			cJSON_AddItemToArray(msgs, cJSON_CreateString(msg));
		if (metric)
			tally_metric(t, metric);
	}
	return e;
}

/* rejections: the most recent ones (newest first), and a suggestion per violated metric. */
static void add_rejections(cJSON *fb, cJSON *sg, cJSON **recs, int n, int max)
{
	cJSON *rj = cJSON_AddArrayToObject(fb, "rejections");
	struct metric_tally t = {.n = 0};
	int listed = 0;
	for (int i = n - 1; i >= 0 && listed < max; i--)
		if (is_rejected(recs[i])) {
			cJSON_AddItemToArray(rj, rejection(recs[i], &t));
			listed++;
		}
	for (int k = 0; k < t.n; k++)
		suggest(sg, "%d of the %d most recent rejections broke the %s limit: %s.", t.count[k],
			listed, t.name[k], rejection_advice(t.name[k]));
}

/* population: for aging evolution, the last feasible evaluations (newest first). */
static void add_population(cJSON *fb, cJSON **recs, int n, int max)
{
	cJSON *pop = cJSON_AddArrayToObject(fb, "population");
	int taken = 0;
	for (int i = n - 1; i >= 0 && taken < max; i--) {
		if (!has_acc(recs[i]) || !record_get(recs[i], "arch"))
			continue;
		cJSON_AddItemToArray(pop, member(recs[i], 1));
		taken++;
	}
}

/* tried: every id, once, in the order first seen. */
static void add_tried(cJSON *fb, cJSON **recs, int n)
{
	cJSON *tried = cJSON_AddArrayToObject(fb, "tried");
	for (int i = 0; i < n; i++) {
		const char *id = record_string(recs[i], "id");
		if (!id)
			continue;
		int dup = 0;
		for (int j = 0; j < i && !dup; j++) {
			const char *other = record_string(recs[j], "id");
			dup = other && !strcmp(other, id);
		}
		if (!dup)
			cJSON_AddItemToArray(tried, cJSON_CreateString(id));
	}
}

cJSON *feedback_build(cJSON **recs, int n, const struct feedback_opts *o)
{
	struct pareto_set set;
	pareto_set_default(&set);
	double hv = 0;
	int nfront = pareto_mark(&set, recs, n, "mini.val_acc", &hv);

	cJSON *fb = cJSON_CreateObject();
	int last_iter;
	int evaluated = add_counts(fb, recs, n, nfront, &last_iter);
	cJSON_AddNumberToObject(fb, "hypervolume", hv);

	int nf;
	cJSON **front = front_by_accuracy(recs, n, &nf);
	cJSON *fa = cJSON_AddArrayToObject(fb, "front");
	for (int i = 0; i < nf && i < o->max_front; i++)
		cJSON_AddItemToArray(fa, member(front[i], 1));

	cJSON *avg = cJSON_AddObjectToObject(fb, "averages");
	add_avg(cJSON_AddObjectToObject(avg, "front"), recs, n, 1);
	add_avg(cJSON_AddObjectToObject(avg, "evaluated"), recs, n, 0);

	struct progress p;
	add_trend(fb, recs, n, last_iter, &p);

	cJSON *sg = cJSON_AddArrayToObject(fb, "suggestions");
	suggest_progress(sg, evaluated, &p);
	if (nf > 0)
		suggest_from_front(sg, front, nf, o);
	attribute_suggestion(sg, recs, n, "activation");
	attribute_suggestion(sg, recs, n, "conv_type");
	attribute_suggestion(sg, recs, n, "use_se");
	add_rejections(fb, sg, recs, n, o->max_rejections);

	add_population(fb, recs, n, o->population);
	add_tried(fb, recs, n);
	free(front);
	return fb;
}
