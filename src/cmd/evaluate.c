/* evaluate — inference of a checkpoint over a safetensors dataset: accuracy, count, time, and
 * optionally the logits (the teacher-logits format for distillation). See man/man1/evaluate.1. */
#include "arch.h"
#include "checkpoint.h"
#include "net.h"
#include "nn_head.h"
#include "quant.h" /* int8 models: int8_evaluate_main */
#include "record.h"
#include "record_loop.h"
#include "safetensors.h"
#include "util.h"

#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct options {
	const char *weights, *arch_path, *dataset, *data, *dump;
	int classes, batch, threads;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: evaluate --weights W.safetensors [--arch A.json] --dataset safetensors\n"
		"                --data F.safetensors [--classes N] [--dump-logits OUT.safetensors]\n"
		"                [--batch B] [--threads N]  [< records]\n"
		"\n"
		"Runs inference (BN running statistics, no dropout) over the dataset's images\n"
		"(F32 [N,C,H,W]) and writes \"eval\": {accuracy (when the dataset has labels), count,\n"
		"seconds, images_per_s} into each record on stdin, or into a fresh record when stdin\n"
		"is a terminal or empty. The arch comes from the checkpoint's metadata or --arch.\n");
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"weights", required_argument, 0, 'w'}, {"arch", required_argument, 0, 'a'},
		{"dataset", required_argument, 0, 'd'}, {"data", required_argument, 0, 'f'},
		{"classes", required_argument, 0, 'c'}, {"dump-logits", required_argument, 0, 'l'},
		{"batch", required_argument, 0, 'b'},   {"threads", required_argument, 0, 't'},
		{"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
	long v;
	int c;
	memset(o, 0, sizeof *o);
	o->dataset = "safetensors";
	o->batch = 64;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 'w': o->weights = optarg; break;
		case 'a': o->arch_path = optarg; break;
		case 'd': o->dataset = optarg; break;
		case 'f': o->data = optarg; break;
		case 'l': o->dump = optarg; break;
		case 'c':
			if (parse_int(optarg, 1, ARCH_MAX_CLASSES, &v))
				die("--classes: '%s' is not in 1..%d", optarg, ARCH_MAX_CLASSES);
			o->classes = (int)v;
			break;
		case 'b':
			if (parse_int(optarg, 1, 4096, &v))
				die("--batch: '%s' is not in 1..4096", optarg);
			o->batch = (int)v;
			break;
		case 't':
			if (parse_int(optarg, 0, 1024, &v))
				die("--threads: '%s' is not in 0..1024", optarg);
			o->threads = (int)v;
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
	if (!o->weights || !o->data) {
		usage(stderr);
		die("--weights and --data are required");
	}
	if (strcmp(o->dataset, "safetensors") != 0)
		die("--dataset %s: only 'safetensors' is supported here", o->dataset);
}

/* The arch: from --arch (a bare arch or a record) or from the checkpoint's metadata. */
static void load_arch(const struct options *o, struct arch *a, int *classes)
{
	char err[512];
	if (checkpoint_info(o->weights, o->arch_path ? NULL : a, classes, err, sizeof err))
		die("%s", err);
	if (o->arch_path) {
		cJSON *doc = record_load_document(o->arch_path);
		if (!doc)
			exit(EXIT_USAGE);
		const cJSON *aj = record_get(doc, "arch");
		if (!aj || arch_parse(aj, a, err, sizeof err))
			die("%s: %s", o->arch_path, aj ? err : "no arch");
		cJSON_Delete(doc);
	}
	if (o->classes) {
		if (o->classes != *classes)
			die("--classes %d, but %s: tensor classifier.bias has %d", o->classes,
			    o->weights, *classes);
	}
}

struct dataset {
	struct st_file f;
	const float *images;
	int n, c, h, w;
	int *labels; /* NULL without labels */
};

