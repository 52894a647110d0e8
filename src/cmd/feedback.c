/* feedback — the search history summarised as one JSON object for gen-arch (feedback(1)).
 *
 *   feedback [options] [FILE...] > feedback.json
 *
 * Reads every record so far (stdin or the files, in order), writes one JSON object. */
#include "search/feedback.h"
#include "core/options.h"
#include "core/record.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char about[] =
	"usage: feedback [options] [FILE...] > feedback.json\n"
	"Reads the search history (candidates, rejected and evaluated records) and writes one\n"
	"JSON object for gen-arch --feedback: the Pareto front with metrics and archs, averages,\n"
	"trend per iteration, targeted suggestions, recent rejections with their messages, the\n"
	"recent population (aging evolution) and every id tried.\n";

struct args {
	struct feedback_opts o;
	const char *output;
};

#define AT(field) offsetof(struct args, field)
static const struct opt options[] = {
	{"max-front", "N", OPT_INT, AT(o.max_front), 0, 1000,
	 "front members listed, best accuracy first (default 8)"},
	{"max-rejections", "N", OPT_INT, AT(o.max_rejections), 0, 1000,
	 "recent rejections listed (default 8)"},
	{"population", "N", OPT_INT, AT(o.population), 0, 1000,
	 "recent feasible evaluations listed (default 16)"},
	{"macs-max", "N", OPT_COUNT, AT(o.macs_max), 0, 1e18,
	 "MAC budget (350M), for headroom suggestions"},
	{"flash-max", "BYTES", OPT_BYTES, AT(o.flash_max), 0, 1e18,
	 "flash budget (256KiB), for headroom suggestions"},
	{"sram-max", "BYTES", OPT_BYTES, AT(o.sram_max), 0, 1e18, "SRAM budget, recorded in the output"},
	{"output", "FILE", OPT_STRING, AT(output), 0, 0, "write there atomically instead of stdout", 0,
	 NULL, 'o'},
	{"help", NULL, OPT_HELP, 0, 0, 0, "this text"},
	{0},
};
#undef AT

int main(int argc, char **argv)
{
	util_init(argv[0]);
	struct args a = {.output = NULL};
	feedback_opts_init(&a.o);
	struct opt_program prog = {about, NULL, -1, {{options, &a, NULL}}};
	int nfiles = options_parse(&prog, argc, argv);
	struct record_list in = {0};
	int bad = record_read_inputs(argv + 1, nfiles, &in);
	cJSON *fb = feedback_build(in.recs, in.n, &a.o);
	if (record_save_document(a.output, fb)) {
		if (a.output)
			die("cannot write %s", a.output);
		die("write error on stdout");
	}
	cJSON_Delete(fb);
	record_list_free(&in);
	return bad ? EXIT_RECORDS : EXIT_OK;
}
