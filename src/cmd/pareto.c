/* pareto — marks the Pareto front of evaluated records (pareto(1)).
 *
 *   pareto [--objective PATH:max|min]... [--ref PATH=VALUE]... [--front] [--summary FILE]
 *          [--acc PATH] [--train-minutes M --train-images N [--train-epochs E]] [FILE...]
 *
 * Reads every record (stdin or the files), ranks them and writes each with a "pareto" key:
 * {front, rank, best_acc}. Exit 0, 1 when some input lines were skipped, 2 on usage/I-O errors. */
#include "search/pareto.h"
#include "core/options.h"
#include "core/record.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char about[] =
	"usage: pareto [options] [FILE...] < records > records\n"
	"Marks the Pareto front of evaluated records: adds pareto.front, pareto.rank (0 = front,\n"
	"1 = next layer, -1 = not eligible) and pareto.best_acc. Constraint violators\n"
	"(check.ok false) and failed evaluations (mini.error) never enter the front.\n";

struct args {
	struct pareto_set set;
	const char *refs[PARETO_MAX_OBJ];
	int nrefs, front_only;
	const char *summary, *acc;
	double tmin, tepochs, timages;
};

static int add_objective(void *base, const char *v, char *err, size_t errlen)
{
	return pareto_add_objective(&((struct args *)base)->set, v, err, errlen);
}

/* --ref: kept until the objectives are known (it names one of them). */
static int add_ref(void *base, const char *v, char *err, size_t errlen)
{
	struct args *a = base;
	if (a->nrefs == PARETO_MAX_OBJ)
		return fail(err, errlen, "more than %d", PARETO_MAX_OBJ);
	a->refs[a->nrefs++] = v;
	return 0;
}

#define AT(field) offsetof(struct args, field)
static const struct opt options[] = {
	{"objective", "PATH:max|min", OPT_CALL, 0, 0, 0,
	 "an objective (repeat; the first replaces the defaults\n"
	 "mini.val_acc:max cost.macs:min cost.params:min)", 0, add_objective},
	{"ref", "PATH=VALUE", OPT_CALL, 0, 0, 0,
	 "hypervolume reference for an objective (default 0 for\n"
	 "max, 1.1 x the largest value seen for min)", 0, add_ref},
	{"acc", "PATH", OPT_STRING, AT(acc), 0, 0, "metric of the best-accuracy mark (default mini.val_acc)"},
	{"train-minutes", "M", OPT_DOUBLE, AT(tmin), 1e-9, 1e9,
	 "a training-time limit: a record enters the front only when\n"
	 "--train-epochs E (1) epochs of --train-images N images\n"
	 "fit M minutes by the estimate of check-cost --train-time\n"
	 "(one thread, batch 128; nothing is timed); adds\n"
	 "pareto.train_minutes"},
	{"train-images", "N", OPT_DOUBLE, AT(timages), 1, 1e12, "with --train-minutes: images per epoch"},
	{"train-epochs", "E", OPT_DOUBLE, AT(tepochs), 1e-9, 1e9, "with --train-minutes: epochs (default 1)"},
	{"front", NULL, OPT_FLAG, AT(front_only), 0, 0, "write only the front"},
	{"summary", "FILE", OPT_STRING, AT(summary), 0, 0,
	 "write counts, reference point, hypervolume and the front's\n"
	 "min/max/avg per metric as one JSON object"},
	{"help", NULL, OPT_HELP, 0, 0, 0, "this text"},
	{0},
};
#undef AT

int main(int argc, char **argv)
{
	util_init(argv[0]);
	struct args a;
	memset(&a, 0, sizeof a);
	a.acc = "mini.val_acc";
	a.tepochs = 1;
	char err[256];
	struct opt_program prog = {about, NULL, -1, {{options, &a, NULL}}};
	int nfiles = options_parse(&prog, argc, argv);
	struct pareto_set *set = &a.set;
	if (set->nobj == 0)
		pareto_set_default(set);
	if ((a.tmin > 0) != (a.timages > 0))
		die("--train-minutes and --train-images go together");
	set->train_minutes_max = a.tmin;
	set->train_epochs = a.tepochs;
	set->train_images = a.timages;
	for (int k = 0; k < a.nrefs; k++)
		if (pareto_set_ref(set, a.refs[k], err, sizeof err))
			die("%s", err);

	struct record_list in = {0};
	int bad = record_read_inputs(argv + 1, nfiles, &in);
	double hv = 0;
	int nf = pareto_mark(set, in.recs, in.n, a.acc, &hv);
	for (int k = 0; k < in.n; k++) {
		if (a.front_only && !cJSON_IsTrue(record_get(in.recs[k], "pareto.front")))
			continue;
		if (record_write(stdout, in.recs[k]))
			die("write error on stdout");
	}
	if (a.summary) {
		cJSON *s = pareto_summary(set, in.recs, in.n, a.acc, hv);
		if (record_save_document(a.summary, s))
			die("cannot write %s", a.summary);
		cJSON_Delete(s);
	}
	log_info("%d records, %d on the front, hypervolume %.6g", in.n, nf, hv);
	record_list_free(&in);
	return bad ? EXIT_RECORDS : EXIT_OK;
}
