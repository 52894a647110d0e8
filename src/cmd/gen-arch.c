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
#include "core/record.h"
#include "core/util.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gen-arch [options] > candidates.jsonl\n"
		"Proposes architectures, checks each with the shared check (the options of check-cost)\n"
		"and writes them as records {id, arch, gen, resolution, classes, cost, check}.\n"
		"  --strategy S        random | evolve (default) | llm\n"
		"  --count N           candidates to write (default 1)\n"
		"  --feedback FILE     feedback(1) object: the front, population, rejections, tried ids\n"
		"  --iteration N       stored in gen.iteration (default 1)\n"
		"  --seed N            random and evolve are reproducible with the same seed (default 1)\n"
		"  --input-channels N  of the arch (default 3; 1 for Fashion-MNIST)\n"
		"  --max-tries N       random/evolve samples per candidate before giving up (2000)\n"
		"  --tournament N      evolve: tournament size (default 4)\n"
		"LLM (an OpenAI-compatible server: llama.cpp's llama-server, Ollama, vLLM):\n"
		"  --llm URL           base URL (default $LMNAS_LLM_URL or http://127.0.0.1:8080);\n"
		"                      the key, if any, comes from LMNAS_API_KEY and is never printed\n"
		"  --model NAME        model name (default $LMNAS_LLM_MODEL or \"default\")\n"
		"  --temperature T     default 1.5      --min-p P     default 0.1\n"
		"  --timeout S         per request (default 120)\n"
		"  --http-retries N    retries after an HTTP error or timeout, with backoff (default 3)\n"
		"  --backoff S         first backoff wait, doubled each time (default 1)\n"
		"  --max-retries N     answers sent back with their parse or check error (default 3)\n"
		"  --no-schema         do not send a JSON schema in response_format\n"
		"  --explain           ask why the design was chosen; stored in gen.explanation\n"
		"  --transcripts DIR   append every request and answer to DIR/llm.jsonl\n"
		"  --dataset NAME      named in the prompt (default Fashion-MNIST)\n"
		"  --prompts DIR       prompt templates (default <data>/prompts)\n"
		"Check options (as check-cost; --space defaults to <data>/search-space.json):\n%s"
		"<data> is $LMNAS_DATA, else the data/ folder next to bin/.\n",
		check_opts_help);
}

