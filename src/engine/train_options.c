/* train_options.c — the command line of mini-train, full-train and kd: one table of the training
 * options (struct train_opts) and kd's own, parsed and listed in --help by core/options.c. */
#include "engine/train.h"
#include "core/util.h"

#include <string.h>

int train_parse_resolution(const char *s, int *h, int *w)
{
	long a, b;
	char tmp[64];
	const char *x = strchr(s, 'x');
	if (!x)
		x = strchr(s, 'X');
	if (!x) {
		if (parse_int(s, 1, 4096, &a))
			return -1;
		*h = *w = (int)a;
		return 0;
	}
	snprintf(tmp, sizeof tmp, "%.*s", (int)(x - s), s);
	if (parse_int(tmp, 1, 4096, &a) || parse_int(x + 1, 1, 4096, &b))
		return -1;
	*h = (int)a;
	*w = (int)b;
	return 0;
}

static int set_dataset(void *base, const char *v, char *err, size_t errlen)
{
	if (dataset_kind_parse(v, &((struct train_opts *)base)->kind))
		return fail(err, errlen, "'%s' is not fashion-mnist, cifar10, cifar100, safetensors, "
			    "folder or csv", v);
	return 0;
}

static int set_resolution(void *base, const char *v, char *err, size_t errlen)
{
	struct train_opts *o = base;
	if (train_parse_resolution(v, &o->res_h, &o->res_w))
		return fail(err, errlen, "'%s' is not R or HxW (1..4096)", v);
	return 0;
}

static int set_schedule(void *base, const char *v, char *err, size_t errlen)
{
	struct train_opts *o = base;
	if (!strcmp(v, "step"))
		o->schedule = LR_STEP;
	else if (!strcmp(v, "cosine"))
		o->schedule = LR_COSINE;
	else
		return fail(err, errlen, "'%s' is not step or cosine", v);
	return 0;
}

static int add_teacher(void *base, const char *v, char *err, size_t errlen)
{
	struct train_opts *o = base;
	if (o->nteachers == TRAIN_MAX_TEACHERS)
		return fail(err, errlen, "at most %d teachers", TRAIN_MAX_TEACHERS);
	o->teachers[o->nteachers++] = v;
	return 0;
}

static int set_qat(void *base, const char *v, char *err, size_t errlen)
{
	struct train_opts *o = base;
	if (qat_mode_parse(v, &o->qat))
		return fail(err, errlen, "'%s' is not int8, ternary or off", v);
	return 0;
}

/* Sets the engine's GEMM precision at once (nn_conv.h): a CPU without AMX is told now. */
static int set_precision(void *base, const char *v, char *err, size_t errlen)
{
	struct train_opts *o = base;
	if (gemm_precision_parse(v, &o->precision))
		return fail(err, errlen, "'%s' is not fp32 or bf16", v);
	return gemm_set_precision(o->precision, err, errlen);
}

