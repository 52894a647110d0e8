/* train.c — the mini, full and kd recipes. See train.h. */
#include "engine/train.h"
#include "engine/ema.h"
#include "engine/augment.h"
#include "engine/checkpoint.h"
#include "engine/net.h"
#include "engine/nn_head.h"
#include "engine/qat_act.h"
#include "cost/cost.h"
#include "core/prng.h"
#include "core/record.h"
#include "core/safetensors.h"
#include "engine/sgd.h"
#include "core/util.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- options ---- */

void train_defaults(struct train_opts *o, enum recipe r)
{
	memset(o, 0, sizeof *o);
	o->recipe = r;
	o->stage = r == RECIPE_MINI ? "mini" : r == RECIPE_FULL ? "full" : "kd";
	o->kind = DS_FASHION_MNIST;
	o->val_split = 0.1;
	o->batch = 128;
	o->momentum = 0.9;
	o->weight_decay = 1e-4;
	o->nesterov = 1;
	o->dropout = 0.2f;
	o->crop_pad = 4;
	o->hflip = 1;
	o->seed = 1;
	o->kd_temperature = 10;
	o->kd_alpha = 0.4;
	o->kd_alpha_final = 0.8;
	o->progress = isatty(2);
	o->qat_sparsity = 0.5;
	switch (r) {
	case RECIPE_MINI: /* 30 epochs, lr 0.5, 10-epoch warm-up, ×0.1 every 10, AutoAugment */
		o->epochs = 30;
		o->lr = 0.5;
		o->schedule = LR_STEP;
		o->warmup_epochs = 10;
		o->step_every = 10;
		o->step_gamma = 0.1;
		o->autoaugment = 1;
		o->bn_recalibrate = 20;
		break;
	case RECIPE_FULL: /* 120 epochs, warm-up 20 from 0 to 0.5, cosine, MixUp 0.2, AutoAugment */
		o->epochs = 120;
		o->lr = 0.5;
		o->schedule = LR_COSINE;
		o->warmup_epochs = 20;
		o->autoaugment = 1;
		o->mixup_alpha = 0.2;
		break;
	case RECIPE_KD: /* 50 epochs of fine-tuning, no MixUp, no AutoAugment */
		o->epochs = 50;
		o->lr = 0.05;
		o->schedule = LR_COSINE;
		o->warmup_epochs = 0;
		break;
	}
}

void train_finish_opts(struct train_opts *o, int epochs_given, int warmup_given, int step_given)
{
	if (!epochs_given)
		return;
	/* Keep the schedule's shape for short proxy runs: the paper's 10/30 and 20/120. */
	double base = o->recipe == RECIPE_MINI ? 30 : o->recipe == RECIPE_FULL ? 120 : 50;
	if (!warmup_given)
		o->warmup_epochs = o->warmup_epochs * o->epochs / base;
	if (!step_given && o->recipe == RECIPE_MINI)
		o->step_every = o->step_every * o->epochs / base;
}

double train_lr_at(const struct train_opts *o, int epoch, int step, int steps_per_epoch)
{
	double t = epoch + (double)step / steps_per_epoch; /* epochs done before this step */
	if (t < o->warmup_epochs) {
		double up = o->lr * (epoch * (double)steps_per_epoch + step + 1) /
			    (o->warmup_epochs * steps_per_epoch);
		return up < o->lr ? up : o->lr;
	}
	if (o->schedule == LR_STEP) {
		int k = o->step_every > 0 ? (int)floor((t - o->warmup_epochs) / o->step_every + 1e-9) : 0;
		return o->lr * pow(o->step_gamma, k < 0 ? 0 : k);
	}
	double span = o->epochs - o->warmup_epochs;
	double p = span > 0 ? (t - o->warmup_epochs) / span : 1;
	return 0.5 * o->lr * (1 + cos(M_PI * (p > 1 ? 1 : p)));
}

double train_kd_alpha(const struct train_opts *o, int epoch)
{
	double a = o->kd_alpha;
	for (int e = 1; e <= epoch; e++)
		a += (o->kd_alpha_final - a) * e / o->epochs;
	return a;
}

int train_id_plain(const char *id)
{
	size_t n = strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
	return id[0] && id[0] != '.' && !id[n] && n <= 64;
}

void train_out_path(const char *tmpl, const char *id, char *buf, size_t n)
{
	const char *at = strstr(tmpl, "{id}");
	if (!at)
		snprintf(buf, n, "%s", tmpl);
	else
		snprintf(buf, n, "%.*s%s%s", (int)(at - tmpl), tmpl, id ? id : "noid", at + 4);
}

/* ---- signals ---- */

volatile sig_atomic_t train_stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	train_stop_requested = 1;
}

void train_install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* ---- data ---- */

static int load_teacher_logits(const char *path, struct train_data *td, int classes, char *err,
			       size_t errlen)
{
	struct st_file f;
	if (st_open(path, &f, err, errlen))
		return -1;
	int64_t shape[2] = {td->train.n, classes > 0 ? classes : -1};
	const struct st_tensor *t = st_expect(&f, "logits", ST_F32, 2, shape, err, errlen);
	if (!t) {
		st_close(&f);
		return -1;
	}
	td->teacher_classes = (int)t->shape[1];
	td->teacher_logits = xmalloc(t->nbytes);
	memcpy(td->teacher_logits, t->data, t->nbytes);
	st_close(&f);
	for (size_t i = 0; i < (size_t)t->numel; i++)
		if (!isfinite(td->teacher_logits[i])) {
			free(td->teacher_logits);
			td->teacher_logits = NULL;
			return fail(err, errlen, "%s: tensor logits: element %zu is not finite", path, i);
		}
	return 0;
}

int train_data_load(const struct train_opts *o, struct train_data *td, char *err, size_t errlen)
{
	memset(td, 0, sizeof *td);
	int files = o->kind == DS_FOLDER || o->kind == DS_CSV; /* image files: stored at --resolution */
	if (files && !o->data)
		return fail(err, errlen, "--dataset %s needs --data PATH", dataset_kind_name(o->kind));
	if (files ? dataset_load_images(o->kind, o->data, o->res_h, o->res_w, NULL, &td->train, err,
					errlen)
		  : dataset_load(o->kind, o->data, SPLIT_TRAIN, &td->train, err, errlen))
		return -1;
	if (!td->train.labels) {
		dataset_free(&td->train);
		return fail(err, errlen, "%s: the training set has no labels", o->data ? o->data : "data");
	}
	int own_file = o->kind == DS_SAFETENSORS || files; /* the test split is its own file */
	if (!own_file || o->test_data) {
		const char *tp = own_file ? o->test_data : o->data;
		if (files ? dataset_load_images(o->kind, tp, 0, 0, &td->train, &td->test, err, errlen)
			  : dataset_load(o->kind, tp, SPLIT_TEST, &td->test, err, errlen)) {
			dataset_free(&td->train);
			return -1;
		}
		td->have_test = td->test.labels != NULL;
	}
	if (dataset_split_val(td->train.n, o->val_split, o->train_limit, o->seed, &td->split)) {
		train_data_free(td);
		return fail(err, errlen, "cannot split %d training images with --val-split %g", td->train.n,
			    o->val_split);
	}
	if (o->teacher_logits &&
	    load_teacher_logits(o->teacher_logits, td, o->classes ? o->classes : td->train.classes,
				err, errlen)) {
		train_data_free(td);
		return -1;
	}
	return 0;
}

