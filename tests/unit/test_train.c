/* test_train.c — the recipes' schedules and losses: learning rate (warm-up, steps, cosine), the
 * KD alpha schedule, MixUp and distillation losses with their gradients checked by central
 * differences, option helpers. */
#include "t.h"
#include "core/record.h"
#include "engine/train.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

static void test_lr(void)
{
	struct train_opts o;
	train_defaults(&o, RECIPE_MINI);
	int spe = 100;
	T_NEAR(train_lr_at(&o, 0, 0, spe), 0.5 / 1000, 1e-12, "mini: first step 0.5/(10 epochs x 100 steps)");
	T_NEAR(train_lr_at(&o, 4, 99, spe), 0.25, 1e-12, "mini: half-way through the warm-up 0.25");
	T_NEAR(train_lr_at(&o, 9, 99, spe), 0.5, 1e-12, "mini: end of warm-up 0.5");
	T_NEAR(train_lr_at(&o, 10, 0, spe), 0.5, 1e-12, "mini: epochs 10-19 at 0.5");
	T_NEAR(train_lr_at(&o, 19, 99, spe), 0.5, 1e-12, "mini: epoch 19 still 0.5");
	T_NEAR(train_lr_at(&o, 20, 0, spe), 0.05, 1e-12, "mini: epoch 20 x0.1");
	T_NEAR(train_lr_at(&o, 29, 99, spe), 0.05, 1e-12, "mini: epoch 29 0.05");

	train_defaults(&o, RECIPE_FULL);
	T_NEAR(train_lr_at(&o, 19, 99, spe), 0.5, 1e-12, "full: warm-up to 0.5 over 20 epochs");
	T_NEAR(train_lr_at(&o, 20, 0, spe), 0.5, 1e-12, "full: cosine starts at 0.5");
	T_NEAR(train_lr_at(&o, 70, 0, spe), 0.25, 1e-12, "full: cosine half-way 0.25");
	T_CHECK(train_lr_at(&o, 119, 99, spe) < 1e-5, "full: cosine ends near 0");

	train_defaults(&o, RECIPE_MINI);
	o.epochs = 3;
	train_finish_opts(&o, 1, 0, 0);
	T_NEAR(o.warmup_epochs, 1, 1e-12, "mini --epochs 3: warm-up scaled to 1 epoch");
	T_NEAR(o.step_every, 1, 1e-12, "mini --epochs 3: step every epoch");
	T_NEAR(train_lr_at(&o, 2, 0, spe), 0.05, 1e-12, "mini --epochs 3: third epoch at 0.05");
	train_defaults(&o, RECIPE_MINI);
	o.epochs = 3;
	o.warmup_epochs = 0;
	train_finish_opts(&o, 1, 1, 0);
	T_NEAR(train_lr_at(&o, 0, 0, spe), 0.5, 1e-12, "--warmup-epochs 0 given: no warm-up");
	/* --epochs 1 with 8 steps: warm-up 1/3 epoch = 2.67 steps, never above the peak; the steps
	 * of 1/3 epoch follow the fraction of the epoch. */
	train_defaults(&o, RECIPE_MINI);
	o.epochs = 1;
	train_finish_opts(&o, 1, 0, 0);
	double worst = 0;
	for (int s = 0; s < 8; s++)
		worst = train_lr_at(&o, 0, s, 8) > worst ? train_lr_at(&o, 0, s, 8) : worst;
	T_NEAR(worst, 0.5, 1e-12, "a fractional warm-up never overshoots the peak");
	T_NEAR(train_lr_at(&o, 0, 3, 8), 0.5, 1e-12, "--epochs 1: step 3 (t = 0.375) at the peak");
	T_NEAR(train_lr_at(&o, 0, 6, 8), 0.05, 1e-12, "--epochs 1: step 6 (t = 0.75) x0.1");
}

static void test_alpha(void)
{
	struct train_opts o;
	train_defaults(&o, RECIPE_KD);
	T_NEAR(train_kd_alpha(&o, 0), 0.4, 1e-12, "kd alpha starts at 0.4");
	double a1 = 0.4 + 0.4 * 1 / 50.0, a2 = a1 + (0.8 - a1) * 2 / 50.0;
	T_NEAR(train_kd_alpha(&o, 1), a1, 1e-12, "alpha after epoch 1: a += (0.8 - a)·1/50");
	T_NEAR(train_kd_alpha(&o, 2), a2, 1e-12, "alpha after epoch 2: a += (0.8 - a)·2/50");
	double prev = 0.4;
	int mono = 1;
	for (int e = 1; e <= 50; e++) {
		double a = train_kd_alpha(&o, e);
		mono &= a >= prev && a <= 0.8;
		prev = a;
	}
	T_CHECK(mono && prev > 0.79, "alpha rises monotonically to 0.8 (%.6f)", prev);
}

