/* gen-arch — proposes candidate architectures (gen-arch(1)).
 *
 *   gen-arch [--strategy random|evolve|llm] [--count N] [--feedback FILE] [--seed N]
 *            [check options] [llm options] > candidates.jsonl
 *
 * Writes one record per candidate: {id, arch, gen, resolution, classes, cost, check}. Every arch is
 * checked with the same code as check-cost before it is written; one that cannot be made to pass
 * is written with gen.error and check.ok false. Exit 0, 1 when some candidate failed, 2 on usage
 * or I/O errors. */
#include "search/gen.h"
#include "search/prompt.h"
#include "core/options.h"
#include "core/record.h"
#include "core/util.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The program's own settings (the check and LLM options have their own structs). */
struct gen_args {
	const char *strategy, *feedback, *prompts, *dataset;
	long count, iteration, seed, in_ch, max_tries, tourn, retries;
	int explain;
};

static const char about[] =
	"usage: gen-arch [options] > candidates.jsonl\n"
	"Proposes architectures, checks each with the shared check (the options of check-cost)\n"
	"and writes them as records {id, arch, gen, resolution, classes, cost, check}.\n";

static const char footer[] = "<data> is $LMNAS_DATA, else the data/ folder next to bin/.\n";

#define AT(field) offsetof(struct gen_args, field)
static const struct opt gen_options[] = {
	{"strategy", "S", OPT_STRING, AT(strategy), 0, 0, "random | evolve (default) | llm"},
	{"count", "N", OPT_LONG, AT(count), 0, 100000, "candidates to write (default 1)"},
	{"feedback", "FILE", OPT_STRING, AT(feedback), 0, 0,
	 "feedback(1) object: the front, population, rejections, tried ids"},
	{"iteration", "N", OPT_LONG, AT(iteration), 0, 1000000, "stored in gen.iteration (default 1)"},
	{"seed", "N", OPT_LONG, AT(seed), 0, 0x7fffffffL,
	 "random and evolve are reproducible with the same seed (default 1)"},
	{"input-channels", "N", OPT_LONG, AT(in_ch), 1, ARCH_MAX_IN_CH,
	 "of the arch (default 3; 1 for Fashion-MNIST)"},
	{"max-tries", "N", OPT_LONG, AT(max_tries), 1, 10000000,
	 "random/evolve samples per candidate before giving up (2000)"},
	{"tournament", "N", OPT_LONG, AT(tourn), 1, 1000, "evolve: tournament size (default 4)"},
	{"help", NULL, OPT_HELP, 0, 0, 0, "this text"},
	{NULL, NULL, OPT_NONE, 0, 0, 0,
	 "LLM (an OpenAI-compatible server: llama.cpp's llama-server, Ollama, vLLM):"},
	{"max-retries", "N", OPT_LONG, AT(retries), 0, 100,
	 "answers sent back with their parse or check error (default 3)"},
	{"explain", NULL, OPT_FLAG, AT(explain), 0, 0,
	 "ask why the design was chosen; stored in gen.explanation"},
	{"dataset", "NAME", OPT_STRING, AT(dataset), 0, 0, "named in the prompt (default Fashion-MNIST)"},
	{"prompts", "DIR", OPT_STRING, AT(prompts), 0, 0, "prompt templates (default <data>/prompts)"},
	{0},
};
#undef AT

static int set_no_schema(void *base, const char *v, char *err, size_t errlen)
{
	(void)v, (void)err, (void)errlen;
	((struct llm_opts *)base)->use_schema = false;
	return 0;
}

#define AT(field) offsetof(struct llm_opts, field)
static const struct opt llm_options[] = {
	{"llm", "URL", OPT_STRING, AT(base_url), 0, 0,
	 "base URL (default $LMNAS_LLM_URL or http://127.0.0.1:8080);\n"
	 "the key, if any, comes from LMNAS_API_KEY and is never printed"},
	{"model", "NAME", OPT_STRING, AT(model), 0, 0,
	 "model name (default $LMNAS_LLM_MODEL or \"default\")"},
	{"temperature", "T", OPT_DOUBLE, AT(temperature), 0, 10, "default 1.5"},
	{"min-p", "P", OPT_DOUBLE, AT(min_p), 0, 1, "default 0.1"},
	{"timeout", "S", OPT_DOUBLE, AT(timeout_s), 0.01, 86400, "per request (default 120)"},
	{"http-retries", "N", OPT_INT, AT(http_retries), 0, 100,
	 "retries after an HTTP error or timeout, with backoff (default 3)"},
	{"backoff", "S", OPT_DOUBLE, AT(backoff_s), 0, 3600,
	 "first backoff wait, doubled each time (default 1)"},
	{"no-schema", NULL, OPT_CALL, 0, 0, 0, "do not send a JSON schema in response_format", 0,
	 set_no_schema},
	{"transcripts", "DIR", OPT_STRING, AT(transcripts), 0, 0,
	 "append every request and answer to DIR/llm.jsonl"},
	{0},
};
#undef AT

static const struct opt check_heading[] = {
	{NULL, NULL, OPT_NONE, 0, 0, 0,
	 "Check options (as check-cost; --space defaults to <data>/search-space.json):"},
	{0},
};

/* Reads the feedback(1) object at PATH into g (the front, population, rejections, tried ids);
 * returns it, to be deleted when the candidates are written. */
static cJSON *load_feedback(struct gen_ctx *g, const char *path)
{
	const char *why;
	char *text = read_file(path, 64u << 20, NULL, &why);
	if (!text)
		die("--feedback %s: %s", path, why);
	cJSON *fb = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsObject(fb))
		die("--feedback %s: not a JSON object", path);
	g->feedback = fb;
	gen_remember_feedback(g);
	return fb;
}

