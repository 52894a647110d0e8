/* feedback — the search history summarised as one JSON object for gen-arch (feedback(1)).
 *
 *   feedback [options] [FILE...] > feedback.json
 *
 * Reads every record so far (stdin or the files, in order), writes one JSON object. */
#include "search/feedback.h"
#include "core/record.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: feedback [options] [FILE...] > feedback.json\n"
		"Reads the search history (candidates, rejected and evaluated records) and writes one\n"
		"JSON object for gen-arch --feedback: the Pareto front with metrics and archs, averages,\n"
		"trend per iteration, targeted suggestions, recent rejections with their messages, the\n"
		"recent population (aging evolution) and every id tried.\n"
		"  --max-front N       front members listed, best accuracy first (default 8)\n"
		"  --max-rejections N  recent rejections listed (default 8)\n"
		"  --population N      recent feasible evaluations listed (default 16)\n"
		"  --macs-max N        MAC budget (350M), for headroom suggestions\n"
		"  --flash-max BYTES   flash budget (256KiB), for headroom suggestions\n"
		"  --sram-max BYTES    SRAM budget, recorded in the output\n"
		"  -o, --output FILE   write there atomically instead of stdout\n"
		"  --help              this text\n");
}

int main(int argc, char **argv)
{
	util_init(argv[0]);
	struct feedback_opts o;
	feedback_opts_init(&o);
	const char *output = NULL;
	int i;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		long v;
		if (!strcmp(a, "--help")) {
			usage(stdout);
			return EXIT_OK;
		}
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (i + 1 >= argc) {
			usage(stderr);
			die("%s needs a value", a);
		}
		const char *val = argv[++i];
		if (!strcmp(a, "--max-front") || !strcmp(a, "--max-rejections") ||
		    !strcmp(a, "--population")) {
			if (parse_int(val, 0, 1000, &v))
				die("%s: '%s' is not a whole number in [0, 1000]", a, val);
			if (!strcmp(a, "--max-front"))
				o.max_front = (int)v;
			else if (!strcmp(a, "--max-rejections"))
				o.max_rejections = (int)v;
			else
				o.population = (int)v;
		} else if (!strcmp(a, "--macs-max")) {
			if (parse_count(val, &o.macs_max) || o.macs_max < 0)
				die("--macs-max: '%s' is not a count", val);
		} else if (!strcmp(a, "--flash-max")) {
			if (parse_bytes(val, &o.flash_max) || o.flash_max < 0)
				die("--flash-max: '%s' is not a size", val);
		} else if (!strcmp(a, "--sram-max")) {
			if (parse_bytes(val, &o.sram_max) || o.sram_max < 0)
				die("--sram-max: '%s' is not a size", val);
		} else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
			output = val;
		} else {
			usage(stderr);
			die("unknown option %s", a);
		}
	}
	struct record_list in = {0};
	int bad = record_read_inputs(argv + i, argc - i, &in);
	cJSON *fb = feedback_build(in.recs, in.n, &o);
	if (record_save_document(output, fb)) {
		if (output)
			die("cannot write %s", output);
		die("write error on stdout");
	}
	cJSON_Delete(fb);
	record_list_free(&in);
	return bad ? EXIT_RECORDS : EXIT_OK;
}
