/* train.h — the training recipes (mini, full, kd) shared by mini-train, full-train and kd.
 *
 * One run trains one network on one dataset: a seeded shuffle per epoch, batches from
 * dataset_batch (NHWC, straight into net_forward) with the recipe's augmentations, SGD (Nesterov
 * momentum, weight decay) with a per-step learning-rate schedule, optional MixUp, optional
 * distillation, then accuracy on the validation split and the test set. After every completed epoch the checkpoint (and a
 * PATH.state file holding the weights, the optimizer state, the RNGs, the epoch and the options)
 * is written atomically when an output path is given, the state first, so an interrupted run
 * keeps its last completed epoch and --resume continues from it (refusing changed options). */
#ifndef LMNAS_TRAIN_H
#define LMNAS_TRAIN_H
#include <signal.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>
#include "core/arch.h"
#include "core/options.h"
#include "engine/dataset.h"
#include "engine/nn_conv.h"
#include "engine/qat.h"

enum recipe { RECIPE_MINI, RECIPE_FULL, RECIPE_KD };
enum lr_schedule { LR_STEP, LR_COSINE };

/* kd: at most this many --teacher checkpoints; their logits are averaged. */
#define TRAIN_MAX_TEACHERS 8

struct train_opts {
	enum recipe recipe;
	const char *stage; /* record key: "mini", "full", "kd" */
	/* data */
	enum dataset_kind kind;
	const char *data, *test_data; /* test_data: safetensors only (else the dataset's test split) */
	int res_h, res_w;             /* 0: the dataset's size */
	double val_split;
	long train_limit, test_limit; /* 0: all */
	int classes;                  /* 0: the dataset's */
	/* optimisation */
	int epochs, batch;
	double lr, momentum, weight_decay;
	int nesterov;
	enum lr_schedule schedule;
	double warmup_epochs, step_every, step_gamma; /* warm-up is linear from 0, per step */
	float dropout;
	/* augmentation */
	int crop_pad, hflip, autoaugment;
	double mixup_alpha;     /* 0: off */
	double label_smoothing; /* eps of the cross-entropy's targets (0: off) */
	double erase_p;         /* random erasing's probability per image (0: off) */
	/* distillation */
	const char *student, *teacher_logits;
	const char *teachers[TRAIN_MAX_TEACHERS]; /* --teacher, in the order given: an ensemble */
	int nteachers;
	double kd_temperature, kd_alpha, kd_alpha_final;
	/* run */
	uint64_t seed;
	int threads;
	enum gemm_precision precision; /* the 1x1 convolutions' GEMMs (nn_conv.h), set by --precision */
	const char *out; /* checkpoint path ("{id}" is replaced by the record id), or NULL */
	int resume;
	int progress; /* 1: a bar on stderr (a terminal), 0: one line per epoch */
	int quiet;
	int bn_recalibrate; /* batches of BN re-estimation after the last epoch (0: off) */
	double ema_decay;   /* --ema: the shipped weights are this moving average (ema.h; 0: off) */
	/* quantisation-aware training (qat.h): the checkpoint holds the quantised weights, the
	 * .state the float ones */
	enum qat_mode qat;
	double qat_sparsity;
	const char *int8_ops; /* --int8-ops: with --qat ternary, the convs that stay int8, or NULL */
};

/* The recipe's defaults (issue 4 / the paper): mini 30 epochs, full 120, kd 50, ... */
void train_defaults(struct train_opts *o, enum recipe r);
/* After parsing: scales the mini recipe's warm-up and step interval when --epochs changed them
 * (given_warmup / given_step: whether the user set them). */
void train_finish_opts(struct train_opts *o, int epochs_given, int warmup_given, int step_given);

/* The learning rate at a step (epoch 0-based, step within the epoch). */
double train_lr_at(const struct train_opts *o, int epoch, int step, int steps_per_epoch);
/* The KD weight of the cross-entropy for epoch (0-based): α₀, then after each completed epoch
 * e (1-based) α += (α_final − α)·e/epochs. */
double train_kd_alpha(const struct train_opts *o, int epoch);

/* Losses, mean over the batch B of logits [B][C]; dlogits [B][C] gets d loss / d logits; p, ps,
 * pt: scratch [C].
 * train_loss_mix: lam·CE(ya) + (1 − lam)·CE(yb) (MixUp; lam = 1 and yb = ya: cross-entropy), each
 * target smoothed to (1 − eps)·one-hot + eps / C (label smoothing; eps = 0: none).
 * train_loss_kd: α·CE(y) + (1 − α)·T²·KL(p_t ‖ p_s) (CE smoothed as above), p = softmax(z / T), the KL summed over the
 * classes and averaged over the batch (PyTorch's KLDivLoss(reduction="batchmean")). */
double train_loss_mix(const float *logits, float *dlogits, const int32_t *ya, const int32_t *yb,
		      double lam, double eps, int B, int C, double *p);
double train_loss_kd(const float *logits, float *dlogits, const int32_t *y, const float *tlogits,
		     double alpha, double eps, double T, int B, int C, double *p, double *ps, double *pt);

/* Loaded data shared by every record of a run. */
struct train_data {
	struct dataset train, test;
	int have_test;
	struct index_split split;
	float *teacher_logits; /* [train.n][classes] or NULL */
	int teacher_classes;
};
int train_data_load(const struct train_opts *o, struct train_data *td, char *err, size_t errlen);
void train_data_free(struct train_data *td);

/* Set by SIGINT/SIGTERM (train_install_signals); the run stops after the current step and
 * keeps the last completed epoch's checkpoint. */
extern volatile sig_atomic_t train_stop_requested;
void train_install_signals(void);

/* Trains the record's arch (or, for kd, the student checkpoint) and fills stage (the record's
 * o->stage object) with the results. Returns 0, or -1 with a reason in err (the caller writes
 * it as stage.error), or -2 with a reason in err when --resume met a saved run whose options
 * differ from these (a usage error: the caller stops with status 2); *interrupted is set when a
 * signal stopped the run. */
int train_record(const struct train_opts *o, struct train_data *td, const cJSON *rec,
		 cJSON *stage, int *interrupted, char *err, size_t errlen);


/* 1 when a record id may name a file: 1..64 of [A-Za-z0-9._-], not starting with '.'. */
int train_id_plain(const char *id);

/* The output path for a record: "{id}" in o->out replaced by id (or "noid"). */
void train_out_path(const char *tmpl, const char *id, char *buf, size_t n);

/* The command line (train_options.c). train_opt_table: the options of all three programs;
 * train_kd_opt_table: kd's own (student, teacher, temperature, alphas). Both are option tables
 * (core/options.h) over a struct train_opts: a new training option is one line there. */
extern const struct opt train_opt_table[], train_kd_opt_table[];
/* 1 (takes a value), 0 (a flag) or -1 (not a training option). */
int train_option_arity(const char *name);
/* "R" or "HxW". Returns 0, or -1. */
int train_parse_resolution(const char *s, int *h, int *w);
/* Parses argv[1..] ("--name value" or "--name=value"): the program's own options (own, with
 * own_base; may be NULL), kd's when o->recipe is RECIPE_KD, then the training options; --help
 * prints about and their option lists. Exits 2 on a usage error. Applies train_finish_opts. */
void train_parse_args(struct train_opts *o, int argc, char **argv, const char *about,
		      const struct opt *own, void *own_base);
#endif
