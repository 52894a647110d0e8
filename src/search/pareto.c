/* pareto.c — dominance, non-dominated sorting and hypervolume (see pareto.h). */
#include "search/pareto.h"
#include "core/status.h"
#include "core/record.h"
#include "cost/train_time.h"
#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pareto_set_default(struct pareto_set *s)
{
	char err[128];
	memset(s, 0, sizeof *s);
	pareto_add_objective(s, "mini.val_acc:max", err, sizeof err);
	pareto_add_objective(s, "cost.macs:min", err, sizeof err);
	pareto_add_objective(s, "cost.params:min", err, sizeof err);
}

int pareto_add_objective(struct pareto_set *s, const char *spec, char *err, size_t errlen)
{
	if (s->nobj >= PARETO_MAX_OBJ) {
		snprintf(err, errlen, "at most %d objectives", PARETO_MAX_OBJ);
		return -1;
	}
	const char *colon = strrchr(spec, ':');
	size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
	bool maximize = true;
	if (colon) {
		if (!strcmp(colon + 1, "max"))
			maximize = true;
		else if (!strcmp(colon + 1, "min"))
			maximize = false;
		else {
			snprintf(err, errlen, "objective '%s': the direction must be max or min", spec);
			return -1;
		}
	}
	if (len == 0 || len >= sizeof s->obj[0].path) {
		snprintf(err, errlen, "objective '%s': the path must be 1 to 63 characters", spec);
		return -1;
	}
	struct objective *o = &s->obj[s->nobj++];
	memset(o, 0, sizeof *o);
	memcpy(o->path, spec, len);
	o->path[len] = '\0';
	o->maximize = maximize;
	return 0;
}

int pareto_set_ref(struct pareto_set *s, const char *spec, char *err, size_t errlen)
{
	const char *eq = strchr(spec, '=');
	if (!eq) {
		snprintf(err, errlen, "reference '%s': expected path=value", spec);
		return -1;
	}
	size_t len = (size_t)(eq - spec);
	double value;
	if (parse_count(eq + 1, &value) != 0 && parse_bytes(eq + 1, &value) != 0 &&
	    parse_double(eq + 1, -1e300, 1e300, &value) != 0) {
		snprintf(err, errlen, "reference '%s': '%s' is not a number", spec, eq + 1);
		return -1;
	}
	for (int i = 0; i < s->nobj; i++) {
		if (strlen(s->obj[i].path) == len && !strncmp(s->obj[i].path, spec, len)) {
			s->obj[i].has_ref = true;
			s->obj[i].ref = value;
			return 0;
		}
	}
	snprintf(err, errlen, "reference '%s': no such objective", spec);
	return -1;
}

double pareto_train_minutes(const struct pareto_set *s, const cJSON *rec)
{
	struct train_time_features f;
	double us;
	char err[256];
	if (!record_get(rec, "arch") || train_time_record(rec, 0, 0, 0, &f, &us, err, sizeof err))
		return -1;
	return s->train_epochs * s->train_images * us / 60e6;
}

bool pareto_eligible(const struct pareto_set *s, const cJSON *rec, const char *acc_path, double *v)
{
	if (s->train_minutes_max > 0) {
		double m = pareto_train_minutes(s, rec);
		if (m < 0 || m > s->train_minutes_max)
			return false;
	}
	enum record_status st = record_status(rec, acc_path);
	if (st == STATUS_REJECTED || st == STATUS_FAILED)
		return false;
	for (int i = 0; i < s->nobj; i++) {
		const cJSON *x = record_get(rec, s->obj[i].path);
		if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble))
			return false;
		v[i] = x->valuedouble;
	}
	return true;
}

/* x better than y in objective o (strictly). */
static bool better(const struct objective *o, double x, double y)
{
	return o->maximize ? x > y : x < y;
}

bool pareto_dominates(const struct pareto_set *s, const double *a, const double *b)
{
	bool strictly = false;
	for (int i = 0; i < s->nobj; i++) {
		if (better(&s->obj[i], b[i], a[i]))
			return false;
		if (better(&s->obj[i], a[i], b[i]))
			strictly = true;
	}
	return strictly;
}

void pareto_rank(const struct pareto_set *s, const double *v, int n, int *rank)
{
	for (int i = 0; i < n; i++)
		rank[i] = -1;
	int left = n;
	for (int layer = 0; left > 0; layer++) {
		/* A point joins this layer when no unranked point (or one ranked in this same layer)
		 * dominates it. Mark first, then commit, so the layer is decided on the same set. */
		int *joins = xcalloc((size_t)(n ? n : 1), sizeof *joins);
		for (int i = 0; i < n; i++) {
			if (rank[i] >= 0)
				continue;
			bool dominated = false;
			for (int j = 0; j < n && !dominated; j++)
				if (j != i && rank[j] < 0 &&
				    pareto_dominates(s, &v[j * s->nobj], &v[i * s->nobj]))
					dominated = true;
			joins[i] = !dominated;
		}
		for (int i = 0; i < n; i++)
			if (joins[i]) {
				rank[i] = layer;
				left--;
			}
		free(joins);
	}
}

