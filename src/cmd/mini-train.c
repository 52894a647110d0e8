/* mini-train — short training runs of arch records; --benchmark times training steps.
 * See man/man1/mini-train.1. */
#include "arch.h"
#include "bench.h"
#include "net.h"
#include "record.h"
#include "util.h"

#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mini-train --benchmark STEPS [--batch B] [--resolution R|HxW] [--classes N]\n"
		"                  [--warmup W] [--threads N] [--seed S]  < records\n"
		"\n"
		"--benchmark STEPS  time STEPS full training steps (forward, backward, SGD update)\n"
		"                   on random data after W warm-up steps (default 3); adds\n"
		"                   \"bench\": {images_per_s, step_ms, ...} to each arch record\n"
		"--batch B          images per step (default 128)\n"
		"--resolution R     input size, R or HxW (default 32)\n"
		"--classes N        classifier outputs (default 100)\n"
		"--threads N        threads (default: all cores)\n");
}

struct options {
	long bench_steps;
	struct bench_opts b;
};

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"benchmark", required_argument, 0, 'B'}, {"batch", required_argument, 0, 'b'},
		{"resolution", required_argument, 0, 'r'}, {"classes", required_argument, 0, 'c'},
		{"warmup", required_argument, 0, 'w'},    {"threads", required_argument, 0, 't'},
		{"seed", required_argument, 0, 's'},      {"help", no_argument, 0, 'h'},
		{0, 0, 0, 0}};
	long v;
	int c;
	o->bench_steps = 0;
	o->b = (struct bench_opts){.steps = 0, .warmup = 3, .batch = 128, .res_h = 32, .res_w = 32,
				   .classes = 100, .threads = 0, .seed = 1};
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 'B':
			if (parse_int(optarg, 1, 1000000, &o->bench_steps))
				die("--benchmark: '%s' is not a step count in 1..1000000", optarg);
			break;
		case 'b':
			if (parse_int(optarg, 1, 65536, &v))
				die("--batch: '%s' is not in 1..65536", optarg);
			o->b.batch = (int)v;
			break;
		case 'r':
			if (parse_resolution(optarg, &o->b.res_h, &o->b.res_w))
				die("--resolution: '%s' is not R or HxW", optarg);
			break;
		case 'c':
			if (parse_int(optarg, 1, ARCH_MAX_CLASSES, &v))
				die("--classes: '%s' is not in 1..%d", optarg, ARCH_MAX_CLASSES);
			o->b.classes = (int)v;
			break;
		case 'w':
			if (parse_int(optarg, 0, 1000000, &v))
				die("--warmup: '%s' is not a step count", optarg);
			o->b.warmup = (int)v;
			break;
		case 't':
			if (parse_int(optarg, 0, 1024, &v))
				die("--threads: '%s' is not in 0..1024", optarg);
			o->b.threads = (int)v;
			break;
		case 's':
			if (parse_int(optarg, 0, 1L << 62, &v))
				die("--seed: '%s' is not a whole number", optarg);
			o->b.seed = (uint64_t)v;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc) {
		usage(stderr);
		die("unexpected argument '%s'", argv[optind]);
	}
	if (!o->bench_steps) {
		usage(stderr);
		die("training mode is not available yet: use --benchmark STEPS");
	}
	o->b.steps = (int)o->bench_steps;
	if (o->b.threads == 0)
		o->b.threads = omp_get_num_procs();
}

/* Benchmarks one record; returns 0, or 1 when the record failed. */
static int bench_record(cJSON *rec, const struct options *o)
{
	char err[512];
	struct arch a;
	const cJSON *aj = record_get(rec, "arch");
	if (!aj) {
		record_stage_error(rec, "bench", "the record has no \"arch\"");
		return 1;
	}
	if (arch_parse(aj, &a, err, sizeof err)) {
		record_stage_error(rec, "bench", "arch: %s", err);
		return 1;
	}
	cJSON *stage = record_stage(rec, "bench");
	if (bench_run(&a, &o->b, stage, err, sizeof err)) {
		record_stage_error(rec, "bench", "%s", err);
		return 1;
	}
	log_info("%.1f images/s (%s batch %d, %d threads)",
		 record_number(rec, "bench.images_per_s", 0), record_string(rec, "bench.resolution"),
		 o->b.batch, o->b.threads);
	return 0;
}

int main(int argc, char **argv)
{
	net_passive_threads(argv);
	util_init(argv[0]);
	struct options o;
	parse_args(argc, argv, &o);
	struct record_reader r;
	record_reader_init(&r, stdin, "stdin");
	int failed = 0, rc;
	cJSON *rec;
	while ((rc = record_next(&r, &rec)) != 0) {
		if (rc < 0) {
			failed = 1;
			continue;
		}
		rec = record_normalize(rec);
		failed |= bench_record(rec, &o);
		if (record_write(stdout, rec))
			die("cannot write to stdout");
		cJSON_Delete(rec);
	}
	record_reader_free(&r);
	return failed ? EXIT_RECORDS : EXIT_OK;
}
