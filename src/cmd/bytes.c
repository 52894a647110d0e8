/* bytes — sizes in bytes, as every lmnas program reads them (bytes(1)).
 *
 *   bytes 64KiB 512kB 1MB   ->   65536 512000 1000000 (one a line)
 *
 * The shell scripts convert SRAM_MAX and FLASH_MAX with it, so a size means the same to the
 * report as to check-cost and emit-c: util.c's parse_bytes is the one parser. */
#include "core/options.h"
#include "core/util.h"

#include <stdio.h>

static const char about[] =
	"usage: bytes SIZE...\n"
	"Prints each SIZE in bytes, one a line, as check-cost, emit-c and feedback read a\n"
	"size: a number with an optional unit, B, K = k = KiB (1024), kB = KB (1000),\n"
	"M = MiB (1024^2), MB (10^6), G = GiB (1024^3). Exit 2 when a SIZE is not a size.\n"
	"\n"
	"options:\n";

static const struct opt options[] = {
	{"help", NULL, OPT_HELP, 0, 0, 0, "this text", 0, NULL, 'h'},
	{0},
};

int main(int argc, char **argv)
{
	util_init(argv[0]);
	struct opt_program prog = {about, NULL, -1, {{options, NULL, NULL}}};
	int n = options_parse(&prog, argc, argv);
	if (n < 1) {
		options_usage(stderr, &prog);
		return EXIT_USAGE;
	}
	for (int i = 1; i <= n; i++) {
		double b;
		if (parse_bytes(argv[i], &b))
			die("'%s' is not a size (e.g. 65536, 64KiB, 512kB, 2MiB)", argv[i]);
		printf("%.0f\n", b);
	}
	return EXIT_OK;
}
