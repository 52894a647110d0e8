/* quantize — post-training int8 quantisation of a float checkpoint (see quantize(1)). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/blas_core.h"
#include "engine/checkpoint.h"
#include "engine/dataset.h"
#include "engine/qat.h"
#include "engine/qat_act.h"
#include "cost/cost.h"
#include "core/safetensors.h"
#include "int8/fold.h"
#include "engine/nn_head.h"
#include "int8/quant.h"
#include "int8/sensitivity.h"
#include "core/options.h"
#include "core/record.h"
#include "core/record_loop.h"
#include "core/util.h"

static const char about[] =
	"usage: quantize --weights W.safetensors [--arch A.json] --dataset D [--data F]\n"
	"                [--test-data F] [--calib N] [--calib-method mse|minmax] [--resolution HxW]\n"
	"                [--eval N] [--plan] [--weight-format int8|ternary [--sparsity S]]\n"
	"                [--ignore-qat-ranges]\n"
	"                -o Q.safetensors\n"
	"  D: fashion-mnist | cifar10 | cifar100 | safetensors | folder | csv (default safetensors;\n"
	"  --data is the file or folder, default the Debian path for fashion-mnist; images are\n"
	"  normalised, and folder/csv classes named, as the checkpoint's metadata says, which is\n"
	"  copied into the int8 model). Folds batch norm, calibrates\n"
	"  activation ranges on the first N training images (--calib, default 4), quantises to\n"
	"  int8 (per-channel weights, per-tensor activations, fixed-point\n"
	"  requantisation, lookup tables) and writes the int8 model. A checkpoint of int8\n"
	"  QAT carries the activation ranges it trained with: those are used instead of\n"
	"  calibrated ones (unless --ignore-qat-ranges), the others calibrated. Records on stdin (if any) get\n"
	"  a \"quant\" key: float and int8 accuracy (or top-1 agreement without labels), arena and\n"
	"  flash bytes, paths; accuracy on the test split (--eval N images, default all; --test-data\n"
	"  F: the test file or folder, read as D for safetensors/folder/csv, else as safetensors;\n"
	"  without it those score the training file, and say \"eval_split\": \"train\").\n"
	"  Without input records one record is written.\n"
	"\n";

struct opts {
	const char *weights, *arch, *dataset, *data, *test_data, *out, *int8_ops;
	int res_h, res_w, calib, eval, plan, mse, ternary, ignore_qat, sensitivity;
	double sparsity;
};

/* One split for the model, read by dataset.c with the checkpoint's normalisation and class
 * names; limit 0 = all. */
static int load_split(enum dataset_kind k, const char *path, enum dataset_split split,
		      const char *norm, const char *names, const struct arch_net *net, int limit,
		      int *n, float **images, int32_t **labels, char *err, size_t errlen)
{
	struct dataset d;
	if (dataset_load_for_model(k, path, split, norm, names, net->in_h, net->in_w, &d, err, errlen))
		return -1;
	dataset_floats(&d, net->in_h, net->in_w, net->in_ch, limit, n, images, labels);
	dataset_free(&d);
	return 0;
}

/* The calibration images (training split) and the test images: --test-data F when given (read
 * as --dataset when that kind is a file per split: safetensors, folder, csv; else as
 * safetensors), else the dataset's test split; a safetensors/folder/csv dataset without
 * --test-data has none, and the training file is scored (the record says "eval_split"). */
static int load_splits(const struct opts *o, const struct arch_net *net, char **norm,
		       char **names, int *n, float **images, int32_t **labels, int *nt,
		       float **timages, int32_t **tlabels, char *err, size_t errlen)
{
	enum dataset_kind k;
	if (dataset_kind_parse(o->dataset ? o->dataset : "safetensors", &k))
		return fail(err, errlen, "--dataset %s: not fashion-mnist, cifar10, cifar100, "
			    "safetensors, folder or csv", o->dataset);
	if (checkpoint_data_meta(o->weights, norm, names, err, errlen))
		return -1;
	int own_file = k == DS_SAFETENSORS || k == DS_FOLDER || k == DS_CSV;
	enum dataset_kind tk = o->test_data && !own_file ? DS_SAFETENSORS : k;
	const char *tpath = o->test_data ? o->test_data : o->data;
	if (load_split(k, o->data, SPLIT_TRAIN, *norm, *names, net, o->calib, n, images, labels,
		       err, errlen))
		return -1;
	if (load_split(tk, tpath, SPLIT_TEST, *norm, *names, net, o->eval, nt, timages, tlabels,
		       err, errlen)) {
		free(*images);
		free(*labels);
		return -1;
	}
	return 0;
}

