/* evaluate — inference of a checkpoint over a dataset (any dataset.h kind): accuracy, count, time, and
 * optionally the logits (the teacher-logits format for distillation). See man/man1/evaluate.1. */
#include "engine/blas_core.h"
#include "core/arch.h"
#include "engine/checkpoint.h"
#include "engine/dataset.h"
#include "engine/net.h"
#include "engine/nn_head.h"
#include "int8/int8_eval.h"
#include "int8/quant.h"
#include "core/options.h"
#include "core/record.h"
#include "core/record_loop.h"
#include "core/safetensors.h"
#include "core/util.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct options {
	const char *weights, *arch_path, *data, *dump;
	enum dataset_kind kind;
	enum dataset_split split;
	int classes, batch, threads, res_h, res_w;
};

static const char about[] =
	"usage: evaluate --weights W.safetensors [--arch A.json] [--dataset K] [--data PATH]\n"
	"                [--split train|test] [--resolution R|HxW] [--classes N]\n"
	"                [--dump-logits OUT.safetensors] [--batch B] [--threads N]  [< records]\n"
	"\n"
	"K: fashion-mnist | cifar10 | cifar100 | safetensors | folder | csv (default\n"
	"safetensors; --data: its file or folder, default the Debian path for fashion-mnist).\n"
	"--split picks the split of fashion-mnist/cifar (default test; train with\n"
	"--dump-logits gives kd its --teacher-logits); the other kinds are one split per path.\n"
	"Images are normalised (and folder/csv classes named) as the checkpoint's metadata says,\n"
	"and resized to --resolution, else the checkpoint's, else kept at the data's size.\n"
	"Runs inference (BN running statistics, no dropout) over the dataset's images\n"
	"and writes \"eval\": {accuracy (when the dataset has labels), count,\n"
	"seconds, images_per_s} into each record on stdin, or into a fresh record when stdin\n"
	"is a terminal or empty. The arch comes from the checkpoint's metadata or --arch.\n"
	"An int8 model (quantize's) runs on the int8 reference kernels.\n"
	"\n";

static int set_dataset(void *base, const char *v, char *err, size_t errlen)
{
	if (dataset_kind_parse(v, &((struct options *)base)->kind))
		return fail(err, errlen, "'%s' is not fashion-mnist, cifar10, cifar100, safetensors, "
			    "folder or csv", v);
	return 0;
}

static int set_split(void *base, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "train") && strcmp(v, "test"))
		return fail(err, errlen, "'%s' is not train or test", v);
	((struct options *)base)->split = !strcmp(v, "train") ? SPLIT_TRAIN : SPLIT_TEST;
	return 0;
}

static int set_resolution(void *base, const char *v, char *err, size_t errlen)
{
	struct options *o = base;
	if (parse_resolution(v, &o->res_h, &o->res_w))
		return fail(err, errlen, "'%s' is not R or HxW", v);
	return 0;
}

#define AT(field) offsetof(struct options, field)
static const struct opt table[] = {
	{"weights", "W", OPT_STRING, AT(weights), 0, 0, "the checkpoint (float, or int8 from quantize)"},
	{"arch", "A", OPT_STRING, AT(arch_path), 0, 0,
	 "the arch (a bare arch or a record), when the checkpoint's\nmetadata lacks it"},
	{"dataset", "K", OPT_CALL, 0, 0, 0, "the dataset kind (see above)", 0, set_dataset},
	{"data", "PATH", OPT_STRING, AT(data), 0, 0, "its file or folder"},
	{"split", "S", OPT_CALL, 0, 0, 0, "train | test (default test)", 0, set_split},
	{"resolution", "R|HxW", OPT_CALL, 0, 0, 0, "input size (default: the checkpoint's)", 0,
	 set_resolution},
	{"classes", "N", OPT_INT, AT(classes), 1, ARCH_MAX_CLASSES,
	 "must match the checkpoint's classifier"},
	{"dump-logits", "OUT", OPT_STRING, AT(dump), 0, 0,
	 "write the logits [N, classes] as safetensors (kd's\n--teacher-logits)"},
	{"batch", "B", OPT_INT, AT(batch), 1, 4096, "images per forward pass", OPT_SHOW_DEFAULT},
	{"threads", "N", OPT_INT, AT(threads), 0, 1024, "0 = all cores (default)"},
	{"help", NULL, OPT_HELP, 0, 0, 0, "this text", 0, NULL, 'h'},
	{0},
};
#undef AT