/* Central differences of loss(logits) against the analytic dlogits. */
static double check_grad_eps(int kd, double lam_or_alpha, double eps)
{
	enum { B = 3, C = 4 };
	float z[B * C], tl[B * C], dz[B * C], dummy[B * C];
	int32_t ya[B] = {0, 2, 3}, yb[B] = {1, 2, 0};
	double p[C], ps[C], pt[C];
	for (int i = 0; i < B * C; i++) {
		z[i] = (float)(0.7 * sin(i * 1.3) + 0.1 * i);
		tl[i] = (float)(2.0 * cos(i * 0.9));
	}
	if (kd)
		train_loss_kd(z, dz, ya, tl, lam_or_alpha, eps, 2.5, B, C, p, ps, pt);
	else
		train_loss_mix(z, dz, ya, yb, lam_or_alpha, eps, B, C, p);
	double worst = 0, h = 1e-2;
	for (int i = 0; i < B * C; i++) {
		float keep = z[i];
		z[i] = keep + (float)h;
		double up = kd ? train_loss_kd(z, dummy, ya, tl, lam_or_alpha, eps, 2.5, B, C, p, ps, pt)
			       : train_loss_mix(z, dummy, ya, yb, lam_or_alpha, eps, B, C, p);
		z[i] = keep - (float)h;
		double dn = kd ? train_loss_kd(z, dummy, ya, tl, lam_or_alpha, eps, 2.5, B, C, p, ps, pt)
			       : train_loss_mix(z, dummy, ya, yb, lam_or_alpha, eps, B, C, p);
		z[i] = keep;
		double num = (up - dn) / (2 * h), err = fabs(num - dz[i]);
		worst = err > worst ? err : worst;
	}
	return worst;
}

static double check_grad(int kd, double lam_or_alpha)
{
	return check_grad_eps(kd, lam_or_alpha, 0);
}

static void test_losses(void)
{
	float z[2] = {0, 0}, dz[2];
	int32_t y[1] = {1};
	double p[2], ps[2], pt[2];
	T_NEAR(train_loss_mix(z, dz, y, y, 1.0, 0, 1, 2, p), log(2.0), 1e-9, "CE of equal logits = ln 2");
	T_NEAR(dz[1], -0.5, 1e-7, "d CE / d z_label = p - 1");
	float zs[3] = {1, 2, 3}, zt[3] = {1, 2, 3}, d3[3];
	int32_t y3[1] = {2};
	double p3[3], ps3[3], pt3[3];
	double ce = train_loss_mix(zs, d3, y3, y3, 1.0, 0, 1, 3, p3);
	T_NEAR(train_loss_kd(zs, d3, y3, zt, 1.0, 0, 10, 1, 3, p3, ps3, pt3), ce, 1e-9, "kd with alpha 1 is CE");
	T_NEAR(train_loss_kd(zs, d3, y3, zt, 0.0, 0, 10, 1, 3, p3, ps3, pt3), 0, 1e-9,
	       "kd with alpha 0 and the teacher's own logits: KL 0");
	/* Hand value: T = 1, alpha 0, teacher one-hot-ish: KL = sum pt log(pt/ps). */
	float a2[2] = {0, 0}, t2[2] = {0, (float)log(3.0)}; /* pt = (1/4, 3/4), ps = (1/2, 1/2) */
	double kl = 0.25 * log(0.5) + 0.75 * log(1.5);
	T_NEAR(train_loss_kd(a2, dz, y, t2, 0.0, 0, 1.0, 1, 2, p, ps, pt), kl, 1e-6, "KL(p_t || p_s) by hand");
	T_NEAR(dz[0], 0.5 - 0.25, 1e-6, "d KL / d z_s = (p_s - p_t)·T at T = 1");
	T_CHECK(check_grad(0, 1.0) < 1e-4, "CE gradient vs central differences");
	T_CHECK(check_grad(0, 0.3) < 1e-4, "MixUp loss gradient vs central differences");
	T_CHECK(check_grad(1, 0.4) < 1e-4, "KD loss gradient vs central differences (T 2.5)");
	T_CHECK(check_grad(1, 0.0) < 1e-4, "pure KL gradient vs central differences");
	T_CHECK(check_grad_eps(0, 1.0, 0.1) < 1e-4, "label-smoothed CE gradient vs central differences");
	T_CHECK(check_grad_eps(0, 0.3, 0.2) < 1e-4, "label-smoothed MixUp gradient vs central differences");
	T_CHECK(check_grad_eps(1, 0.4, 0.1) < 1e-4, "KD loss with a smoothed CE: gradient vs central differences");
	/* By hand: C = 3, eps 0.3, logits (1, 2, 3), label 2: q = (0.1, 0.1, 0.8). */
	double pz[3], s3 = exp(1.0) + exp(2.0) + exp(3.0), ls;
	for (int k = 0; k < 3; k++)
		pz[k] = exp(k + 1.0) / s3;
	ls = train_loss_mix(zs, d3, y3, y3, 1.0, 0.3, 1, 3, p3);
	T_NEAR(ls, -(0.1 * log(pz[0]) + 0.1 * log(pz[1]) + 0.8 * log(pz[2])), 1e-9,
	       "label smoothing 0.3: CE against (0.1, 0.1, 0.8)");
	T_NEAR(d3[0], pz[0] - 0.1, 1e-6, "label smoothing: d / d z_k = p_k - q_k");
}