/* Reads images F32 [N,C,H,W] and optional labels I64/I32 [N] in [0, classes). */
static void load_dataset(const char *path, int classes, struct dataset *d)
{
	char err[512];
	int64_t any[4] = {-1, -1, -1, -1};
	if (st_open(path, &d->f, err, sizeof err))
		die("%s", err);
	const struct st_tensor *t = st_expect(&d->f, "images", ST_F32, 4, any, err, sizeof err);
	if (!t)
		die("%s", err);
	if (t->shape[0] < 1 || t->shape[0] > 1 << 30 || t->shape[1] > ARCH_MAX_IN_CH ||
	    t->shape[2] > ARCH_MAX_RESOLUTION || t->shape[3] > ARCH_MAX_RESOLUTION)
		die("%s: tensor images: shape [%lld,%lld,%lld,%lld] is out of range", path,
		    (long long)t->shape[0], (long long)t->shape[1], (long long)t->shape[2],
		    (long long)t->shape[3]);
	d->images = t->data;
	d->n = (int)t->shape[0];
	d->c = (int)t->shape[1];
	d->h = (int)t->shape[2];
	d->w = (int)t->shape[3];
	d->labels = NULL;
	const struct st_tensor *l = st_find(&d->f, "labels");
	if (!l)
		return;
	if ((l->dtype != ST_I64 && l->dtype != ST_I32) || l->ndim != 1 || l->shape[0] != d->n)
		die("%s: tensor labels: expected I64 or I32 [%d], got %s with %d dims", path, d->n,
		    st_dtype_name(l->dtype), l->ndim);
	d->labels = xmalloc(sizeof(int) * (size_t)d->n);
	for (int i = 0; i < d->n; i++) {
		int64_t v;
		if (l->dtype == ST_I64) {
			memcpy(&v, (const int64_t *)l->data + i, sizeof v);
		} else {
			int32_t v32;
			memcpy(&v32, (const int32_t *)l->data + i, sizeof v32);
			v = v32;
		}
		if (v < 0 || v >= classes)
			die("%s: tensor labels: element %d is %lld, outside 0..%d", path, i,
			    (long long)v, classes - 1);
		d->labels[i] = (int)v;
	}
}

int main(int argc, char **argv)
{
	net_passive_threads(argv);
	util_init(argv[0]);
	for (int i = 1; i + 1 < argc; i++) /* an int8 model (quantize): the int8 reference path */
		if (!strcmp(argv[i], "--weights") && quant_is_int8_file(argv[i + 1]) == 1)
			return int8_evaluate_main(argc, argv);
	struct options o;
	parse_args(argc, argv, &o);
	net_set_threads(o.threads);
	char err[512];
	struct arch a;
	int classes = 0;
	load_arch(&o, &a, &classes);
	struct dataset d;
	load_dataset(o.data, classes, &d);
	if (d.c != a.input_channels)
		die("%s: tensor images has %d channels; the arch takes %d", o.data, d.c,
		    a.input_channels);
	int B = o.batch < d.n ? o.batch : d.n;
	struct net *n = net_new(&a, d.h, d.w, classes, B, 0, err, sizeof err);
	if (!n)
		die("%s: %s", o.weights, err);
	if (checkpoint_load(n, o.weights, err, sizeof err))
		die("%s", err);
	float *logits = o.dump ? xmalloc(sizeof(float) * (size_t)d.n * classes) : NULL;
	long correct = 0;
	size_t per_image = (size_t)d.c * d.h * d.w;
	double t0 = now_seconds();
	for (int i = 0; i < d.n; i += B) {
		int nb = d.n - i < B ? d.n - i : B;
		const float *y = net_forward(n, d.images + (size_t)i * per_image, nb, 0);
		for (int j = 0; j < nb; j++) {
			int best = logits_argmax(y + (size_t)j * classes, classes);
			if (d.labels && best == d.labels[i + j])
				correct++;
		}
		if (logits)
			memcpy(logits + (size_t)i * classes, y, sizeof(float) * (size_t)nb * classes);
	}
	double secs = now_seconds() - t0;
	if (logits) {
		struct st_writer *w = st_writer_new();
		int64_t shape[2] = {d.n, classes};
		st_writer_add(w, "logits", ST_F32, 2, shape, logits);
		st_writer_meta(w, "weights", o.weights);
		st_writer_meta(w, "data", o.data);
		if (st_writer_save(w, o.dump))
			die("%s: cannot write the logits", o.dump);
		st_writer_free(w);
	}
	cJSON *ev = cJSON_CreateObject();
	if (d.labels)
		cJSON_AddNumberToObject(ev, "accuracy", (double)correct / d.n);
	cJSON_AddNumberToObject(ev, "count", d.n);
	cJSON_AddNumberToObject(ev, "seconds", secs);
	cJSON_AddNumberToObject(ev, "images_per_s", secs > 0 ? d.n / secs : 0);
	cJSON_AddStringToObject(ev, "weights", o.weights);
	cJSON_AddStringToObject(ev, "data", o.data);
	if (logits)
		cJSON_AddStringToObject(ev, "logits", o.dump);

	/* Records on stdin get "eval"; with none (a terminal or empty input), a fresh record. */
	int failed = record_loop_stamp("eval", ev);
	cJSON_Delete(ev);
	free(logits);
	free(d.labels);
	st_close(&d.f);
	net_free(n);
	return failed ? EXIT_RECORDS : EXIT_OK;
}
