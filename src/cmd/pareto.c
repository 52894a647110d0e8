/* pareto — marks the Pareto front of evaluated records (pareto(1)).
 *
 *   pareto [--objective PATH:max|min]... [--ref PATH=VALUE]... [--front] [--summary FILE]
 *          [--acc PATH] [--train-minutes M --train-images N [--train-epochs E]] [FILE...]
 *
 * Reads every record (stdin or the files), ranks them and writes each with a "pareto" key:
 * {front, rank, best_acc}. Exit 0, 1 when some input lines were skipped, 2 on usage/I-O errors. */
#include "search/pareto.h"
#include "core/record.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pareto [options] [FILE...] < records > records\n"
		"Marks the Pareto front of evaluated records: adds pareto.front, pareto.rank (0 = front,\n"
		"1 = next layer, -1 = not eligible) and pareto.best_acc. Constraint violators\n"
		"(check.ok false) and failed evaluations (mini.error) never enter the front.\n"
		"  --objective PATH:max|min  an objective (repeat; the first replaces the defaults\n"
		"                            mini.val_acc:max cost.macs:min cost.params:min)\n"
		"  --ref PATH=VALUE          hypervolume reference for an objective (default 0 for\n"
		"                            max, 1.1 x the largest value seen for min)\n"
		"  --acc PATH                metric of the best-accuracy mark (default mini.val_acc)\n"
		"  --train-minutes M         a training-time limit: a record enters the front only when\n"
		"                            --train-epochs E (1) epochs of --train-images N images\n"
		"                            fit M minutes by the estimate of check-cost --train-time\n"
		"                            (one thread, batch 128; nothing is timed); adds\n"
		"                            pareto.train_minutes\n"
		"  --front                   write only the front\n"
		"  --summary FILE            write counts, reference point, hypervolume and the front's\n"
		"                            min/max/avg per metric as one JSON object\n"
		"  --help                    this text\n");
}

int main(int argc, char **argv)
{
	util_init(argv[0]);
	struct pareto_set set;
	memset(&set, 0, sizeof set);
	const char *refs[PARETO_MAX_OBJ];
	int nrefs = 0, front_only = 0;
	const char *summary = NULL, *acc = "mini.val_acc";
	double tmin = 0, tepochs = 1, timages = 0;
	char err[256];
	int i;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(a, "--front")) {
			front_only = 1;
		} else if (!strcmp(a, "--") ) {
			i++;
			break;
		} else if (a[0] == '-' && a[1] == '-' && i + 1 < argc) {
			const char *v = argv[++i];
			if (!strcmp(a, "--objective")) {
				if (pareto_add_objective(&set, v, err, sizeof err))
					die("%s", err);
			} else if (!strcmp(a, "--ref")) {
				if (nrefs == PARETO_MAX_OBJ)
					die("too many --ref");
				refs[nrefs++] = v;
			} else if (!strcmp(a, "--summary")) {
				summary = v;
			} else if (!strcmp(a, "--acc")) {
				acc = v;
			} else if (!strcmp(a, "--train-minutes")) {
				if (parse_double(v, 1e-9, 1e9, &tmin))
					die("--train-minutes: '%s' is not a positive number", v);
			} else if (!strcmp(a, "--train-epochs")) {
				if (parse_double(v, 1e-9, 1e9, &tepochs))
					die("--train-epochs: '%s' is not a positive number", v);
			} else if (!strcmp(a, "--train-images")) {
				if (parse_double(v, 1, 1e12, &timages))
					die("--train-images: '%s' is not a positive number", v);
			} else {
				usage(stderr);
				die("unknown option %s", a);
			}
		} else if (a[0] == '-' && a[1] != '\0') {
			usage(stderr);
			die("unknown option or missing value: %s", a);
		} else {
			break;
		}
	}
	if (set.nobj == 0)
		pareto_set_default(&set);
	if ((tmin > 0) != (timages > 0))
		die("--train-minutes and --train-images go together");
	set.train_minutes_max = tmin;
	set.train_epochs = tepochs;
	set.train_images = timages;
	for (int k = 0; k < nrefs; k++)
		if (pareto_set_ref(&set, refs[k], err, sizeof err))
			die("%s", err);

	struct record_list in = {0};
	int bad = record_read_inputs(argv + i, argc - i, &in);
	double hv = 0;
	int nf = pareto_mark(&set, in.recs, in.n, acc, &hv);
	for (int k = 0; k < in.n; k++) {
		if (front_only && !cJSON_IsTrue(record_get(in.recs[k], "pareto.front")))
			continue;
		if (record_write(stdout, in.recs[k]))
			die("write error on stdout");
	}
	if (summary) {
		cJSON *s = pareto_summary(&set, in.recs, in.n, acc, hv);
		if (record_save_document(summary, s))
			die("cannot write %s", summary);
		cJSON_Delete(s);
	}
	log_info("%d records, %d on the front, hypervolume %.6g", in.n, nf, hv);
	record_list_free(&in);
	return bad ? EXIT_RECORDS : EXIT_OK;
}
