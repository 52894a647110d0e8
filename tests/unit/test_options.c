/* test_options.c — the option-table parser (core/options.h): both spellings, flags, kinds,
 * ranges, operands, "given", and the --help list printed from the table. */
#include "core/options.h"
#include "core/util.h"
#include "t.h"

#include <stdint.h>

struct demo {
	int epochs, quiet, flip;
	long count;
	uint64_t seed;
	double lr, macs, sram;
	float dropout;
	const char *out;
	int mode;
};

static int set_mode(void *base, const char *v, char *err, size_t errlen)
{
	struct demo *d = base;
	if (!strcmp(v, "fast") || !strcmp(v, "slow")) {
		d->mode = !strcmp(v, "fast");
		return 0;
	}
	return fail(err, errlen, "'%s' is not fast or slow", v);
}

static const struct opt table[] = {
	{NULL, NULL, OPT_NONE, 0, 0, 0, "demo:"},
	{"epochs", "N", OPT_INT, offsetof(struct demo, epochs), 1, 100, "epochs", OPT_SHOW_DEFAULT},
	{"count", "N", OPT_LONG, offsetof(struct demo, count), 0, 1000000, "count"},
	{"seed", "N", OPT_U64, offsetof(struct demo, seed), 0, 1e15, "seed"},
	{"lr", "F", OPT_DOUBLE, offsetof(struct demo, lr), 0, 10, "learning rate", OPT_SHOW_DEFAULT},
	{"dropout", "F", OPT_FLOAT, offsetof(struct demo, dropout), 0, 0.99, "dropout"},
	{"macs-max", "N", OPT_COUNT, offsetof(struct demo, macs), 0, 1e15, "MACs"},
	{"sram-max", "BYTES", OPT_BYTES, offsetof(struct demo, sram), 0, 1e15, "SRAM\nsecond line"},
	{"quiet", NULL, OPT_FLAG, offsetof(struct demo, quiet), 0, 0, "quiet"},
	{"no-flip", NULL, OPT_UNSET, offsetof(struct demo, flip), 0, 0, "no flip", OPT_SHOW_DEFAULT},
	{"output", "FILE", OPT_STRING, offsetof(struct demo, out), 0, 0, "out", 0, NULL, 'o'},
	{"mode", "M", OPT_CALL, 0, 0, 0, "fast | slow", 0, set_mode},
	{"help", NULL, OPT_HELP, 0, 0, 0, "this text"},
	{0},
};

int main(void)
{
	struct demo d = {.epochs = 30, .flip = 1};
	unsigned char given[sizeof table / sizeof table[0]] = {0};
	struct opt_program p = {"usage: demo\n", "end\n", -1, {{table, &d, given}}};
	char *argv[] = {"demo", "--epochs=7", "a.txt", "--count", "12", "--seed=42", "--lr", "0.5",
			"--dropout=0.25", "--macs-max", "1.5G", "--sram-max=320KiB", "--quiet",
			"--no-flip", "-o", "x.bin", "--mode=fast", "-", "--", "--not-an-option", NULL};
	int argc = sizeof argv / sizeof argv[0] - 1;
	int n = options_parse(&p, argc, argv);
	T_CHECK(d.epochs == 7, "--epochs=7");
	T_CHECK(d.count == 12, "--count 12");
	T_CHECK(d.seed == 42, "--seed=42 (uint64)");
	T_CHECK(d.lr == 0.5 && d.dropout == 0.25f, "--lr 0.5 and --dropout=0.25 (float)");
	T_CHECK(d.macs == 1.5e9, "--macs-max 1.5G (parse_count)");
	T_CHECK(d.sram == 320 * 1024, "--sram-max=320KiB (parse_bytes)");
	T_CHECK(d.quiet == 1 && d.flip == 0, "flags set and unset");
	T_CHECK(d.out && !strcmp(d.out, "x.bin"), "-o alias");
	T_CHECK(d.mode == 1, "--mode=fast through its setter");
	T_CHECK(n == 3 && !strcmp(argv[1], "a.txt") && !strcmp(argv[2], "-") &&
			!strcmp(argv[3], "--not-an-option"),
		"operands kept in order; '-' is one; '--' ends the options");
	T_CHECK(given[1] && given[2] && !given[12], "given marks the options seen");

	char err[512];
	T_CHECK(options_set(table, &d, "epochs", "0", err, sizeof err) == -1 &&
			!strcmp(err, "--epochs: '0' is not a whole number in [1, 100]"),
		"out of range: the message names the option and value (%s)", err);
	T_CHECK(options_set(table, &d, "sram-max", "lots", err, sizeof err) == -1 &&
			strstr(err, "--sram-max: 'lots'"),
		"bad size named (%s)", err);
	T_CHECK(options_set(table, &d, "mode", "odd", err, sizeof err) == -1 &&
			!strcmp(err, "--mode: 'odd' is not fast or slow"),
		"setter's message (%s)", err);
	T_CHECK(options_set(table, &d, "epochs", NULL, err, sizeof err) == -1 &&
			strstr(err, "needs a value"),
		"missing value");
	T_CHECK(options_set(table, &d, "bogus", "1", err, sizeof err) == 0, "unknown: not taken");
	T_CHECK(options_find(table, "lr") == &table[4] && !options_find(table, "demo:"),
		"options_find by name, not by heading");

	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct demo def = {.epochs = 30, .lr = 0.1, .flip = 1};
	struct opt_program q = {"usage: demo\n", "end\n", -1, {{table, &def, NULL}}};
	options_usage(f, &q);
	fclose(f);
	T_CHECK(strstr(buf, "usage: demo\ndemo:\n  --epochs N          epochs (default 30)\n") != NULL,
		"--help: about, heading, option with its default");
	T_CHECK(strstr(buf, "  --lr F              learning rate (default 0.1)\n") != NULL,
		"--help: a double's default");
	T_CHECK(strstr(buf, "  --sram-max BYTES    SRAM\n                      second line\n") != NULL,
		"--help: continuation lines under the first");
	T_CHECK(strstr(buf, "  -o, --output FILE   out\n") != NULL, "--help: the alias");
	T_CHECK(strstr(buf, "  --no-flip           no flip\n") != NULL,
		"--help: an unset flag that is not the default says nothing more");
	T_CHECK(len > 4 && !strcmp(buf + len - 4, "end\n"), "--help: the footer last");
	free(buf);
	return t_done();
}
