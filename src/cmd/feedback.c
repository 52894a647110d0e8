/* feedback — the search history summarised as one JSON object for gen-arch (feedback(1)).
 *
 *   feedback [options] [FILE...] > feedback.json
 *
 * Reads every record so far (stdin or the files, in order), writes one JSON object. */
#include "feedback.h"
#include "record.h"
#include "util.h"

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

static int read_all(FILE *f, const char *name, cJSON ***recs, int *n, int *cap)
{
	struct record_reader r;
	record_reader_init(&r, f, name);
	int bad = 0, st;
	cJSON *rec;
	while ((st = record_next(&r, &rec)) != 0) {
		if (st < 0) {
			bad++;
			continue;
		}
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			*recs = xrealloc(*recs, sizeof(cJSON *) * (size_t)*cap);
		}
		(*recs)[(*n)++] = rec;
	}
	record_reader_free(&r);
	return bad;
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
	cJSON **recs = NULL;
	int n = 0, cap = 0, bad = 0;
	if (i == argc)
		bad += read_all(stdin, "stdin", &recs, &n, &cap);
	for (; i < argc; i++) {
		FILE *f = fopen(argv[i], "r");
		if (!f)
			die("cannot open %s", argv[i]);
		bad += read_all(f, argv[i], &recs, &n, &cap);
		fclose(f);
	}
	cJSON *fb = feedback_build(recs, n, &o);
	char *text = cJSON_Print(fb);
	size_t len = strlen(text);
	text = xrealloc(text, len + 2);
	text[len++] = '\n';
	if (output) {
		if (write_file_atomic(output, text, len))
			die("cannot write %s", output);
	} else if (fwrite(text, 1, len, stdout) != len || fflush(stdout)) {
		die("write error on stdout");
	}
	free(text);
	cJSON_Delete(fb);
	for (int k = 0; k < n; k++)
		cJSON_Delete(recs[k]);
	free(recs);
	return bad ? EXIT_RECORDS : EXIT_OK;
}