#define AT(field) offsetof(struct train_opts, field)
#define SHOW OPT_SHOW_DEFAULT
const struct opt train_opt_table[] = {
	{NULL, NULL, OPT_NONE, 0, 0, 0, "data:"},
	{"dataset", "K", OPT_CALL, 0, 0, 0,
	 "fashion-mnist | cifar10 | cifar100 | safetensors | folder | csv\n"
	 "(default fashion-mnist; folder: one sub-folder of PNG/JPEG\n"
	 "images per class; csv: lines path,label)", 0, set_dataset},
	{"data", "PATH", OPT_STRING, AT(data), 0, 0,
	 "dataset folder or file (default for fashion-mnist:\n/usr/share/datasets/fashion-mnist)"},
	{"test-data", "PATH", OPT_STRING, AT(test_data), 0, 0,
	 "test set of a safetensors, folder or csv dataset (the others\nuse their test split)"},
	{"resolution", "R|HxW", OPT_CALL, 0, 0, 0,
	 "bilinear resize (default: the images' size; folder and csv\n"
	 "images are area-resized to it at load, default: the first's)", 0, set_resolution},
	{"val-split", "F", OPT_DOUBLE, AT(val_split), 0, 0.99,
	 "validation fraction carved from training, fixed by --seed", SHOW},
	{"train-limit", "N", OPT_LONG, AT(train_limit), 0, 100000000,
	 "train on N images of the rest (0: all)"},
	{"test-limit", "N", OPT_LONG, AT(test_limit), 0, 100000000,
	 "evaluate the first N test images (0: all)"},
	{"classes", "N", OPT_INT, AT(classes), 1, ARCH_MAX_CLASSES,
	 "classifier outputs (default: the dataset's)"},
	{NULL, NULL, OPT_NONE, 0, 0, 0, "optimisation:"},
	{"epochs", "N", OPT_INT, AT(epochs), 1, 100000,
	 "epochs (warm-up and step interval scale with it unless given)", SHOW},
	{"batch", "N", OPT_INT, AT(batch), 1, 65536, "batch size", SHOW},
	{"lr", "F", OPT_DOUBLE, AT(lr), 0, 1e6, "peak learning rate", SHOW},
	{"momentum", "F", OPT_DOUBLE, AT(momentum), 0, 1, "SGD momentum", SHOW},
	{"weight-decay", "F", OPT_DOUBLE, AT(weight_decay), 0, 1, "L2 weight decay", SHOW},
	{"no-nesterov", NULL, OPT_UNSET, AT(nesterov), 0, 0, "plain momentum"},
	{"schedule", "step|cosine", OPT_CALL, 0, 0, 0,
	 "after the warm-up: x step-gamma every step-every epochs, or\n"
	 "cosine to 0 (mini: step; full, kd: cosine)", 0, set_schedule},
	{"warmup-epochs", "F", OPT_DOUBLE, AT(warmup_epochs), 0, 100000,
	 "linear warm-up from 0", SHOW},
	{"step-every", "F", OPT_DOUBLE, AT(step_every), 0, 100000, "epochs per step", SHOW},
	{"step-gamma", "F", OPT_DOUBLE, AT(step_gamma), 0, 1, "factor per step", SHOW},
	{"dropout", "F", OPT_FLOAT, AT(dropout), 0, 0.99,
	 "before the classifier (a record's \"dropout\" wins)", SHOW},
	{NULL, NULL, OPT_NONE, 0, 0, 0, "augmentation:"},
	{"crop-pad", "N", OPT_INT, AT(crop_pad), 0, 64, "random crop after N pixels of padding", SHOW},
	{"no-crop", NULL, OPT_UNSET, AT(crop_pad), 0, 0, "no random crop (--crop-pad 0)"},
	{"no-flip", NULL, OPT_UNSET, AT(hflip), 0, 0, "no horizontal flip"},
	{"autoaugment", NULL, OPT_FLAG, AT(autoaugment), 0, 0, "AutoAugment's ImageNet policy", SHOW},
	{"no-autoaugment", NULL, OPT_UNSET, AT(autoaugment), 0, 0, "no AutoAugment", SHOW},
	{"mixup", "ALPHA", OPT_DOUBLE, AT(mixup_alpha), 0, 100, "MixUp's alpha (0 = off)", SHOW},
	{"random-erasing", "P", OPT_DOUBLE, AT(erase_p), 0, 1,
	 "erase a random rectangle (2-33% of the image, aspect 0.3-3.3)\n"
	 "to the mean with probability P (0 = off)", SHOW},
	{"label-smoothing", "EPS", OPT_DOUBLE, AT(label_smoothing), 0, 1,
	 "cross-entropy against (1 - EPS)·one-hot + EPS/classes", SHOW},
	{NULL, NULL, OPT_NONE, 0, 0, 0, "run:"},
	{"seed", "N", OPT_U64, AT(seed), 0, 4611686018427387904.0,
	 "weights, split, shuffle and augmentation", SHOW},
	{"threads", "N", OPT_INT, AT(threads), 0, 1024, "0 = all cores (default)"},
	{"precision", "fp32|bf16", OPT_CALL, 0, 0, 0,
	 "the 1x1 convolutions' GEMMs: fp32 (default), or bf16 operands\n"
	 "with fp32 sums on AMX tiles (CPUs with AMX-BF16); weights,\n"
	 "activations and gradients stay fp32", 0, set_precision},
	{"out", "PATH", OPT_STRING, AT(out), 0, 0, "checkpoint ({id} = record id)"},
	{"resume", NULL, OPT_FLAG, AT(resume), 0, 0, "continue from PATH and PATH.state"},
	{"progress", NULL, OPT_FLAG, AT(progress), 0, 0,
	 "a bar (the default on a terminal)"},
	{"no-progress", NULL, OPT_UNSET, AT(progress), 0, 0,
	 "one line per epoch (the default otherwise)"},
	{"quiet", NULL, OPT_FLAG, AT(quiet), 0, 0, "no progress"},
	{"bn-recalibrate", "N", OPT_INT, AT(bn_recalibrate), 0, 100000,
	 "re-estimate BN statistics on N training batches after the\nlast epoch (0 = off)", SHOW},
	{"ema", "DECAY", OPT_DOUBLE, AT(ema_decay), 0, 0.999999,
	 "ship a moving average of the weights and BN statistics,\n"
	 "updated every step at min(DECAY, (1+t)/(10+t)) (0 = off)", SHOW},
	{NULL, NULL, OPT_NONE, 0, 0, 0, "quantisation-aware training:"},
	{"qat", "int8|ternary", OPT_CALL, 0, 0, 0,
	 "train through fake-quantised weights (straight-through\n"
	 "estimator); the checkpoint holds the quantised weights, for\n"
	 "quantize (ternary: --weight-format ternary with the same\n--sparsity); "
	 "int8 rounds the activations too, on ranges\nthe checkpoint carries to quantize", 0, set_qat},
	{"sparsity", "S", OPT_DOUBLE, AT(qat_sparsity), 0, 0.99,
	 "ternary: fraction of zero weights per channel", SHOW},
	{"int8-ops", "OPS", OPT_STRING, AT(int8_ops), 0, 0,
	 "ternary: these convs stay int8 (op names as check-cost --plan\n"
	 "prints them, comma-separated); quantize reads them from the\ncheckpoint"},
	{"help", NULL, OPT_HELP, 0, 0, 0, "this text"},
	{0},
};