/* Which images the accuracies are measured on: "test", or "train" when a one-file dataset has
 * no --test-data. */
static const char *eval_split(const struct opts *o)
{
	enum dataset_kind k = DS_SAFETENSORS;
	dataset_kind_parse(o->dataset ? o->dataset : "safetensors", &k);
	int own_file = k == DS_SAFETENSORS || k == DS_FOLDER || k == DS_CSV;
	return own_file && !o->test_data ? "train" : "test";
}

/* The activation ranges int8 QAT trained with (qat_act.h) replace the calibrated ones in cal,
 * when the checkpoint has them and --ignore-qat-ranges is not given. Returns how many (0: none),
 * or -1 with err. */
static int use_qat_ranges(const struct opts *o, const struct qmodel *m, struct qcalib *cal,
			  char *err, size_t errlen)
{
	if (o->ignore_qat)
		return 0;
	struct st_file f;
	if (st_open(o->weights, &f, err, errlen))
		return -1;
	const char *json = st_meta(&f, QAT_ACT_META);
	char why[256];
	int used = json ? quant_calib_use_qat(cal, m, json, why, sizeof why) : 0;
	if (used < 0)
		fail(err, errlen, "%s: %s (--ignore-qat-ranges calibrates them all)", o->weights, why);
	st_close(&f);
	return used;
}

/* The convs a ternary model keeps int8: --int8-ops, else those its ternary QAT kept
 * (QAT_INT8_OPS_META in the checkpoint), else none. Returns 0 with *ops (malloc'd, or NULL), or
 * -1 with err. */
static int ternary_int8_ops(const struct opts *o, const struct fnet *fn, char **ops, char *err,
			    size_t errlen)
{
	*ops = NULL;
	if (!o->ternary) /* main refuses --int8-ops without it */
		return 0;
	if (o->int8_ops) {
		*ops = xstrdup(o->int8_ops);
	} else {
		struct st_file f;
		if (st_open(o->weights, &f, err, errlen))
			return -1;
		const char *v = st_meta(&f, QAT_INT8_OPS_META);
		*ops = v ? xstrdup(v) : NULL;
		st_close(&f);
		if (*ops)
			log_info("%s: int8 ops %s, as its ternary QAT kept them", o->weights, *ops);
	}
	if (cost_int8_ops_check(&fn->net, *ops, err, errlen)) {
		free(*ops);
		*ops = NULL;
		return -1;
	}
	return 0;
}

/* The sensitivity table on stderr: op, weights, agreement, flash to keep it int8. */
static void log_sensitivity(const cJSON *sens, int n)
{
	log_info("ternary sensitivity on %d calibration images (each conv ternary alone; top-1 "
		 "agreement with the float network; flash to keep it int8):", n);
	const cJSON *e;
	cJSON_ArrayForEach(e, sens)
		log_info("  %-36s %7.0f weights  %6.2f %%  +%.0f B",
			 cJSON_GetObjectItem(e, "op")->valuestring,
			 cJSON_GetObjectItem(e, "weights")->valuedouble,
			 100 * cJSON_GetObjectItem(e, "agree")->valuedouble,
			 cJSON_GetObjectItem(e, "int8_extra_bytes")->valuedouble);
}

/* The float and the int8 network on the same images: how often each is right (labels may be
 * NULL), how often they agree, and the largest logit difference. Images are shared out between
 * the threads (OpenMP), each with its own buffers; every count is a sum and the error a maximum,
 * so the result does not depend on the number of threads. */
struct eval_counts {
	int float_ok, int8_ok, agree;
	double max_logit_err;
};

