/* rank-corr — Kendall's tau-b and Spearman's rho of number pairs (rank-corr(1)).
 *
 *   jq -r '"\(.proxy) \(.ref)"' pairs.jsonl | rank-corr
 *
 * Reads lines "X Y" (two numbers, blank-separated; blank lines and lines starting with # are
 * skipped) and writes one JSON object: {"n", "kendall_tau", "spearman_rho", "concordant",
 * "discordant"} (null when undefined: fewer than 2 pairs or a constant column). A bad line is
 * reported with its number and skipped (exit 1). */
#include "search/rank_corr.h"
#include "core/options.h"
#include "core/util.h"

#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char about[] =
	"usage: rank-corr [FILE] < pairs > result.json\n"
	"Reads lines of two numbers \"X Y\" (blank lines and # comments skipped) and writes\n"
	"{\"n\", \"kendall_tau\", \"spearman_rho\", \"concordant\", \"discordant\"} as one JSON\n"
	"line. Kendall's tau is tau-b (tie-corrected); Spearman's rho is Pearson's r of the\n"
	"average ranks. Undefined values (fewer than 2 pairs, a constant column) are null.\n"
	"A bad line is named on stderr and skipped: exit 1. Exit 2 on usage or I/O errors.\n";

static const struct opt options[] = {
	{"help", NULL, OPT_HELP, 0, 0, 0, "this text"},
	{0},
};

/* Parses "X Y" into x, y; returns 0, or -1 when the line is not exactly two finite numbers. */
static int parse_pair(const char *s, double *x, double *y)
{
	char *end;
	*x = strtod(s, &end);
	if (end == s)
		return -1;
	s = end;
	*y = strtod(s, &end);
	if (end == s)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	return *end || !isfinite(*x) || !isfinite(*y) ? -1 : 0;
}

static void add_number(cJSON *o, const char *k, double v)
{
	if (isnan(v))
		cJSON_AddNullToObject(o, k);
	else
		cJSON_AddNumberToObject(o, k, v);
}

int main(int argc, char **argv)
{
	util_init(argv[0]);
	struct opt_program prog = {about, NULL, 1, {{options, NULL, NULL}}};
	const char *path = options_parse(&prog, argc, argv) ? argv[1] : NULL;
	FILE *in = path && strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!in)
		die("cannot open %s", path);
	const char *name = path ? path : "stdin";
	int n = 0, cap = 64, bad = 0;
	long lineno = 0;
	double *x = xmalloc((size_t)cap * sizeof *x), *y = xmalloc((size_t)cap * sizeof *y);
	char *line = NULL;
	size_t len = 0;
	while (getline(&line, &len, in) >= 0) {
		lineno++;
		const char *s = line;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			continue;
		if (n == cap) {
			cap *= 2;
			x = xrealloc(x, (size_t)cap * sizeof *x);
			y = xrealloc(y, (size_t)cap * sizeof *y);
		}
		if (parse_pair(s, &x[n], &y[n])) {
			log_error("%s:%ld: not two numbers: %.60s", name, lineno, s);
			bad = 1;
			continue;
		}
		n++;
	}
	if (ferror(in))
		die("read error on %s", name);
	free(line);
	if (in != stdin)
		fclose(in);
	struct rank_corr c;
	rank_corr(x, y, n, &c);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "n", n);
	add_number(o, "kendall_tau", c.tau_b);
	add_number(o, "spearman_rho", c.rho);
	cJSON_AddNumberToObject(o, "concordant", (double)c.concordant);
	cJSON_AddNumberToObject(o, "discordant", (double)c.discordant);
	char *s = cJSON_PrintUnformatted(o);
	if (printf("%s\n", s) < 0 || fflush(stdout))
		die("write error on stdout");
	free(s);
	cJSON_Delete(o);
	free(x);
	free(y);
	return bad ? EXIT_RECORDS : EXIT_OK;
}