/* Gains: g[i][k] = how far point i improves on the reference in objective k (>= 0 counts). */
static double hv_rec(double *g, int n, int d, int nobj)
{
	if (n == 0)
		return 0;
	if (d == 1) {
		double m = 0;
		for (int i = 0; i < n; i++)
			if (g[i * nobj] > m)
				m = g[i * nobj];
		return m;
	}
	/* Sort by the last dimension, descending; sweep slices from the top down. */
	int last = d - 1;
	for (int i = 1; i < n; i++) /* insertion sort of whole rows */
		for (int j = i; j > 0 && g[(j - 1) * nobj + last] < g[j * nobj + last]; j--)
			for (int k = 0; k < nobj; k++) {
				double t = g[j * nobj + k];
				g[j * nobj + k] = g[(j - 1) * nobj + k];
				g[(j - 1) * nobj + k] = t;
			}
	double vol = 0;
	double *sub = xmalloc(sizeof(double) * (size_t)n * (size_t)nobj);
	for (int i = 0; i < n; i++) {
		double top = g[i * nobj + last];
		double bottom = i + 1 < n ? g[(i + 1) * nobj + last] : 0;
		if (top <= bottom)
			continue;
		/* The slice between bottom and top is covered by the first i+1 points. */
		memcpy(sub, g, sizeof(double) * (size_t)(i + 1) * (size_t)nobj);
		vol += (top - bottom) * hv_rec(sub, i + 1, d - 1, nobj);
	}
	free(sub);
	return vol;
}

double pareto_hypervolume(const struct pareto_set *s, const double *v, int n)
{
	int nobj = s->nobj;
	double *g = xmalloc(sizeof(double) * (size_t)(n ? n : 1) * (size_t)nobj);
	int m = 0;
	for (int i = 0; i < n; i++) {
		bool counts = true;
		for (int k = 0; k < nobj; k++) {
			const struct objective *o = &s->obj[k];
			double gain = o->maximize ? v[i * nobj + k] - o->ref : o->ref - v[i * nobj + k];
			if (!(gain > 0))
				counts = false;
			g[m * nobj + k] = gain;
		}
		if (counts)
			m++;
	}
	double hv = hv_rec(g, m, nobj, nobj);
	free(g);
	return hv;
}

void pareto_default_refs(struct pareto_set *s, const double *v, int n)
{
	for (int k = 0; k < s->nobj; k++) {
		struct objective *o = &s->obj[k];
		if (o->has_ref)
			continue;
		o->has_ref = true;
		if (o->maximize) {
			o->ref = 0;
			continue;
		}
		double m = 0;
		for (int i = 0; i < n; i++)
			if (v[i * s->nobj + k] > m)
				m = v[i * s->nobj + k];
		o->ref = 1.1 * m;
	}
}

int pareto_mark(struct pareto_set *s, cJSON **recs, int n, const char *acc_path, double *hv)
{
	int nobj = s->nobj;
	double *v = xmalloc(sizeof(double) * (size_t)(n ? n : 1) * (size_t)nobj);
	int *idx = xmalloc(sizeof(int) * (size_t)(n ? n : 1));
	int *rank = xmalloc(sizeof(int) * (size_t)(n ? n : 1));
	int m = 0;
	for (int i = 0; i < n; i++)
		if (pareto_eligible(s, recs[i], acc_path, &v[m * nobj]))
			idx[m++] = i;
	pareto_rank(s, v, m, rank);
	pareto_default_refs(s, v, m);

	/* The front's points for the hypervolume. */
	double *fv = xmalloc(sizeof(double) * (size_t)(m ? m : 1) * (size_t)nobj);
	int nf = 0;
	for (int j = 0; j < m; j++)
		if (rank[j] == 0)
			memcpy(&fv[nf++ * nobj], &v[j * nobj], sizeof(double) * (size_t)nobj);
	*hv = pareto_hypervolume(s, fv, nf);

	int best = -1;
	double best_acc = -INFINITY;
	for (int i = 0; i < n; i++) {
		const cJSON *a = record_get(recs[i], acc_path);
		if (cJSON_IsNumber(a) && isfinite(a->valuedouble) && a->valuedouble > best_acc) {
			best_acc = a->valuedouble;
			best = i;
		}
	}
	int j = 0;
	for (int i = 0; i < n; i++) {
		int r = -1;
		if (j < m && idx[j] == i)
			r = rank[j++];
		cJSON *p = record_stage(recs[i], "pareto");
		cJSON_AddBoolToObject(p, "front", r == 0);
		cJSON_AddNumberToObject(p, "rank", r);
		cJSON_AddBoolToObject(p, "best_acc", i == best);
		cJSON_AddStringToObject(p, "status", record_status_name(record_status(recs[i], acc_path)));
		if (s->train_minutes_max > 0) {
			double tm = pareto_train_minutes(s, recs[i]);
			if (tm >= 0)
				cJSON_AddNumberToObject(p, "train_minutes", tm);
		}
	}
	free(fv);
	free(rank);
	free(idx);
	free(v);
	return nf;
}