static void compare_on(const struct fnet *fn, const struct qmodel *m, const float *images,
		       const int32_t *labels, int n, struct eval_counts *ev)
{
	int classes = fn->net.classes, fok = 0, iok = 0, agree = 0;
	size_t isz = (size_t)fn->net.in_h * fn->net.in_w * fn->net.in_ch;
	double maxerr = 0;
#pragma omp parallel reduction(+ : fok, iok, agree) reduction(max : maxerr)
	{
		float *fl = xmalloc(sizeof(float) * classes), *il = xmalloc(sizeof(float) * classes);
		int8_t *qin = xmalloc(isz), *arena = xcalloc(m->arena_bytes, 1);
#pragma omp for schedule(dynamic, 16)
		for (int i = 0; i < n; i++) {
			fold_forward(fn, images + i * isz, fl, NULL, NULL);
			quant_input(m, images + i * isz, isz, qin);
			int8_ref_run(m, qin, arena, NULL, il);
			int fa = logits_argmax(fl, classes), ia = logits_argmax(il, classes);
			agree += fa == ia;
			if (labels) {
				fok += fa == labels[i];
				iok += ia == labels[i];
			}
			for (int c = 0; c < classes; c++)
				if (fabsf(fl[c] - il[c]) > maxerr)
					maxerr = fabsf(fl[c] - il[c]);
		}
		free(fl);
		free(il);
		free(qin);
		free(arena);
	}
	ev->float_ok = fok;
	ev->int8_ok = iok;
	ev->agree = agree;
	ev->max_logit_err = maxerr;
}

/* a: the arch of --arch FILE (a record or {"arch": ...}). 0, or -1 with err. */
static int load_arch(const char *path, struct arch *a, char *err, size_t errlen)
{
	cJSON *doc = record_load_document(path);
	if (!doc) {
		snprintf(err, errlen, "%s: cannot read the arch", path);
		return -1;
	}
	int bad = arch_parse(cJSON_GetObjectItem(doc, "arch"), a, err, errlen);
	cJSON_Delete(doc);
	return bad ? -1 : 0;
}

/* cal: every layer's activation range over the first n images ([n][isz]): min-max, then with
 * mse a second pass that fills histograms and picks the range of least squared error. */
static void calibrate(struct fnet *fn, const float *images, size_t isz, int n, int mse,
		      struct qcalib *cal)
{
	float *logits = xmalloc(sizeof(float) * fn->net.classes);
	for (int i = 0; i < n; i++)
		fold_forward(fn, images + i * isz, logits, quant_calib_observe, cal);
	if (mse) {
		quant_calib_hist_begin(cal);
		for (int i = 0; i < n; i++)
			fold_forward(fn, images + i * isz, logits, quant_calib_observe, cal);
		quant_calib_mse(cal);
	}
	free(logits);
}

/* What run measured, for add_results. */
struct results {
	const struct eval_counts *ev;
	int neval, ncal, nqat;
	const char *int8_ops; /* NULL: every op int8 */
	int labelled;         /* the evaluation images have labels */
};

/* q's figures for a saved model, and the two log lines; takes *sens into q. */
static void add_results(cJSON *q, const struct opts *o, const struct qmodel *m,
			const struct results *r, cJSON **sens)
{
	const struct eval_counts *ev = r->ev;
	if (r->labelled) {
		cJSON_AddNumberToObject(q, "float_acc", (double)ev->float_ok / r->neval);
		cJSON_AddNumberToObject(q, "int8_acc", (double)ev->int8_ok / r->neval);
	}
	cJSON_AddNumberToObject(q, "top1_agree", (double)ev->agree / r->neval);
	cJSON_AddNumberToObject(q, "max_logit_err", ev->max_logit_err);
	cJSON_AddNumberToObject(q, "eval_images", r->neval);
	cJSON_AddNumberToObject(q, "calib_images", r->ncal);
	cJSON_AddStringToObject(q, "calib_method", o->mse ? "mse" : "minmax");
	cJSON_AddNumberToObject(q, "qat_ranges", r->nqat);
	cJSON_AddStringToObject(q, "weight_format", o->ternary ? "ternary" : "int8");
	if (o->ternary)
		cJSON_AddNumberToObject(q, "ternary_zero_fraction", quant_ternary_zero_fraction(m));
	if (r->int8_ops)
		cJSON_AddStringToObject(q, "int8_ops", r->int8_ops);
	if (*sens) {
		cJSON_AddItemToObject(q, "ternary_sensitivity", *sens);
		*sens = NULL;
	}
	cJSON_AddNumberToObject(q, "arena_bytes", (double)m->arena_bytes);
	cJSON_AddNumberToObject(q, "flash_bytes", (double)quant_flash_bytes(m));
	cJSON_AddStringToObject(q, "peak_op", m->peak_op);
	cJSON_AddStringToObject(q, "weights", o->weights);
	cJSON_AddStringToObject(q, "checkpoint", o->out);
	cJSON_AddStringToObject(q, "dataset", o->dataset ? o->dataset : "safetensors");
	if (o->data)
		cJSON_AddStringToObject(q, "data", o->data);
	if (o->test_data)
		cJSON_AddStringToObject(q, "test_data", o->test_data);
	cJSON_AddStringToObject(q, "eval_split", eval_split(o));
	log_info("%s: arena %zu bytes, flash %zu bytes, top-1 agreement %d/%d%s", o->out,
		 m->arena_bytes, quant_flash_bytes(m), ev->agree, r->neval,
		 r->labelled ? "" : " (no labels)");
	if (r->labelled)
		log_info("float accuracy %.4f, int8 accuracy %.4f", (double)ev->float_ok / r->neval,
			 (double)ev->int8_ok / r->neval);
}

