/* bytes — sizes in bytes, as every lmnas program reads them (bytes(1)).
 *
 *   bytes 64KiB 512kB 1MB   ->   65536 512000 1000000 (one a line)
 *
 * The shell scripts convert SRAM_MAX and FLASH_MAX with it, so a size means the same to the
 * report as to check-cost and emit-c: util.c's parse_bytes is the one parser. */
#include "core/util.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bytes SIZE...\n"
		"Prints each SIZE in bytes, one a line, as check-cost, emit-c and feedback read a\n"
		"size: a number with an optional unit, B, K = k = KiB (1024), kB = KB (1000),\n"
		"M = MiB (1024^2), MB (10^6), G = GiB (1024^3). Exit 2 when a SIZE is not a size.\n"
		"  --help   this text\n");
}

int main(int argc, char **argv)
{
	util_init(argv[0]);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		double b;
		if (parse_bytes(argv[i], &b))
			die("'%s' is not a size (e.g. 65536, 64KiB, 512kB, 2MiB)", argv[i]);
		printf("%.0f\n", b);
	}
	return EXIT_OK;
}