static void parse_args(int argc, char **argv, struct options *o)
{
	memset(o, 0, sizeof *o);
	o->kind = DS_SAFETENSORS;
	o->split = SPLIT_TEST;
	o->batch = 64;
	struct opt_program prog = {about, NULL, 0, {{table, o, NULL}}};
	options_parse(&prog, argc, argv);
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

/* The input size: --resolution, else the checkpoint's training resolution ("option
 * --resolution" HxW), else 0 (the data's size). */
static void input_size(const struct options *o, int *h, int *w)
{
	*h = o->res_h, *w = o->res_w;
	if (*h)
		return;
	char err[512];
	struct st_file f;
	if (st_open(o->weights, &f, err, sizeof err))
		die("%s", err);
	const char *r = st_meta(&f, "option --resolution");
	if (r && parse_resolution(r, h, w))
		*h = *w = 0;
	st_close(&f);
}

/* The split through dataset.c, with the checkpoint's normalisation and class names. */
static void load_data(const struct options *o, int classes, int h, int w, struct dataset *d)
{
	char err[512], *norm, *names;
	if (checkpoint_data_meta(o->weights, &norm, &names, err, sizeof err))
		die("%s", err);
	if (!norm && (o->kind == DS_FOLDER || o->kind == DS_CSV))
		log_info("%s: no normalisation in the checkpoint: taken from %s itself", o->weights,
			 o->data);
	if (dataset_load_for_model(o->kind, o->data, o->split, norm, names, h, w, d, err, sizeof err))
		die("%s", err);
	free(norm);
	free(names);
	for (int i = 0; d->labels && i < d->n; i++)
		if (d->labels[i] < 0 || d->labels[i] >= classes)
			die("%s: label %d of image %d is outside 0..%d", o->data ? o->data : "data",
			    d->labels[i], i, classes - 1);
}

/* An int8 model (quantize's output): the int8 reference inference, which takes arch, classes
 * and resolution from the file (--arch, --classes, --resolution, --batch, --threads unused). */
static int evaluate_int8(const struct options *o)
{
	char err[512];
	cJSON *ev = cJSON_CreateObject();
	if (int8_evaluate(o->weights, o->kind, o->data, o->split, o->dump, ev, err, sizeof err))
		die("%s", err);
	cJSON_AddStringToObject(ev, "weights", o->weights);
	cJSON_AddBoolToObject(ev, "int8", 1);
	if (o->data)
		cJSON_AddStringToObject(ev, "data", o->data);
	if (o->dump)
		cJSON_AddStringToObject(ev, "logits", o->dump);
	int failed = record_loop_stamp("eval", ev);
	cJSON_Delete(ev);
	return failed ? EXIT_RECORDS : EXIT_OK;
}

int main(int argc, char **argv)
{
	util_init(argv[0]);
	blas_core_ensure(argv); /* first: it may start the program again */
	struct options o;
	parse_args(argc, argv, &o);
	if (o.weights && quant_is_int8_file(o.weights) == 1) /* an int8 model (quantize) */
		return evaluate_int8(&o);
	if (!o.weights || (!o.data && !dataset_default_path(o.kind)))
		die("--weights and --data are required (try --help)");
	net_set_threads(o.threads);
	char err[512];
	struct arch a;
	int classes = 0;
	load_arch(&o, &a, &classes);
	int H, W;
	input_size(&o, &H, &W);
	struct dataset d;
	load_data(&o, classes, H, W, &d);
	H = H ? H : d.h, W = W ? W : d.w;
	int C = a.input_channels;
	if (!(C == d.c || d.c == 1 || (d.c == 3 && C == 1)))
		die("%s: the images have %d channels; the arch takes %d", o.data ? o.data : "data", d.c, C);
	int B = o.batch < d.n ? o.batch : d.n;
	struct net *n = net_new(&a, H, W, classes, B, 0, err, sizeof err);
	if (!n)
		die("%s: %s", o.weights, err);
	if (checkpoint_load(n, o.weights, err, sizeof err))
		die("%s", err);
	float *logits = o.dump ? xmalloc(sizeof(float) * (size_t)d.n * classes) : NULL;
	float *x = xmalloc(sizeof(float) * (size_t)B * H * W * C); /* [B][H][W][C] */
	int *idx = xmalloc(sizeof(int) * (size_t)B);
	int32_t *y = xmalloc(sizeof(int32_t) * (size_t)B);
	long correct = 0;
	double t0 = now_seconds();
	for (int i = 0; i < d.n; i += B) {
		int nb = d.n - i < B ? d.n - i : B;
		for (int j = 0; j < nb; j++)
			idx[j] = i + j;
		dataset_batch(&d, idx, nb, H, W, C, NULL, NULL, x, y);
		const float *out = net_forward(n, x, nb, 0);
		for (int j = 0; j < nb; j++)
			if (d.labels && logits_argmax(out + (size_t)j * classes, classes) == y[j])
				correct++;
		if (logits)
			memcpy(logits + (size_t)i * classes, out, sizeof(float) * (size_t)nb * classes);
	}
	free(x);
	free(idx);
	free(y);
	double secs = now_seconds() - t0;
	if (logits) {
		struct st_writer *w = st_writer_new();
		int64_t shape[2] = {d.n, classes};
		st_writer_add(w, "logits", ST_F32, 2, shape, logits);
		st_writer_meta(w, "weights", o.weights);
		st_writer_meta(w, "data", o.data ? o.data : dataset_default_path(o.kind));
		st_writer_meta(w, "split", o.split == SPLIT_TRAIN ? "train" : "test");
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
	cJSON_AddStringToObject(ev, "dataset", dataset_kind_name(o.kind));
	cJSON_AddStringToObject(ev, "data", o.data ? o.data : dataset_default_path(o.kind));
	if (logits)
		cJSON_AddStringToObject(ev, "logits", o.dump);

	/* Records on stdin get "eval"; with none (a terminal or empty input), a fresh record. */
	int failed = record_loop_stamp("eval", ev);
	cJSON_Delete(ev);
	free(logits);
	dataset_free(&d);
	net_free(n);
	return failed ? EXIT_RECORDS : EXIT_OK;
}
