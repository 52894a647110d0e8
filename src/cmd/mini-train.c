/* mini-train — the paper's mini recipe on each record with check.ok; --benchmark times training
 * steps. See man/man1/mini-train.1. */
#include "engine/blas_core.h"
#include "core/arch.h"
#include "engine/bench.h"
#include "engine/net.h"
#include "core/record.h"
#include "engine/train.h"
#include "engine/train_main.h"
#include "engine/zero_cost.h"
#include "core/util.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mini {
	long bench_steps;
	int bench_warmup;
	int bench_peak; /* --peak: also the SGEMM peak and the fraction of it reached */
	int all; /* train every record with an arch, checked or not */
	int zero_cost; /* --zero-cost N: score N images at initialisation instead of training */
};

static const char about[] =
	"usage: mini-train [options] < records > records\n"
	"       mini-train --benchmark STEPS [--batch B] [--resolution R|HxW] [--classes N]\n"
	"                  [--warmup W] [--peak] [--threads N] [--precision P] [--seed S]\n"
	"                  < records\n"
	"\n"
	"Trains each record whose check.ok is true with the paper's mini recipe (30 epochs,\n"
	"batch 128, SGD Nesterov 0.9, lr 0.5 with a 10-epoch linear warm-up then x0.1 every\n"
	"10 epochs, weight decay 1e-4, crop + flip + AutoAugment, no MixUp) and adds \"mini\":\n"
	"val_acc, test_acc, epochs, seconds, images_per_s. Other records pass through.\n"
	"\n";

#define AT(field) offsetof(struct mini, field)
static const struct opt mini_options[] = {
	{"all", NULL, OPT_FLAG, AT(all), 0, 0, "train every record that has an arch (ignore check)"},
	{"benchmark", "STEPS", OPT_LONG, AT(bench_steps), 1, 1000000,
	 "time STEPS training steps on random data after W warm-up\n"
	 "steps (--warmup, default 3); adds \"bench\" (defaults: batch 128,\n"
	 "resolution 32, 100 classes) with images_per_s and train_gflops"},
	{"warmup", "W", OPT_INT, AT(bench_warmup), 0, 1000000, "with --benchmark: warm-up steps"},
	{"peak", NULL, OPT_FLAG, AT(bench_peak), 0, 0,
	 "with --benchmark: also time a large SGEMM on the same threads\n"
	 "(bench.sgemm_peak_gflops) and report bench.fraction_of_peak; and one\n"
	 "core's fp32 FMA and bf16 dot rates (bench.fma_gflops_core,\n"
	 "bench.bf16_dot_gflops_core)"},
	{"zero-cost", "N", OPT_INT, AT(zero_cost), 2, 1024,
	 "no training: score each design at initialisation on N training\n"
	 "images and add \"zero_cost\": naswot (log|det| of the images'\n"
	 "activation-pattern agreement), grad_norm"},
	{0},
};
#undef AT

/* Benchmarks one record; returns 0, or 1 when the record failed. */
static int bench_record(cJSON *rec, const struct bench_opts *b)
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
	if (bench_run(&a, b, stage, err, sizeof err)) {
		record_stage_error(rec, "bench", "%s", err);
		return 1;
	}
	log_info("%.1f images/s (%s batch %d, %d threads)",
		 record_number(rec, "bench.images_per_s", 0), record_string(rec, "bench.resolution"),
		 b->batch, b->threads);
	return 0;
}

static int benchmark(const struct train_opts *o, const struct mini *m)
{
	struct bench_opts b = {.steps = (int)m->bench_steps, .warmup = m->bench_warmup,
			       .batch = o->batch, .res_h = o->res_h ? o->res_h : 32,
			       .res_w = o->res_w ? o->res_w : 32, .classes = o->classes ? o->classes : 100,
			       .threads = o->threads ? o->threads : omp_get_num_procs(), .peak = m->bench_peak,
			       .seed = o->seed};
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
		failed |= bench_record(rec, &b);
		if (record_write(stdout, rec))
			die("cannot write to stdout");
		cJSON_Delete(rec);
	}
	record_reader_free(&r);
	return failed ? EXIT_RECORDS : EXIT_OK;
}

/* --zero-cost: the zero_cost stage of a selected record (train_main_loop_job's job). */
static int zero_cost_job(const struct train_opts *o, struct train_data *td, cJSON *rec,
			 cJSON *stage, void *ctx, char *err, size_t errlen)
{
	const struct mini *m = ctx;
	return zero_cost_record(o, td, rec, m->zero_cost, stage, err, errlen);
}

static int select_checked(const cJSON *rec, void *ctx)
{
	const struct mini *m = ctx;
	if (!record_get(rec, "arch"))
		return 0;
	if (m->all)
		return 1;
	return cJSON_IsTrue(record_get(rec, "check.ok"));
}

int main(int argc, char **argv)
{
	util_init(argv[0]);
	blas_core_ensure(argv); /* first: it may start the program again */
	struct train_opts o;
	struct mini m = {.bench_warmup = 3};
	train_defaults(&o, RECIPE_MINI);
	train_parse_args(&o, argc, argv, about, mini_options, &m);
	if (m.bench_steps)
		return benchmark(&o, &m);
	if (m.zero_cost)
		return train_main_loop_job(&o, "zero_cost", select_checked, zero_cost_job, &m);
	return train_main_loop(&o, select_checked, &m);
}