/* A record_job: quantises once; fills q (the "quant" object) or returns -1 with err. */
static int run(void *ctx, cJSON *q, char *err, size_t errlen)
{
	const struct opts *o = ctx;
	struct arch a, *ap = o->arch ? &a : NULL;
	if (o->arch && load_arch(o->arch, &a, err, errlen))
		return -1;
	struct fnet *fn = xcalloc(1, sizeof *fn);
	if (fold_load(o->weights, ap, o->res_h, o->res_w, fn, err, errlen)) {
		free(fn);
		return -1;
	}
	const struct arch_net *net = &fn->net;
	int n, nt;
	float *images, *timages;
	int32_t *labels, *tlabels;
	char *norm = NULL, *names = NULL;
	if (load_splits(o, net, &norm, &names, &n, &images, &labels, &nt, &timages, &tlabels, err,
			errlen)) {
		fold_free(fn);
		free(fn);
		return -1;
	}
	size_t isz = (size_t)net->in_h * net->in_w * net->in_ch;
	int ncal = o->calib < n ? o->calib : n;
	struct qcalib cal;
	quant_calib_init(&cal, net->nlayers);
	calibrate(fn, images, isz, ncal, o->mse, &cal);
	cJSON *sens = o->ternary && o->sensitivity ? ternary_sensitivity(fn, images, ncal, o->sparsity)
						   : NULL;
	if (sens)
		log_sensitivity(sens, ncal);
	struct qmodel *m = xcalloc(1, sizeof *m);
	quant_graph_build(&fn->arch, net, m);
	char *int8_ops = NULL;
	int nqat = ternary_int8_ops(o, fn, &int8_ops, err, errlen) ? -1
		   : use_qat_ranges(o, m, &cal, err, errlen);
	if (nqat > 0)
		log_info("%s: %d activation ranges from its QAT (%s), the others calibrated on %d "
			 "images", o->weights, nqat, QAT_ACT_META, ncal);
	/* a model the int8 kernels cannot represent is refused (quant.error), not evaluated */
	int rc = nqat < 0 ? -1 : quant_from_float(fn, &cal, o->ternary ? o->sparsity : -1, int8_ops,
						   m, err, errlen);
	if (!rc && o->plan)
		quant_print_plan(m, stderr);
	int neval = rc ? 0 : o->eval > 0 && o->eval < nt ? o->eval : nt;
	struct eval_counts ev;
	compare_on(fn, m, timages, tlabels, neval, &ev);
	/* the training data's normalisation and class names go with the model (emit-c, model.h) */
	const char *meta[] = {"source", o->weights, norm ? "normalisation" : NULL, norm,
			      names ? "class_names" : NULL, names, NULL};
	rc = rc ? rc : quant_save(m, o->out, meta, err, errlen);
	if (!rc) {
		struct results r = {.ev = &ev, .neval = neval, .ncal = ncal, .nqat = nqat,
				    .int8_ops = int8_ops, .labelled = tlabels != NULL};
		add_results(q, o, m, &r, &sens);
	}
	cJSON_Delete(sens);
	free(int8_ops);
	free(timages);
	free(tlabels);
	free(norm);
	free(names);
	free(images);
	free(labels);
	quant_calib_free(&cal);
	quant_free(m);
	free(m);
	fold_free(fn);
	free(fn);
	return rc;
}

/* --weight-format int8|ternary */
static int set_format(void *base, const char *v, char *err, size_t errlen)
{
	struct opts *o = base;
	if (strcmp(v, "int8") && strcmp(v, "ternary"))
		return fail(err, errlen, "'%s' is not int8 or ternary", v);
	o->ternary = !strcmp(v, "ternary");
	return 0;
}