/* What the llm strategy holds beside g: the prompt templates, the search space's text, the client. */
struct llm_setup {
	struct llm_client client;
	char *tmpl[4]; /* system, generate, retry, explain */
	char *space_text;
};

/* Loads the prompt templates from PROMPTS (else DATA/prompts) and the space file's text, and
 * opens the model server's client; dies with a message naming the file or server that failed. */
static void llm_setup_open(struct llm_setup *ls, struct gen_ctx *g, struct llm_opts *lo,
			   const char *prompts, const char *data, const char *space_file)
{
	char pdir[PATH_MAX + 16], err[512];
	if (prompts)
		snprintf(pdir, sizeof pdir, "%s", prompts);
	else
		snprintf(pdir, sizeof pdir, "%s/prompts", data);
	static const char *const names[] = { "system", "generate", "retry", "explain" };
	for (int k = 0; k < 4; k++)
		if (!(ls->tmpl[k] = prompt_template(pdir, names[k], err, sizeof err)))
			die("%s", err);
	g->tmpl_system = ls->tmpl[0];
	g->tmpl_generate = ls->tmpl[1];
	g->tmpl_retry = ls->tmpl[2];
	g->tmpl_explain = ls->tmpl[3];
	const char *why;
	if (!(ls->space_text = read_file(space_file, 1 << 20, NULL, &why)))
		die("%s: %s", space_file, why);
	g->space_text = ls->space_text;
	if (lo->transcripts)
		mkdir(lo->transcripts, 0755);
	if (llm_open(&ls->client, lo, err, sizeof err))
		die("%s", err);
	g->llm = &ls->client;
	g->model = lo->model;
}

static void llm_setup_close(struct llm_setup *ls)
{
	llm_close(&ls->client);
	for (int k = 0; k < 4; k++)
		free(ls->tmpl[k]);
	free(ls->space_text);
}

/* Writes COUNT candidates of STRATEGY to stdout; returns how many carry gen.error. */
static int write_candidates(struct gen_ctx *g, const char *strategy, long count)
{
	int failed = 0;
	for (long k = 0; k < count; k++) {
		cJSON *rec = !strcmp(strategy, "llm")	  ? strategy_llm_next(g)
			     : !strcmp(strategy, "random") ? strategy_random_next(g)
							   : strategy_evolve_next(g);
		if (record_get(rec, "gen.error")) {
			failed++;
			log_error("candidate %ld: %s", k + 1, record_string(rec, "gen.error"));
		}
		if (record_write(stdout, rec))
			die("write error on stdout");
		cJSON_Delete(rec);
	}
	return failed;
}

/* The search's state from the options: budgets and space (CHECK), strategy settings (GA). */
static void gen_ctx_init(struct gen_ctx *g, struct check_opts *check, const struct gen_args *ga)
{
	memset(g, 0, sizeof *g);
	g->check = check;
	g->space = check->space;
	g->input_channels = (int)ga->in_ch;
	g->iteration = (int)ga->iteration;
	g->max_tries = (int)ga->max_tries;
	g->tournament = (int)ga->tourn;
	g->fresh_prob = 0.1;
	g->max_retries = (int)ga->retries;
	g->explain = ga->explain;
	g->dataset = ga->dataset;
	prng_seed(&g->rng, (uint64_t)ga->seed);
}

int main(int argc, char **argv)
{
	util_init(argv[0]);
	struct check_opts check;
	check_opts_init(&check);
	struct llm_opts lo;
	llm_opts_init(&lo);
	if (getenv("LMNAS_LLM_URL") && *getenv("LMNAS_LLM_URL"))
		lo.base_url = getenv("LMNAS_LLM_URL");
	if (getenv("LMNAS_LLM_MODEL") && *getenv("LMNAS_LLM_MODEL"))
		lo.model = getenv("LMNAS_LLM_MODEL");
	struct gen_args ga = {.strategy = "evolve", .dataset = "Fashion-MNIST", .count = 1,
			      .iteration = 1, .seed = 1, .in_ch = 3, .max_tries = 2000, .tourn = 4,
			      .retries = 3};
	struct opt_program prog = {about, footer, 0, {{gen_options, &ga, NULL}, {llm_options, &lo, NULL},
						      {check_heading, NULL, NULL},
						      {check_opt_table, &check, NULL}}};
	options_parse(&prog, argc, argv);
	bool is_llm = !strcmp(ga.strategy, "llm");
	if (!is_llm && strcmp(ga.strategy, "random") && strcmp(ga.strategy, "evolve"))
		die("--strategy must be random, evolve or llm, not '%s'", ga.strategy);

	char data[PATH_MAX], path[PATH_MAX + 64], err[512];
	data_dir(data, sizeof data, NULL);
	if (!check.space) {
		snprintf(path, sizeof path, "%s/search-space.json", data);
		if (check_opts_load_space(&check, path, err, sizeof err))
			die("cannot load the default search space %s (give --space FILE): %s", path, err);
	}

	struct gen_ctx g;
	gen_ctx_init(&g, &check, &ga);
	cJSON *fb = ga.feedback ? load_feedback(&g, ga.feedback) : NULL;
	struct llm_setup ls = {0};
	if (is_llm)
		llm_setup_open(&ls, &g, &lo, ga.prompts, data, check.space_path);

	int failed = write_candidates(&g, ga.strategy, ga.count);

	if (is_llm)
		llm_setup_close(&ls);
	free(g.ids);
	cJSON_Delete(g.proposed);
	cJSON_Delete(fb);
	check_opts_free(&check);
	return failed ? EXIT_RECORDS : EXIT_OK;
}