static void test_helpers(void)
{
	char buf[128];
	train_out_path("runs/{id}.safetensors", "abc123", buf, sizeof buf);
	T_CHECK(!strcmp(buf, "runs/abc123.safetensors"), "{id} replaced in --out (%s)", buf);
	train_out_path("net.safetensors", "abc", buf, sizeof buf);
	T_CHECK(!strcmp(buf, "net.safetensors"), "--out without {id} kept");
	int h, w;
	T_CHECK(train_parse_resolution("160", &h, &w) == 0 && h == 160 && w == 160, "resolution 160");
	T_CHECK(train_parse_resolution("24x32", &h, &w) == 0 && h == 24 && w == 32, "resolution 24x32");
	T_CHECK(train_parse_resolution("0", &h, &w) == -1 && train_parse_resolution("3x", &h, &w) == -1,
		"bad resolutions refused");
	T_CHECK(train_option_arity("epochs") == 1 && train_option_arity("resume") == 0 &&
			train_option_arity("nonsense") == -1,
		"option arities");
}

/* A record's own resolution, classes and dropout (lmnas-record(5)). */
static void test_record_settings(void)
{
	static const struct { const char *json; int ok, h, w, classes; float dropout; } cases[] = {
		{"{}", 1, 28, 28, 10, 0.2f},
		{"{\"resolution\":32}", 1, 32, 32, 10, 0.2f},
		{"{\"resolution\":[24,40],\"classes\":100,\"dropout\":0}", 1, 24, 40, 100, 0.0f},
		{"{\"resolution\":\"20x16\"}", 1, 20, 16, 10, 0.2f},
		{"{\"resolution\":0}", 0, 0, 0, 0, 0},
		{"{\"resolution\":\"big\"}", 0, 0, 0, 0, 0},
		{"{\"resolution\":[1.5,2]}", 0, 0, 0, 0, 0},
		{"{\"classes\":0}", 0, 0, 0, 0, 0},
		{"{\"classes\":\"10\"}", 0, 0, 0, 0, 0},
		{"{\"dropout\":1}", 0, 0, 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *rec = cJSON_Parse(cases[i].json);
		int h = 28, w = 28, classes = 10;
		float dropout = 0.2f;
		char err[256] = "";
		int rc = record_settings(rec, &h, &w, &classes, &dropout, err, sizeof err);
		if (cases[i].ok)
			T_CHECK(rc == 0 && h == cases[i].h && w == cases[i].w &&
					classes == cases[i].classes && dropout == cases[i].dropout,
				"record settings %s -> %dx%d, %d classes, dropout %g", cases[i].json, h,
				w, classes, dropout);
		else
			T_CHECK(rc == -1 && strstr(err, "the record's"), "record settings %s refused (%s)",
				cases[i].json, err);
		cJSON_Delete(rec);
	}
}

int main(void)
{
	test_lr();
	test_alpha();
	test_losses();
	test_helpers();
	test_record_settings();
	return t_done();
}