const struct opt train_kd_opt_table[] = {
	{"student", "CKPT", OPT_STRING, AT(student), 0, 0, "the network to fine-tune"},
	{"teacher", "CKPT", OPT_CALL, 0, 0, 0,
	 "compute the teacher's logits on every (augmented) batch; give it\n"
	 "again for an ensemble (their logits averaged, at most 8)", 0, add_teacher},
	{"teacher-logits", "F", OPT_STRING, AT(teacher_logits), 0, 0,
	 "precomputed logits [N_train, classes] (evaluate --dump-logits\n"
	 "on the training set); crop and flip are then turned off"},
	{"temperature", "T", OPT_DOUBLE, AT(kd_temperature), 1e-3, 1e3, "softmax temperature", SHOW},
	{"alpha", "A", OPT_DOUBLE, AT(kd_alpha), 0, 1, "weight of the cross-entropy at first", SHOW},
	{"alpha-final", "A", OPT_DOUBLE, AT(kd_alpha_final), 0, 1, "... and its limit", SHOW},
	{0},
};
#undef SHOW
#undef AT

int train_option_arity(const char *name)
{
	const struct opt *o = options_find(train_opt_table, name);
	if (!o)
		o = options_find(train_kd_opt_table, name);
	return o ? o->arg != NULL : -1;
}

static int given(const unsigned char *seen, const char *name)
{
	return seen[options_find(train_opt_table, name) - train_opt_table];
}

void train_parse_args(struct train_opts *o, int argc, char **argv, const char *about,
		      const struct opt *own, void *own_base)
{
	unsigned char seen[sizeof train_opt_table / sizeof train_opt_table[0]] = {0};
	struct opt_program p = {about, NULL, 0, {{NULL}}};
	int g = 0;
	if (own)
		p.groups[g++] = (struct opt_group){own, own_base, NULL};
	if (o->recipe == RECIPE_KD)
		p.groups[g++] = (struct opt_group){train_kd_opt_table, o, NULL};
	p.groups[g++] = (struct opt_group){train_opt_table, o, seen};
	options_parse(&p, argc, argv);
	train_finish_opts(o, given(seen, "epochs"), given(seen, "warmup-epochs"),
			  given(seen, "step-every"));
	if (o->int8_ops && o->qat != QAT_TERNARY)
		die("--int8-ops keeps convs int8 in a ternary network: give it with --qat ternary");
	if (o->recipe == RECIPE_KD && o->teacher_logits && (o->crop_pad || o->hflip || o->autoaugment ||
							      o->mixup_alpha > 0 || o->erase_p > 0)) {
		/* Precomputed logits belong to the unaugmented images. */
		o->crop_pad = 0;
		o->hflip = 0;
		o->autoaugment = 0;
		o->mixup_alpha = 0;
		o->erase_p = 0;
	}
}