void train_data_free(struct train_data *td)
{
	dataset_free(&td->train);
	dataset_free(&td->test);
	index_split_free(&td->split);
	free(td->teacher_logits);
	memset(td, 0, sizeof *td);
}

/* ---- losses (mean over the batch; write d loss / d logits) ---- */

/* p = softmax(z / T) */
static void softmax_t(const float *z, int n, double T, double *p)
{
	double m = z[0];
	for (int i = 1; i < n; i++)
		m = z[i] > m ? z[i] : m;
	double s = 0;
	for (int i = 0; i < n; i++)
		s += p[i] = exp((z[i] - m) / T);
	for (int i = 0; i < n; i++)
		p[i] /= s;
}

/* The cross-entropy's target for class k: lam·one-hot(ya) + (1 − lam)·one-hot(yb), smoothed to
 * (1 − eps)·that + eps / C. */
static double target_prob(int k, int32_t ya, int32_t yb, double lam, double eps, int C)
{
	return eps / C + (1 - eps) * (lam * (k == ya) + (1 - lam) * (k == yb));
}

double train_loss_mix(const float *logits, float *dlogits, const int32_t *ya, const int32_t *yb,
		      double lam, double eps, int B, int C, double *p)
{
	double loss = 0;
	for (int i = 0; i < B; i++) {
		const float *z = logits + (size_t)i * C;
		softmax_t(z, C, 1.0, p);
		for (int k = 0; k < C; k++) {
			double q = target_prob(k, ya[i], yb[i], lam, eps, C);
			if (q > 0)
				loss -= q * log(p[k] + 1e-30);
			dlogits[(size_t)i * C + k] = (float)((p[k] - q) / B);
		}
	}
	return loss / B;
}

double train_loss_kd(const float *logits, float *dlogits, const int32_t *y, const float *tlogits,
		     double alpha, double eps, double T, int B, int C, double *p, double *ps, double *pt)
{
	double loss = 0;
	for (int i = 0; i < B; i++) {
		const float *z = logits + (size_t)i * C, *zt = tlogits + (size_t)i * C;
		softmax_t(z, C, 1.0, p);
		softmax_t(z, C, T, ps);
		softmax_t(zt, C, T, pt);
		double kl = 0, ce = 0;
		for (int k = 0; k < C; k++) {
			double q = target_prob(k, y[i], y[i], 1, eps, C);
			if (q > 0)
				ce -= q * log(p[k] + 1e-30);
			if (pt[k] > 0)
				kl += pt[k] * (log(pt[k]) - log(ps[k] + 1e-30));
			dlogits[(size_t)i * C + k] =
				(float)((alpha * (p[k] - q) + (1 - alpha) * T * (ps[k] - pt[k])) / B);
		}
		loss += alpha * ce + (1 - alpha) * T * T * kl;
	}
	return loss / B;
}

/* ---- evaluation ---- */

/* Top-1 accuracy of n over images idx[0..count) (no augmentation, inference mode). */
static double evaluate(struct net *n, const struct dataset *d, const int *idx, int count, int H,
		       int W, int Cin, int B, float *x, int32_t *y)
{
	int correct = 0, C = n->an.classes;
	for (int at = 0; at < count; at += B) {
		int b = count - at < B ? count - at : B;
		dataset_batch(d, idx + at, b, H, W, Cin, NULL, NULL, x, y);
		const float *logits = net_forward(n, x, b, 0);
		for (int i = 0; i < b; i++)
			correct += logits_argmax(logits + (size_t)i * C, C) == y[i];
	}
	return count ? (double)correct / count : 0;
}

/* ---- progress ---- */