static double num_arg(const char *opt, const char *v, double lo, double hi)
{
	double d;
	if (parse_double(v, lo, hi, &d))
		die("%s: '%s' is not a number in [%g, %g]", opt, v, lo, hi);
	return d;
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
	const char *strategy = "evolve", *feedback_path = NULL, *space_path = NULL;
	const char *prompts = NULL, *dataset = "Fashion-MNIST";
	long count = 1, iteration = 1, seed = 1, in_ch = 3, max_tries = 2000, tourn = 4, retries = 3;
	bool explain = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help")) {
			usage(stdout);
			return EXIT_OK;
		}
		if (!strcmp(a, "--explain")) {
			explain = true;
			continue;
		}
		if (!strcmp(a, "--no-schema")) {
			lo.use_schema = false;
			continue;
		}
		if (i + 1 >= argc || strncmp(a, "--", 2)) {
			usage(stderr);
			die("unknown argument or missing value: %s", a);
		}
		const char *v = argv[++i];
		int taken = check_opts_parse(&check, a, v);
		if (taken < 0)
			return EXIT_USAGE;
		if (taken) {
			if (!strcmp(a, "--space"))
				space_path = v;
			continue;
		}
		if (!strcmp(a, "--strategy"))
			strategy = v;
		else if (!strcmp(a, "--count") && parse_int(v, 0, 100000, &count) == 0)
			;
		else if (!strcmp(a, "--iteration") && parse_int(v, 0, 1000000, &iteration) == 0)
			;
		else if (!strcmp(a, "--seed") && parse_int(v, 0, 0x7fffffffL, &seed) == 0)
			;
		else if (!strcmp(a, "--input-channels") && parse_int(v, 1, ARCH_MAX_IN_CH, &in_ch) == 0)
			;
		else if (!strcmp(a, "--max-tries") && parse_int(v, 1, 10000000, &max_tries) == 0)
			;
		else if (!strcmp(a, "--tournament") && parse_int(v, 1, 1000, &tourn) == 0)
			;
		else if (!strcmp(a, "--max-retries") && parse_int(v, 0, 100, &retries) == 0)
			;
		else if (!strcmp(a, "--feedback"))
			feedback_path = v;
		else if (!strcmp(a, "--llm"))
			lo.base_url = v;
		else if (!strcmp(a, "--model"))
			lo.model = v;
		else if (!strcmp(a, "--temperature"))
			lo.temperature = num_arg(a, v, 0, 10);
		else if (!strcmp(a, "--min-p"))
			lo.min_p = num_arg(a, v, 0, 1);
		else if (!strcmp(a, "--timeout"))
			lo.timeout_s = num_arg(a, v, 0.01, 86400);
		else if (!strcmp(a, "--http-retries")) {
			long n;
			if (parse_int(v, 0, 100, &n))
				die("--http-retries: '%s' is not a whole number in [0, 100]", v);
			lo.http_retries = (int)n;
		} else if (!strcmp(a, "--backoff"))
			lo.backoff_s = num_arg(a, v, 0, 3600);
		else if (!strcmp(a, "--transcripts"))
			lo.transcripts = v;
		else if (!strcmp(a, "--dataset"))
			dataset = v;
		else if (!strcmp(a, "--prompts"))
			prompts = v;
		else {
			usage(stderr);
			die("unknown option or bad value: %s %s", a, v);
		}
	}
	bool is_llm = !strcmp(strategy, "llm");
	if (!is_llm && strcmp(strategy, "random") && strcmp(strategy, "evolve"))
		die("--strategy must be random, evolve or llm, not '%s'", strategy);

	char data[PATH_MAX], path[PATH_MAX + 64], err[512];
	data_dir(data, sizeof data, NULL);
	if (!check.space) {
		snprintf(path, sizeof path, "%s/search-space.json", data);
		if (check_opts_parse(&check, "--space", path) != 1)
			die("cannot load the default search space %s (give --space FILE)", path);
		space_path = path;
	}
	char space_file[PATH_MAX + 64];
	snprintf(space_file, sizeof space_file, "%s", space_path);

	struct gen_ctx g;
	memset(&g, 0, sizeof g);
	g.check = &check;
	g.space = check.space;
	g.input_channels = (int)in_ch;
	g.iteration = (int)iteration;
	g.max_tries = (int)max_tries;
	g.tournament = (int)tourn;
	g.fresh_prob = 0.1;
	g.max_retries = (int)retries;
	g.explain = explain;
	g.dataset = dataset;
	prng_seed(&g.rng, (uint64_t)seed);

	cJSON *fb = NULL;
	if (feedback_path) {
		const char *why;
		char *text = read_file(feedback_path, 64u << 20, NULL, &why);
		if (!text)
			die("--feedback %s: %s", feedback_path, why);
		fb = cJSON_Parse(text);
		free(text);
		if (!cJSON_IsObject(fb))
			die("--feedback %s: not a JSON object", feedback_path);
		g.feedback = fb;
		gen_remember_feedback(&g);
	}

	struct llm_client client;
	char *tmpl[4] = { NULL, NULL, NULL, NULL };
	char *space_text = NULL;
	if (is_llm) {
		char pdir[PATH_MAX + 16];
		if (prompts)
			snprintf(pdir, sizeof pdir, "%s", prompts);
		else
			snprintf(pdir, sizeof pdir, "%s/prompts", data);
		static const char *const names[] = { "system", "generate", "retry", "explain" };
		for (int k = 0; k < 4; k++)
			if (!(tmpl[k] = prompt_template(pdir, names[k], err, sizeof err)))
				die("%s", err);
		g.tmpl_system = tmpl[0];
		g.tmpl_generate = tmpl[1];
		g.tmpl_retry = tmpl[2];
		g.tmpl_explain = tmpl[3];
		const char *why;
		space_text = read_file(space_file, 1 << 20, NULL, &why);
		if (!space_text)
			die("%s: %s", space_file, why);
		g.space_text = space_text;
		if (lo.transcripts)
			mkdir(lo.transcripts, 0755);
		if (llm_open(&client, &lo, err, sizeof err))
			die("%s", err);
		g.llm = &client;
		g.model = lo.model;
	}

	int failed = 0;
	for (long k = 0; k < count; k++) {
		cJSON *rec = is_llm ? strategy_llm_next(&g)
				    : !strcmp(strategy, "random") ? strategy_random_next(&g)
								  : strategy_evolve_next(&g);
		if (record_get(rec, "gen.error")) {
			failed++;
			log_error("candidate %ld: %s", k + 1, record_string(rec, "gen.error"));
		}
		if (record_write(stdout, rec))
			die("write error on stdout");
		cJSON_Delete(rec);
	}
	if (is_llm)
		llm_close(&client);
	for (int k = 0; k < 4; k++)
		free(tmpl[k]);
	free(space_text);
	free(g.ids);
	cJSON_Delete(g.proposed);
	cJSON_Delete(fb);
	check_opts_free(&check);
	return failed ? EXIT_RECORDS : EXIT_OK;
}