/* Adds {min, max, avg} of path over the front records to obj (nothing when none has it). */
static void add_stats(cJSON *obj, cJSON **recs, int n, const char *path)
{
	double lo = INFINITY, hi = -INFINITY, sum = 0;
	int count = 0;
	for (int i = 0; i < n; i++) {
		if (!cJSON_IsTrue(record_get(recs[i], "pareto.front")))
			continue;
		const cJSON *x = record_get(recs[i], path);
		if (!cJSON_IsNumber(x))
			continue;
		double d = x->valuedouble;
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		sum += d;
		count++;
	}
	if (!count)
		return;
	cJSON *st = cJSON_AddObjectToObject(obj, path);
	cJSON_AddNumberToObject(st, "min", lo);
	cJSON_AddNumberToObject(st, "max", hi);
	cJSON_AddNumberToObject(st, "avg", sum / count);
}

cJSON *pareto_summary(const struct pareto_set *s, cJSON **recs, int n, const char *acc_path,
		      double hv)
{
	int rejected = 0, failed = 0, evaluated = 0, front = 0;
	const cJSON *best = NULL;
	for (int i = 0; i < n; i++) {
		enum record_status st = record_status(recs[i], acc_path);
		rejected += st == STATUS_REJECTED;
		failed += st == STATUS_FAILED;
		evaluated += st == STATUS_EVALUATED;
		if (cJSON_IsTrue(record_get(recs[i], "pareto.front")))
			front++;
		if (cJSON_IsTrue(record_get(recs[i], "pareto.best_acc")))
			best = recs[i];
	}
	cJSON *sum = cJSON_CreateObject();
	cJSON *c = cJSON_AddObjectToObject(sum, "counts");
	cJSON_AddNumberToObject(c, "records", n);
	cJSON_AddNumberToObject(c, "evaluated", evaluated);
	cJSON_AddNumberToObject(c, "rejected", rejected);
	cJSON_AddNumberToObject(c, "failed", failed);
	cJSON_AddNumberToObject(c, "front", front);
	cJSON *objs = cJSON_AddArrayToObject(sum, "objectives");
	cJSON *ref = cJSON_AddObjectToObject(sum, "reference");
	for (int k = 0; k < s->nobj; k++) {
		char spec[80];
		snprintf(spec, sizeof spec, "%s:%s", s->obj[k].path, s->obj[k].maximize ? "max" : "min");
		cJSON_AddItemToArray(objs, cJSON_CreateString(spec));
		cJSON_AddNumberToObject(ref, s->obj[k].path, s->obj[k].ref);
	}
	cJSON_AddNumberToObject(sum, "hypervolume", hv);
	/* Each minimised objective as a fraction of its reference (budget): comparable across runs,
	 * in [0, 1] when the maximised objective is an accuracy fraction with reference 0. */
	double scale = 1;
	for (int k = 0; k < s->nobj; k++)
		if (!s->obj[k].maximize && s->obj[k].ref > 0)
			scale *= s->obj[k].ref;
	cJSON_AddNumberToObject(sum, "hypervolume_normalized", hv / scale);
	cJSON *fs = cJSON_AddObjectToObject(sum, "front");
	static const char *const extra[] = { "mini.val_acc", "cost.macs", "cost.params",
		"cost.flash_bytes", "cost.peak_sram_bytes", "cost.arena_bytes" };
	for (int k = 0; k < s->nobj; k++)
		add_stats(fs, recs, n, s->obj[k].path);
	for (size_t e = 0; e < sizeof extra / sizeof extra[0]; e++)
		if (!cJSON_GetObjectItemCaseSensitive(fs, extra[e]))
			add_stats(fs, recs, n, extra[e]);
	if (best) {
		cJSON *b = cJSON_AddObjectToObject(sum, "best_acc");
		const char *id = record_string(best, "id");
		cJSON_AddStringToObject(b, "id", id ? id : "");
		cJSON_AddNumberToObject(b, "value", record_number(best, acc_path, 0));
		const cJSON *ok = record_get(best, "check.ok");
		cJSON_AddBoolToObject(b, "feasible", !(ok && cJSON_IsFalse(ok)));
		cJSON_AddBoolToObject(b, "on_front",
				      cJSON_IsTrue(record_get(best, "pareto.front")));
	}
	return sum;
}