static void progress_bar(const struct train_opts *o, int epoch, int step, int steps, double loss,
			 double acc, double ips)
{
	if (o->quiet || !o->progress)
		return;
	int width = 24, filled = (int)((double)(step + 1) / steps * width);
	char bar[32];
	for (int i = 0; i < width; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[width] = 0;
	fprintf(stderr, "\r%s: epoch %d/%d [%s] loss %.4f acc %5.2f%% %.0f img/s ", util_progname,
		epoch + 1, o->epochs, bar, loss, 100 * acc, ips);
	fflush(stderr);
}

static void progress_epoch(const struct train_opts *o, int epoch, double loss, double acc,
			   double lr, double ips, double secs, double alpha)
{
	if (o->quiet)
		return;
	if (o->progress)
		fputc('\r', stderr);
	fprintf(stderr, "%s: epoch %d/%d loss %.4f acc %.2f%% lr %.4g", util_progname, epoch + 1,
		o->epochs, loss, 100 * acc, lr);
	if (o->recipe == RECIPE_KD)
		fprintf(stderr, " alpha %.4f", alpha);
	fprintf(stderr, " %.0f img/s %.1fs%s\n", ips, secs, o->progress ? "          " : "");
}

struct run {
	const struct train_opts *o;
	struct train_data *td;
	struct net *n;
	struct net *teachers[TRAIN_MAX_TEACHERS]; /* kd --teacher, o->nteachers of them */
	struct qat *qat; /* NULL without --qat */
	struct qat_act *act; /* --qat int8: the fake-quantised activations (qat_act.h), else NULL */
	struct ema *ema;     /* --ema while training: the average (n holds the SGD weights), else NULL */
	int H, W, Cin, C; /* the input size and class count in effect (options, then the record) */
	float dropout;
	char arch_id[17];
	char *norm_json, *names_json; /* the data's metadata (dataset_norm_json); names may be NULL */
	char resize[96];              /* how the images reach H×W */
	float *x;        /* [batch][Cin][H][W] */
	int32_t *y, *yb; /* [batch] */
	float *tlog;     /* [batch][C] teacher logits */
	double *p, *ps, *pt;
};

/* ---- resume state: PATH.state ----
 *
 * PATH.state is self-contained: the network's tensors (as in the checkpoint), the momentum buffer
 * ("resume.momentum"), and in __metadata__ the epochs done, the SGD step count, both RNGs, the
 * seconds so far, the arch id and every option that changes the result ("option --lr": "0.5").
 * It is renamed into place before the checkpoint, so a kill between the two renames leaves a
 * state at least as new as the checkpoint; --resume continues from the state alone and says so
 * when the checkpoint holds another epoch. */

#define RUN_OPTIONS (33 + TRAIN_MAX_TEACHERS) /* run_options: 29 at most, + 4 + the teachers */
struct run_option {
	char key[40];   /* "option --lr" */
	char value[400];
};

static void state_path(const char *out, char *buf, size_t n)
{
	snprintf(buf, n, "%s.state", out);
}

static void add_option(struct run_option *list, int *n, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add_option(struct run_option *list, int *n, const char *name, const char *fmt, ...)
{
	va_list ap;
	snprintf(list[*n].key, sizeof list[*n].key, "option %s", name);
	va_start(ap, fmt);
	vsnprintf(list[*n].value, sizeof list[*n].value, fmt, ap);
	va_end(ap);
	(*n)++;
}

/* The options that change the result, as they are in effect for this run. Returns the count. */
static int run_options(const struct run *r, struct run_option *list)
{
	const struct train_opts *o = r->o;
	const struct dataset *d = &r->td->train;
	int n = 0;
	add_option(list, &n, "--dataset", "%s", dataset_kind_name(o->kind));
	add_option(list, &n, "--data", "%d images %dx%dx%d", d->n, d->h, d->w, d->c);
	add_option(list, &n, "--val-split", "%.15g", o->val_split);
	add_option(list, &n, "--train-limit", "%ld", o->train_limit);
	add_option(list, &n, "--resolution", "%dx%d", r->H, r->W);
	add_option(list, &n, "--classes", "%d", r->C);
	add_option(list, &n, "--dropout", "%.7g", r->dropout);
	add_option(list, &n, "--epochs", "%d", o->epochs);
	add_option(list, &n, "--batch", "%d", o->batch);
	add_option(list, &n, "--lr", "%.15g", o->lr);
	add_option(list, &n, "--momentum", "%.15g", o->momentum);
	add_option(list, &n, "--weight-decay", "%.15g", o->weight_decay);
	add_option(list, &n, "--no-nesterov", "%s", o->nesterov ? "off (Nesterov)" : "on");
	add_option(list, &n, "--schedule", "%s", o->schedule == LR_STEP ? "step" : "cosine");
	add_option(list, &n, "--warmup-epochs", "%.15g", o->warmup_epochs);
	add_option(list, &n, "--step-every", "%.15g", o->step_every);
	add_option(list, &n, "--step-gamma", "%.15g", o->step_gamma);
	add_option(list, &n, "--crop-pad", "%d", o->crop_pad);
	add_option(list, &n, "--no-flip", "%s", o->hflip ? "off (flips)" : "on");
	add_option(list, &n, "--autoaugment", "%s", o->autoaugment ? "on" : "off");
	add_option(list, &n, "--mixup", "%.15g", o->mixup_alpha);
	if (o->label_smoothing > 0) /* recorded only when on: states written before them resume */
		add_option(list, &n, "--label-smoothing", "%.15g", o->label_smoothing);
	if (o->erase_p > 0)
		add_option(list, &n, "--random-erasing", "%.15g", o->erase_p);
	add_option(list, &n, "--seed", "%" PRIu64, o->seed);
	add_option(list, &n, "--bn-recalibrate", "%d", o->bn_recalibrate);
	if (o->ema_decay > 0) /* recorded only when on: states written before it resume */
		add_option(list, &n, "--ema", "%.15g", o->ema_decay);
	if (o->recipe == RECIPE_KD) {
		add_option(list, &n, "--teacher", "%s", o->nteachers ? o->teachers[0] : "(none)");
		for (int t = 1; t < o->nteachers; t++) { /* an ensemble's others */
			char name[24];
			snprintf(name, sizeof name, "--teacher (%d)", t + 1);
			add_option(list, &n, name, "%s", o->teachers[t]);
		}
		add_option(list, &n, "--teacher-logits", "%s",
			   o->teacher_logits ? o->teacher_logits : "(none)");
		add_option(list, &n, "--temperature", "%.15g", o->kd_temperature);
		add_option(list, &n, "--alpha", "%.15g", o->kd_alpha);
		add_option(list, &n, "--alpha-final", "%.15g", o->kd_alpha_final);
	}
	if (o->qat != QAT_OFF) {
		add_option(list, &n, "--qat", "%s", qat_mode_name(o->qat));
		add_option(list, &n, "--sparsity", "%.15g", o->qat_sparsity);
		if (o->int8_ops) /* recorded only when given: QAT_INT8_OPS_META */
			add_option(list, &n, "--int8-ops", "%s", o->int8_ops);
	}
	return n;
}

/* The metadata both files carry: recipe, epochs done, arch id and the options, as a
 * NULL-terminated key, value list in meta[] (room for 2 * (RUN_OPTIONS + 11) + 1 entries).
 * Returns the number of entries written (before the NULL). */
static int run_meta(const struct run *r, const struct run_option *opts, int nopts,
		    const char *epochs_done, const char **meta)
{
	int k = 0;
	meta[k++] = "recipe";
	meta[k++] = r->o->stage;
	meta[k++] = "epochs_done";
	meta[k++] = epochs_done;
	meta[k++] = "arch_id";
	meta[k++] = r->arch_id;
	meta[k++] = "normalisation";
	meta[k++] = r->norm_json;
	meta[k++] = "resize";
	meta[k++] = r->resize;
	if (r->names_json) {
		meta[k++] = "class_names";
		meta[k++] = r->names_json;
	}
	for (int i = 0; i < nopts; i++) {
		meta[k++] = opts[i].key;
		meta[k++] = opts[i].value;
	}
	meta[k] = NULL;
	return k;
}

/* With activation QAT, their ranges (QAT_ACT_META) appended to meta at *k (NULL-terminated
 * again); returns the text to free after the save, or NULL. */
static char *add_act_ranges(const struct run *r, const char **meta, int *k)
{
	if (!r->act)
		return NULL;
	char *ranges = qat_act_ranges_json(r->act);
	meta[(*k)++] = QAT_ACT_META;
	meta[(*k)++] = ranges;
	meta[*k] = NULL;
	return ranges;
}

static int state_save(const struct run *r, const char *out, const struct sgd *opt,
		      const struct prng *rng, int epochs_done, double seconds, char *err,
		      size_t errlen)
{
	char path[4200], ed[32], steps[32], prng_text[80], drng[32], secs[40];
	struct run_option opts[RUN_OPTIONS];
	const char *meta[2 * (RUN_OPTIONS + 13) + 1];
	state_path(out, path, sizeof path);
	snprintf(ed, sizeof ed, "%d", epochs_done);
	snprintf(steps, sizeof steps, "%ld", opt->steps);
	snprintf(prng_text, sizeof prng_text, "%016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64,
		 rng->s[0], rng->s[1], rng->s[2], rng->s[3]);
	snprintf(drng, sizeof drng, "%016" PRIx64, r->n->rng);
	snprintf(secs, sizeof secs, "%.17g", seconds);
	int nopts = run_options(r, opts);
	int k = run_meta(r, opts, nopts, ed, meta);
	const char *extra[] = {"sgd_steps", steps, "prng", prng_text, "dropout_rng", drng,
			       "seconds", secs, NULL};
	for (int i = 0; extra[i]; i++)
		meta[k++] = extra[i];
	meta[k] = NULL;
	/* the optimizer's momentum, and with --ema the average (the list ends at a NULL name) */
	struct checkpoint_extra extras[3] = {{"resume.momentum", opt->buf, (int64_t)opt->n}};
	char updates[32];
	if (r->ema) {
		snprintf(updates, sizeof updates, "%ld", r->ema->updates);
		meta[k++] = "ema_updates";
		meta[k++] = updates;
		meta[k] = NULL;
		extras[1] = (struct checkpoint_extra){"resume.ema", r->ema->avg,
						      (int64_t)(r->ema->nparams + r->ema->nbufs)};
	}
	char *ranges = add_act_ranges(r, meta, &k);
	int rc = checkpoint_save_extra(r->n, path, meta, extras, err, errlen);
	free(ranges);
	return rc;
}

static int checkpoint_write(const struct run *r, const char *out, int epochs_done,
			    int recalibrated, char *err, size_t errlen)
{
	char ed[32];
	struct run_option opts[RUN_OPTIONS];
	const char *meta[2 * (RUN_OPTIONS + 12) + 1];
	snprintf(ed, sizeof ed, "%d", epochs_done);
	int nopts = run_options(r, opts);
	int k = run_meta(r, opts, nopts, ed, meta);
	if (recalibrated) {
		meta[k++] = "bn_recalibrated";
		meta[k++] = "1";
		meta[k] = NULL;
	}
	char *ranges = add_act_ranges(r, meta, &k);
	/* the checkpoint holds what is deployed: the average (--ema), with QAT quantised */
	if (r->ema)
		ema_swap(r->ema, r->n);
	int fake = r->qat && !r->qat->quantized;
	if (fake)
		qat_quantize(r->qat, r->n);
	int rc = checkpoint_save(r->n, out, meta, err, errlen);
	if (fake)
		qat_restore(r->qat, r->n);
	if (r->ema)
		ema_swap(r->ema, r->n);
	free(ranges);
	return rc;
}

/* Every recorded option must be the one in effect now, and every option in effect must have been
 * recorded (some are recorded only when on, e.g. --qat, --label-smoothing). Returns 0, or -1 with
 * err naming the first that differs and both values. */
static int state_check_options(const struct run *r, const struct st_file *f, const char *out,
			       char *err, size_t errlen)
{
	struct run_option opts[RUN_OPTIONS];
	int nopts = run_options(r, opts);
	for (int i = 0; i < nopts; i++) {
		const char *was = st_meta(f, opts[i].key);
		if (!was)
			return fail(err, errlen, "--resume: %s is %s in this run but was not given when "
				    "%s was written; give the same options, or remove %s and %s to start "
				    "over", opts[i].key + strlen("option "), opts[i].value, f->path, out,
				    f->path);
		if (strcmp(was, opts[i].value))
			return fail(err, errlen, "--resume: %s was %s when %s was written, this run has "
				    "%s; give the same options, or remove %s and %s to start over",
				    opts[i].key + strlen("option "), was, f->path, opts[i].value, out,
				    f->path);
	}
	const cJSON *m;
	cJSON_ArrayForEach(m, f->metadata) {
		if (strncmp(m->string, "option ", strlen("option ")))
			continue;
		int now = 0;
		for (int i = 0; i < nopts && !now; i++)
			now = !strcmp(opts[i].key, m->string);
		if (!now)
			return fail(err, errlen, "--resume: %s was %s when %s was written, this run does "
				    "not give it; give the same options, or remove %s and %s to start over",
				    m->string + strlen("option "), cJSON_IsString(m) ? m->valuestring : "?",
				    f->path, out, f->path);
	}
	return 0;
}

/* The activation ranges of a resume state, when it has them (a state of weights-only int8 QAT
 * has none: they are observed afresh, and it says so). Returns 0, or -1 with err. */
static int load_act_ranges(struct run *r, const struct st_file *f, char *err, size_t errlen)
{
	const char *json = st_meta(f, QAT_ACT_META);
	if (!json) {
		if (!r->o->quiet)
			log_info("%s: no activation ranges (weights-only QAT): observing them afresh",
				 f->path);
		return 0;
	}
	char why[512];
	if (qat_act_ranges_parse(r->act, json, why, sizeof why) < 0)
		return fail(err, errlen, "%s: %s", f->path, why);
	return 0;
}

/* The moving average of a resume state written with --ema (state_check_options has made sure it
 * was). Returns 0, or -1 with err. */
static int load_ema(struct ema *e, const struct st_file *f, char *err, size_t errlen)
{
	int64_t shape[1] = {(int64_t)(e->nparams + e->nbufs)};
	const struct st_tensor *t = st_expect(f, "resume.ema", ST_F32, 1, shape, err, errlen);
	if (!t)
		return -1;
	const char *u = st_meta(f, "ema_updates");
	long updates;
	if (!u || parse_int(u, 0, LONG_MAX, &updates))
		return fail(err, errlen, "%s: bad resume state (ema_updates)", f->path);
	memcpy(e->avg, t->data, t->nbytes);
	e->updates = updates;
	return 0;
}

static int parse_hex64(const char *s, int count, uint64_t *v)
{
	int used = 0;
	for (int i = 0; i < count; i++) {
		int len;
		if (sscanf(s + used, " %" SCNx64 "%n", &v[i], &len) != 1)
			return -1;
		used += len;
	}
	return s[used] ? -1 : 0;
}

/* Loads PATH.state into the run. Returns 0 with *epochs_done, -1 with err (the record fails) or
 * -2 with err (an option differs from the saved run's: a usage error). */
static int state_load(struct run *r, const char *out, struct sgd *opt, struct prng *rng,
		      int *epochs_done, double *seconds, char *err, size_t errlen)
{
	char path[4200];
	state_path(out, path, sizeof path);
	struct st_file f;
	if (st_open(path, &f, err, errlen))
		return -1;
	int rc = -1;
	const char *aid = st_meta(&f, "arch_id"), *ed = st_meta(&f, "epochs_done"),
		   *st = st_meta(&f, "sgd_steps"), *pr = st_meta(&f, "prng"),
		   *dr = st_meta(&f, "dropout_rng"), *sec = st_meta(&f, "seconds");
	long edl, stl;
	double secd;
	if (!aid || !ed || !st || !pr || !dr || !sec) {
		fail(err, errlen, "%s: incomplete resume state (written by an older lmnas?); remove "
		     "%s and %s to start over", path, out, path);
		goto out;
	}
	const char *recipe = st_meta(&f, "recipe");
	if (!recipe || strcmp(recipe, r->o->stage)) {
		fail(err, errlen, "%s: saved by %s, not %s; remove %s and %s to start over", path,
		     recipe ? recipe : "an unknown recipe", r->o->stage, out, path);
		rc = -2;
		goto out;
	}
	if (strcmp(aid, r->arch_id)) {
		fail(err, errlen, "%s: holds arch %s, the record's is %s (a different network)", path,
		     aid, r->arch_id);
		goto out;
	}
	if (state_check_options(r, &f, out, err, errlen)) {
		rc = -2;
		goto out;
	}
	int64_t shape[1] = {(int64_t)opt->n};
	const struct st_tensor *m = st_expect(&f, "resume.momentum", ST_F32, 1, shape, err, errlen);
	if (!m || checkpoint_load_file(r->n, &f, "resume.", err, errlen))
		goto out;
	if (parse_int(ed, 0, r->o->epochs, &edl) || parse_int(st, 0, LONG_MAX, &stl) ||
	    parse_double(sec, 0, 1e12, &secd) || parse_hex64(pr, 4, rng->s) ||
	    parse_hex64(dr, 1, &r->n->rng)) {
		fail(err, errlen, "%s: bad resume state (epochs_done, sgd_steps, seconds or RNG)", path);
		goto out;
	}
	if (r->act && load_act_ranges(r, &f, err, errlen))
		goto out;
	if (r->ema && load_ema(r->ema, &f, err, errlen))
		goto out;
	*epochs_done = (int)edl;
	opt->steps = stl;
	*seconds = secd;
	memcpy(opt->buf, m->data, m->nbytes);
	rc = 0;
out:
	st_close(&f);
	return rc;
}

/* Whether the checkpoint holds the state's epoch; when it does not (a run stopped between the
 * two writes, the state being renamed first, or the checkpoint is missing or unreadable), says
 * so in why. */
static int checkpoint_matches(const char *out, int epochs_done, char *why, size_t n)
{
	struct st_file f;
	char err[512];
	if (access(out, F_OK) != 0) {
		snprintf(why, n, "%s is missing", out);
		return 0;
	}
	if (st_open(out, &f, err, sizeof err)) {
		snprintf(why, n, "%s", err);
		return 0;
	}
	const char *ed = st_meta(&f, "epochs_done");
	long e = -1;
	int same = ed && !parse_int(ed, 0, INT_MAX, &e) && e == epochs_done;
	if (!same && e >= 0)
		snprintf(why, n, "%s holds epoch %ld but %s.state epoch %d (a run stopped between the "
			 "two writes)", out, e, out, epochs_done);
	else if (!same)
		snprintf(why, n, "%s names no epoch", out);
	st_close(&f);
	return same;
}

/* ---- one run ---- */

static void run_free(struct run *r)
{
	qat_act_free(r->act); /* before its net: it removes its tap */
	net_free(r->n);
	for (int t = 0; t < TRAIN_MAX_TEACHERS; t++)
		net_free(r->teachers[t]);
	qat_free(r->qat);
	ema_free(r->ema);
	free(r->x);
	free(r->y);
	free(r->yb);
	free(r->tlog);
	free(r->p);
	free(r->ps);
	free(r->pt);
	free(r->norm_json);
	free(r->names_json);
}

/* The teachers' logits on the batch in r->x (b images) into r->tlog [b][C]: one teacher's, or
 * the mean of an ensemble's. */
static void teacher_logits(struct run *r, int b)
{
	size_t n = (size_t)b * r->C;
	memcpy(r->tlog, net_forward(r->teachers[0], r->x, b, 0), n * sizeof(float));
	int nt = r->o->nteachers;
	if (nt == 1)
		return;
	for (int t = 1; t < nt; t++) {
		const float *l = net_forward(r->teachers[t], r->x, b, 0);
		for (size_t i = 0; i < n; i++)
			r->tlog[i] += l[i];
	}
	for (size_t i = 0; i < n; i++)
		r->tlog[i] /= (float)nt;
}

/* One epoch; returns 0, or -1 with err (divergence), or 1 when interrupted. */
static int run_epoch(struct run *r, struct sgd *opt, struct prng *rng, int epoch, double alpha,
		     double *loss_out, double *acc_out, double *lr_out, double *ips_out, char *err,
		     size_t errlen)
{
	const struct train_opts *o = r->o;
	struct train_data *td = r->td;
	int ntrain = td->split.ntrain, B = o->batch, C = r->C;
	int steps = (ntrain + B - 1) / B;
	int *order = xmalloc((size_t)ntrain * sizeof *order);
	memcpy(order, td->split.train, (size_t)ntrain * sizeof *order);
	prng_shuffle(rng, order, ntrain);
	struct augment aug = {.crop_pad = o->crop_pad, .hflip = o->hflip, .autoaugment = o->autoaugment,
			      .erase_p = o->erase_p};
	int use_aug = aug.crop_pad > 0 || aug.hflip || aug.autoaugment || aug.erase_p > 0;
	double loss_sum = 0, t0 = now_seconds(), lr = 0;
	long seen = 0, correct = 0;
	int rc = 0;
	for (int s = 0; s < steps; s++) {
		if (train_stop_requested) {
			rc = 1;
			break;
		}
		int b = ntrain - s * B < B ? ntrain - s * B : B;
		const int *idx = order + (size_t)s * B;
		dataset_batch(&td->train, idx, b, r->H, r->W, r->Cin, use_aug ? &aug : NULL, rng,
			      r->x, r->y);
		double lam = 1;
		if (o->mixup_alpha > 0)
			lam = mixup_batch(r->x, b, (size_t)r->Cin * r->H * r->W, r->y, r->yb,
					  o->mixup_alpha, rng);
		else
			memcpy(r->yb, r->y, (size_t)b * sizeof *r->y);
		const float *tl = NULL;
		if (o->recipe == RECIPE_KD) {
			if (r->o->nteachers) {
				teacher_logits(r, b);
			} else {
				for (int i = 0; i < b; i++)
					memcpy(r->tlog + (size_t)i * C, td->teacher_logits + (size_t)idx[i] * C,
					       (size_t)C * sizeof(float));
			}
			tl = r->tlog;
		}
		if (r->qat)
			qat_quantize(r->qat, r->n);
		const float *logits = net_forward(r->n, r->x, b, 1);
		float *dl = net_dlogits(r->n);
		double loss = tl ? train_loss_kd(logits, dl, r->y, tl, alpha, o->label_smoothing,
						 o->kd_temperature, b, C,
						 r->p, r->ps, r->pt)
				 : train_loss_mix(logits, dl, r->y, r->yb, lam, o->label_smoothing, b, C,
						  r->p);
		if (!isfinite(loss)) {
			if (r->qat)
				qat_restore(r->qat, r->n);
			rc = fail(err, errlen, "diverged at epoch %d (step %d of %d): the loss is %s",
				  epoch + 1, s + 1, steps, isnan(loss) ? "nan" : "inf");
			break;
		}
		for (int i = 0; i < b; i++)
			correct += logits_argmax(logits + (size_t)i * C, C) == (lam >= 0.5 ? r->y[i] : r->yb[i]);
		net_backward(r->n, b);
		if (r->qat) /* the straight-through estimator: grads at w_q update the float w */
			qat_restore(r->qat, r->n);
		lr = train_lr_at(o, epoch, s, steps);
		sgd_step(opt, r->n->params, r->n->grads, (float)lr);
		if (r->ema)
			ema_update(r->ema, r->n);
		loss_sum += loss * b;
		seen += b;
		if (s % 8 == 0 || s == steps - 1)
			progress_bar(o, epoch, s, steps, loss_sum / seen, (double)correct / seen,
				     seen / (now_seconds() - t0));
	}
	free(order);
	*loss_out = seen ? loss_sum / seen : 0;
	*acc_out = seen ? (double)correct / seen : 0;
	*lr_out = lr;
	*ips_out = seen / (now_seconds() - t0 + 1e-9);
	return rc;
}

static int build_student(const struct train_opts *o, const cJSON *rec, struct run *r,
			 const char **student_path, char *err, size_t errlen)
{
	struct arch a;
	int classes = r->C;
	*student_path = NULL;
	if (o->recipe == RECIPE_KD) {
		const char *sp = o->student ? o->student : record_string(rec, "full.checkpoint");
		if (!sp)
			return fail(err, errlen, "no student: give --student or a record with full.checkpoint");
		int ck_classes;
		if (checkpoint_info(sp, &a, &ck_classes, err, errlen))
			return -1;
		if (ck_classes != classes)
			return fail(err, errlen, "%s: %d classes, this run has %d", sp, ck_classes, classes);
		*student_path = sp;
	} else {
		const cJSON *aj = record_get(rec, "arch");
		if (!aj)
			return fail(err, errlen, "the record has no \"arch\"");
		if (arch_parse(aj, &a, err, errlen))
			return -1;
	}
	r->Cin = a.input_channels;
	if (!(r->Cin == r->td->train.c || r->td->train.c == 1 || (r->td->train.c == 3 && r->Cin == 1)))
		return fail(err, errlen, "the arch takes %d input channels, the images have %d", r->Cin,
			    r->td->train.c);
	char nerr[512];
	r->n = net_new(&a, r->H, r->W, classes, o->batch, r->dropout, nerr, sizeof nerr);
	if (!r->n)
		return fail(err, errlen, "arch: %s", nerr);
	if (*student_path) {
		if (checkpoint_load(r->n, *student_path, err, errlen))
			return -1;
	} else {
		net_init_weights(r->n, o->seed);
	}
	return 0;
}

/* --int8-ops (given with --qat ternary: train_parse_args) names convs of n that ternary would
 * make ternary, and fits the resume state's option record. Returns 0, or -1 with err. */
static int check_int8_ops(const struct train_opts *o, const struct net *n, char *err, size_t errlen)
{
	if (!o->int8_ops)
		return 0;
	if (strlen(o->int8_ops) >= sizeof ((struct run_option *)0)->value)
		return fail(err, errlen, "--int8-ops: the list is longer than %zu characters",
			    sizeof ((struct run_option *)0)->value - 1);
	return cost_int8_ops_check(&n->an, o->int8_ops, err, errlen);
}

/* Teacher t of --teacher, checked against the student, into r->teachers[t]. */
static int build_teacher(const struct train_opts *o, struct run *r, int t, char *err, size_t errlen)
{
	const char *path = o->teachers[t];
	struct arch a;
	int classes;
	if (checkpoint_info(path, &a, &classes, err, errlen))
		return -1;
	if (classes != r->C)
		return fail(err, errlen, "%s: %d classes, the student has %d", path, classes, r->C);
	if (a.input_channels != r->Cin)
		return fail(err, errlen, "%s: the teacher takes %d input channels, the student %d",
			    path, a.input_channels, r->Cin);
	char nerr[512];
	r->teachers[t] = net_new(&a, r->H, r->W, classes, o->batch, 0.0f, nerr, sizeof nerr);
	if (!r->teachers[t])
		return fail(err, errlen, "%s: arch: %s", path, nerr);
	return checkpoint_load(r->teachers[t], path, err, errlen);
}

/* kd's teachers: the --teacher checkpoints (an ensemble when more than one), or the logits of
 * --teacher-logits checked against the student's classes. */
static int build_teachers(const struct train_opts *o, struct run *r, char *err, size_t errlen)
{
	if (o->recipe != RECIPE_KD)
		return 0;
	if (r->td->teacher_logits) {
		if (r->td->teacher_classes != r->C)
			return fail(err, errlen, "%s: %d classes of logits, the student has %d",
				    o->teacher_logits, r->td->teacher_classes, r->C);
		return 0;
	}
	if (!o->nteachers)
		return fail(err, errlen, "no teacher: give --teacher CKPT or --teacher-logits F");
	for (int t = 0; t < o->nteachers; t++)
		if (build_teacher(o, r, t, err, errlen))
			return -1;
	return 0;
}

/* Re-estimates the BN running statistics for the final weights: `batches` forward passes in
 * training mode over unaugmented training images (no weight update). With momentum 0.1 the old
 * statistics keep 0.9^batches of their weight. */
static void bn_recalibrate(struct run *r, int batches)
{
	struct train_data *td = r->td;
	int ntrain = td->split.ntrain, B = r->o->batch;
	for (int k = 0, at = 0; k < batches; k++) {
		int b = ntrain < B ? ntrain : B;
		int idx[b];
		for (int i = 0; i < b; i++, at++)
			idx[i] = td->split.train[(at * 7919L) % ntrain]; /* a fixed stride through the set */
		dataset_batch(&td->train, idx, b, r->H, r->W, r->Cin, NULL, NULL, r->x, r->y);
		net_forward(r->n, r->x, b, 1);
	}
}

static void add_accuracies(struct run *r, cJSON *stage, const char *suffix, double *val,
			   double *test)
{
	const struct train_opts *o = r->o;
	struct train_data *td = r->td;
	char key[32];
	*val = -1; /* no validation split (--val-split 0) */
	if (td->split.nval) {
		*val = evaluate(r->n, &td->train, td->split.val, td->split.nval, r->H, r->W, r->Cin,
				o->batch, r->x, r->y);
		snprintf(key, sizeof key, "val_acc%s", suffix);
		cJSON_AddNumberToObject(stage, key, *val);
	}
	*test = -1;
	if (td->have_test) {
		int nt = td->test.n;
		if (o->test_limit > 0 && o->test_limit < nt)
			nt = (int)o->test_limit;
		int *all = xmalloc((size_t)nt * sizeof *all);
		for (int i = 0; i < nt; i++)
			all[i] = i;
		*test = evaluate(r->n, &td->test, all, nt, r->H, r->W, r->Cin, o->batch, r->x, r->y);
		free(all);
		snprintf(key, sizeof key, "test_acc%s", suffix);
		cJSON_AddNumberToObject(stage, key, *test);
	}
}

/* The input size, class count and dropout for a record: the options, then the record's own
 * resolution, classes and dropout (lmnas-record(5)); the classes must cover the dataset's labels. */
static int run_settings(struct run *r, const cJSON *rec, char *err, size_t errlen)
{
	const struct train_opts *o = r->o;
	const struct dataset *d = &r->td->train;
	r->H = o->res_h ? o->res_h : d->h;
	r->W = o->res_w ? o->res_w : d->w;
	r->C = o->classes ? o->classes : d->classes;
	r->dropout = o->dropout;
	if (record_settings(rec, &r->H, &r->W, &r->C, &r->dropout, err, errlen))
		return -1;
	if (r->C < d->classes)
		return fail(err, errlen, "%d classes%s, but the dataset's labels go up to %d",
			    r->C, record_get(rec, "classes") ? " (the record's)" : "", d->classes - 1);
	r->norm_json = dataset_norm_json(d);
	r->names_json = dataset_class_names_json(d);
	if (d->resize)
		snprintf(r->resize, sizeof r->resize, "%s to %dx%d at load, then bilinear to %dx%d",
			 d->resize, d->h, d->w, r->H, r->W);
	else
		snprintf(r->resize, sizeof r->resize, "bilinear from %dx%d to %dx%d", d->h, d->w, r->H,
			 r->W);
	return 0;
}

/* Continues from PATH.state when asked and it exists. Returns 0 (*start: the epochs done), -1
 * with err, or -2 with err (an option differs: a usage error). */
static int resume(struct run *r, const char *out, struct sgd *opt, struct prng *rng, int *start,
		  double *seconds, char *err, size_t errlen)
{
	char path[4200];
	state_path(out, path, sizeof path);
	if (access(path, F_OK) != 0) {
		if (access(out, F_OK) == 0)
			return fail(err, errlen, "%s exists but %s does not: cannot resume (remove %s "
				    "to start over)", out, path, out);
		return 0;
	}
	int rc = state_load(r, out, opt, rng, start, seconds, err, errlen);
	if (rc)
		return rc;
	char why[1024];
	if (!checkpoint_matches(out, *start, why, sizeof why)) {
		/* Make the pair consistent again: the checkpoint from the state's weights. */
		if (checkpoint_write(r, out, *start, 0, err, errlen))
			return -1;
		if (!r->o->quiet)
			log_info("%s: rewrote %s from %s", why, out, path);
	}
	if (!r->o->quiet)
		log_info("resuming %s after epoch %d", out, *start);
	return 0;
}

/* The step's buffers: a batch of images and labels, teacher logits, per-class scratch. */
static void run_buffers(struct run *r)
{
	const int B = r->o->batch;
	r->x = xmalloc((size_t)B * r->Cin * r->H * r->W * sizeof *r->x);
	r->y = xmalloc((size_t)B * sizeof *r->y);
	r->yb = xmalloc((size_t)B * sizeof *r->yb);
	r->tlog = xmalloc((size_t)B * r->C * sizeof *r->tlog);
	r->p = xmalloc((size_t)r->C * sizeof *r->p);
	r->ps = xmalloc((size_t)r->C * sizeof *r->ps);
	r->pt = xmalloc((size_t)r->C * sizeof *r->pt);
}

/* out[n]: the checkpoint path for this record ("" without --out); a temporary file a killed run
 * left beside it or its state is removed. */
static void out_path(const struct run *r, const cJSON *rec, char *out, size_t n)
{
	out[0] = 0;
	if (!r->o->out)
		return;
	const char *rid = record_string(rec, "id");
	train_out_path(r->o->out, rid ? rid : r->arch_id, out, n);
	char state[4200];
	state_path(out, state, sizeof state);
	remove_stale_tmp(out);
	remove_stale_tmp(state);
}

/* What the epochs left: the last epoch's figures, the mean speed, the seconds in all (resumed
 * runs included). */
struct epochs_done {
	double loss, acc, lr, images_per_s, seconds;
};

/* Epochs from the first not yet done (--resume) to o->epochs, each saved to out (when given)
 * as it ends. 0, or -1 with err (*interrupted set when a signal stopped it), or -2 with err
 * (the saved run's options differ: a usage error, see state_load). */
static int train_epochs(struct run *r, const char *out, int *interrupted,
			struct epochs_done *done, char *err, size_t errlen)
{
	const struct train_opts *o = r->o;
	struct sgd *opt = sgd_new(r->n->nparams, (float)o->momentum, (float)o->weight_decay,
				  o->nesterov);
	struct prng rng;
	prng_seed(&rng, o->seed);
	int start = 0, rc = -1;
	double seconds_before = 0, t0 = now_seconds(), ips = 0, ips_sum = 0;
	*done = (struct epochs_done){0};
	if (o->resume && out[0] &&
	    (rc = resume(r, out, opt, &rng, &start, &seconds_before, err, errlen)) != 0)
		goto out;
	rc = -1;
	int e;
	for (e = start; e < o->epochs; e++) {
		double te = now_seconds(), alpha = train_kd_alpha(o, e);
		int st = run_epoch(r, opt, &rng, e, alpha, &done->loss, &done->acc, &done->lr, &ips,
				   err, errlen);
		if (st < 0)
			goto out;
		if (st > 0) {
			*interrupted = 1;
			if (out[0] && e > 0)
				fail(err, errlen, "interrupted during epoch %d; %s holds epoch %d (--resume continues)",
				     e + 1, out, e);
			else
				fail(err, errlen, "interrupted during epoch %d%s", e + 1,
				     out[0] ? "" : " (give --out to keep checkpoints)");
			goto out;
		}
		ips_sum += ips;
		progress_epoch(o, e, done->loss, done->acc, done->lr, ips, now_seconds() - te, alpha);
		/* The state first: a kill between the two renames leaves it the newer. */
		if (out[0] && (state_save(r, out, opt, &rng, e + 1, seconds_before + now_seconds() - t0,
					  err, errlen) ||
			       checkpoint_write(r, out, e + 1, 0, err, errlen)))
			goto out;
	}
	done->images_per_s = e > start ? ips_sum / (e - start) : 0;
	done->seconds = seconds_before + now_seconds() - t0;
	rc = 0;
out:
	sgd_free(opt);
	return rc;
}

/* The stage's figures after training (the accuracies are added before). */
static void stage_results(const struct run *r, cJSON *stage, const struct epochs_done *d,
			  const char *out)
{
	const struct train_opts *o = r->o;
	cJSON_AddNumberToObject(stage, "epochs", o->epochs);
	cJSON_AddNumberToObject(stage, "seconds", d->seconds);
	cJSON_AddNumberToObject(stage, "images_per_s", d->images_per_s);
	cJSON_AddNumberToObject(stage, "train_loss", d->loss);
	cJSON_AddNumberToObject(stage, "train_acc", d->acc);
	cJSON_AddNumberToObject(stage, "train_images", r->td->split.ntrain);
	cJSON_AddNumberToObject(stage, "val_images", r->td->split.nval);
	char res[32];
	snprintf(res, sizeof res, "%dx%d", r->H, r->W);
	cJSON_AddStringToObject(stage, "resolution", res);
	cJSON_AddNumberToObject(stage, "classes", r->C);
	cJSON_AddNumberToObject(stage, "dropout", r->dropout);
	cJSON_AddNumberToObject(stage, "seed", (double)o->seed);
	if (o->bn_recalibrate > 0)
		cJSON_AddNumberToObject(stage, "bn_recalibrate", o->bn_recalibrate);
	if (o->ema_decay > 0)
		cJSON_AddNumberToObject(stage, "ema", o->ema_decay);
	if (o->precision != GEMM_FP32)
		cJSON_AddStringToObject(stage, "precision", gemm_precision_name(o->precision));
	if (o->recipe == RECIPE_KD)
		cJSON_AddNumberToObject(stage, "alpha_final", train_kd_alpha(o, o->epochs));
	if (r->qat) {
		cJSON_AddStringToObject(stage, "qat", qat_mode_name(o->qat));
		if (o->qat == QAT_TERNARY)
			cJSON_AddNumberToObject(stage, "sparsity", o->qat_sparsity);
		if (r->act)
			cJSON_AddNumberToObject(stage, "qat_activation_ranges", qat_act_nranges(r->act));
	}
	if (out[0])
		cJSON_AddStringToObject(stage, "checkpoint", out);
}

/* "record ID: val 91.20% test 90.85% in 300s" (val n/a without a validation split). */
static void log_result(const char *rid, double val, double test, double seconds)
{
	char v[16] = "n/a", t[32] = "";
	if (val >= 0)
		snprintf(v, sizeof v, "%.2f%%", 100 * val);
	if (test >= 0)
		snprintf(t, sizeof t, " test %.2f%%", 100 * test);
	log_info("record %s: val %s%s in %.0fs", rid, v, t, seconds);
}

int train_record(const struct train_opts *o, struct train_data *td, const cJSON *rec,
		 cJSON *stage, int *interrupted, char *err, size_t errlen)
{
	struct run r = {.o = o, .td = td};
	*interrupted = 0;
	const char *student_path, *rid = record_string(rec, "id");
	int rc = -1;
	if (o->out && strstr(o->out, "{id}") && rid && !train_id_plain(rid))
		return fail(err, errlen, "the record id \"%.64s\" is not a plain name (letters, "
			    "digits, '.', '_', '-'; not starting with '.'), so it cannot name the "
			    "--out file %s", rid, o->out);
	if (run_settings(&r, rec, err, errlen) ||
	    build_student(o, rec, &r, &student_path, err, errlen) ||
	    build_teachers(o, &r, err, errlen) || check_int8_ops(o, r.n, err, errlen))
		goto out;
	if (o->qat != QAT_OFF)
		r.qat = qat_new(r.n, o->qat, o->qat_sparsity, o->int8_ops);
	if (o->qat == QAT_INT8)
		r.act = qat_act_new(r.n);
	if (o->ema_decay > 0) /* from the initial (kd: the student's) weights */
		r.ema = ema_new(r.n, o->ema_decay);
	run_buffers(&r);
	arch_id(&r.n->arch, r.arch_id);
	char out[4096];
	out_path(&r, rec, out, sizeof out);

	double val0 = -1, test0 = -1, val, test;
	if (o->recipe == RECIPE_KD)
		add_accuracies(&r, stage, "_before", &val0, &test0);
	struct epochs_done done;
	if ((rc = train_epochs(&r, out, interrupted, &done, err, errlen)) != 0)
		goto out;
	rc = -1;
	if (r.ema) { /* from here on the network is the average */
		ema_swap(r.ema, r.n);
		ema_free(r.ema);
		r.ema = NULL;
	}
	if (r.qat) /* from here on the network is the quantised one */
		qat_quantize(r.qat, r.n);
	if (o->bn_recalibrate > 0) {
		bn_recalibrate(&r, o->bn_recalibrate);
		if (out[0] && checkpoint_write(&r, out, o->epochs, 1, err, errlen))
			goto out;
	}
	add_accuracies(&r, stage, "", &val, &test);
	stage_results(&r, stage, &done, out);
	if (!o->quiet)
		log_result(rid ? rid : r.arch_id, val, test, done.seconds);
	rc = 0;
out:
	run_free(&r);
	return rc;
}