/* --weights FILE; the old spelling --weights int8|ternary still sets the format, with a note. */
static int set_weights(void *base, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "int8") && strcmp(v, "ternary")) {
		((struct opts *)base)->weights = v;
		return 0;
	}
	log_info("--weights %s is deprecated: say --weight-format %s", v, v);
	return set_format(base, v, err, errlen);
}

static int set_calib_method(void *base, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "mse") && strcmp(v, "minmax"))
		return fail(err, errlen, "'%s' is not mse or minmax", v);
	((struct opts *)base)->mse = !strcmp(v, "mse");
	return 0;
}

static int set_resolution(void *base, const char *v, char *err, size_t errlen)
{
	struct opts *o = base;
	if (parse_resolution(v, &o->res_h, &o->res_w))
		return fail(err, errlen, "'%s' is not N or HxW", v);
	return 0;
}

#define AT(field) offsetof(struct opts, field)
static const struct opt options[] = {
	{"weights", "W", OPT_CALL, 0, 0, 0, "the float checkpoint (safetensors)", 0, set_weights},
	{"arch", "A", OPT_STRING, AT(arch), 0, 0,
	 "the arch (a record or a bare arch), when the checkpoint's\nmetadata lacks it"},
	{"dataset", "D", OPT_STRING, AT(dataset), 0, 0, "the dataset kind (see above)"},
	{"data", "F", OPT_STRING, AT(data), 0, 0, "its file or folder"},
	{"test-data", "F", OPT_STRING, AT(test_data), 0, 0, "the test file or folder"},
	{"calib", "N", OPT_INT, AT(calib), 1, 1000000, "calibration images", OPT_SHOW_DEFAULT},
	{"calib-method", "M", OPT_CALL, 0, 0, 0,
	 "mse (default: the clipping range of least squared error)\nor minmax", 0, set_calib_method},
	{"resolution", "HxW", OPT_CALL, 0, 0, 0, "input size (default: the checkpoint's)", 0,
	 set_resolution},
	{"eval", "N", OPT_INT, AT(eval), 1, 100000000, "test images scored (default all)"},
	{"plan", NULL, OPT_FLAG, AT(plan), 0, 0, "print the int8 memory plan on stderr"},
	{"ignore-qat-ranges", NULL, OPT_FLAG, AT(ignore_qat), 0, 0,
	 "calibrate every activation range, also those the checkpoint's\nint8 QAT trained with"},
	{"weight-format", "F", OPT_CALL, 0, 0, 0,
	 "int8 (default), or ternary: sparse ternary weights (fraction S\n"
	 "of zeros per output channel) in every conv but the first and\n"
	 "the classifier, packed 1.6 bits per weight", 0, set_format},
	{"sparsity", "S", OPT_DOUBLE, AT(sparsity), 0, 0.99, "ternary: the fraction of zeros",
	 OPT_SHOW_DEFAULT},
	{"sensitivity", NULL, OPT_FLAG, AT(sensitivity), 0, 0,
	 "ternary: ternarise each conv alone in the float network and\n"
	 "record how often the calibration images keep their float top-1\n"
	 "class (quant.ternary_sensitivity, most sensitive first), and\n"
	 "the flash keeping each int8 would add (for --int8-ops)"},
	{"int8-ops", "OPS", OPT_STRING, AT(int8_ops), 0, 0,
	 "ternary: these convs stay int8 (op names as check-cost --plan\n"
	 "prints them, comma-separated; default: those the checkpoint's\n"
	 "ternary QAT kept int8)"},
	{"output", "Q", OPT_STRING, AT(out), 0, 0, "the int8 model to write", 0, NULL, 'o'},
	{"help", NULL, OPT_HELP, 0, 0, 0, "this text", 0, NULL, 'h'},
	{0},
};
#undef AT

int main(int argc, char **argv)
{
	util_init(argv[0]);
	blas_core_ensure(argv); /* first: it may start the program again */
	struct opts o = {0};
	o.res_h = o.res_w = 0;
	o.calib = 4;
	o.mse = 1;
	o.sparsity = 0.5;
	struct opt_program prog = {about, NULL, 0, {{options, &o, NULL}}};
	options_parse(&prog, argc, argv);
	if (!o.weights || !o.out || (!o.data && !o.dataset)) {
		fprintf(stderr, "quantize: --weights, --dataset or --data, and -o are required "
			"(try --help)\n");
		return EXIT_USAGE;
	}
	if ((o.sensitivity || o.int8_ops) && !o.ternary)
		die("--sensitivity and --int8-ops go with --weight-format ternary");
	return record_loop_run("quant", run, &o);
}
