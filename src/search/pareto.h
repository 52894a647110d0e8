/* pareto.h — multi-objective ranking of evaluated records: dominance, non-dominated sorting,
 * hypervolume, and summary statistics (pareto(1), feedback(1)).
 *
 * Objectives are dotted record paths with a direction ("mini.val_acc:max", "cost.macs:min").
 * A record is eligible for the front when it has every objective as a number, is not a constraint
 * violator (check.ok is not false), its evaluation did not fail (no mini.error) and, when a
 * training-time limit is set, its estimated training fits it. */
#ifndef LMNAS_PARETO_H
#define LMNAS_PARETO_H
#include <stdbool.h>
#include <cJSON.h>

#define PARETO_MAX_OBJ 8

struct objective {
	char path[64]; /* dotted record path, e.g. "cost.macs" */
	bool maximize;
	bool has_ref;  /* reference point for the hypervolume given */
	double ref;
};

struct pareto_set {
	int nobj;
	struct objective obj[PARETO_MAX_OBJ];
	/* Training-time constraint (off when train_minutes_max is 0): a record is eligible only when
	 * train_epochs epochs of train_images images fit train_minutes_max minutes by the estimate of
	 * train_time.h (deterministic: nothing is timed). */
	double train_minutes_max, train_epochs, train_images;
};

/* The default objectives: mini.val_acc (max), cost.macs (min), cost.params (min). */
void pareto_set_default(struct pareto_set *s);
/* Adds an objective from "path:max" or "path:min" (":max" may be left out for "max").
 * Returns 0, or -1 with a reason in err. */
int pareto_add_objective(struct pareto_set *s, const char *spec, char *err, size_t errlen);
/* Sets the reference point of an objective from "path=value". Returns 0, or -1 with a reason. */
int pareto_set_ref(struct pareto_set *s, const char *spec, char *err, size_t errlen);

/* The estimated minutes of s's training-time constraint for rec (its arch at cost.resolution and
 * cost.classes), or -1 when it has no arch that can be estimated. */
double pareto_train_minutes(const struct pareto_set *s, const cJSON *rec);

/* True when rec can enter the front: not rejected nor failed for acc_path (src/core/status.h), within
 * the training-time constraint when set, and every objective a finite number; fills v[nobj] with
 * its objective values. */
bool pareto_eligible(const struct pareto_set *s, const cJSON *rec, const char *acc_path, double *v);

/* a dominates b: no worse in every objective and strictly better in one. */
bool pareto_dominates(const struct pareto_set *s, const double *a, const double *b);

/* Non-dominated sorting of n points (v: [n][nobj]): rank[i] = 0 for the front, 1 for the next
 * layer, ... O(n² · layers), fine for the few thousand records of a search. */
void pareto_rank(const struct pareto_set *s, const double *v, int n, int *rank);

/* Hypervolume of the points (v: [n][nobj]) against the reference point of s: the volume of the
 * union of the boxes between each point and the reference, in the objectives' own units. Points
 * that do not improve on the reference in every objective add nothing. Exact (slicing), for
 * fronts of up to a few hundred points. */
double pareto_hypervolume(const struct pareto_set *s, const double *v, int n);

/* Fills in missing references: 0 for a maximised objective, 1.1 × the largest value seen for a
 * minimised one (v: [n][nobj]). */
void pareto_default_refs(struct pareto_set *s, const double *v, int n);
#endif

/* Ranks the records and writes each one's "pareto" key: {front, rank, best_acc, status} (and
 * train_minutes when a training-time limit is set), status being record_status_name's word for
 * acc_path (src/core/status.h); rank is -1 for a
 * record that cannot enter the front. best_acc marks the record with the highest acc_path value
 * among all records with one (feasible or not, as the paper does). Missing references are filled
 * in (pareto_default_refs). Returns the front size; *hv gets the front's hypervolume. */
int pareto_mark(struct pareto_set *s, cJSON **recs, int n, const char *acc_path, double *hv);

/* After pareto_mark: counts, the reference point and hypervolume, and min/max/avg over the front
 * of every objective and of the usual cost metrics (the paper's Table III). */
cJSON *pareto_summary(const struct pareto_set *s, cJSON **recs, int n, const char *acc_path,
		      double hv);
