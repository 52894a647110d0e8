/* test_quant.c — int8 arithmetic (TFLite requantisation rules), the kernels, and the int8 model:
 * save/load gives bit-identical results, the arena equals check-cost's, the int8 model agrees with
 * the float one. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "t.h"
#include "core/safetensors.h"
#include "cost/cost.h"
#include "int8/fold.h"
#include "int8/int8_ref.h"
#include "engine/nn_head.h"
#include "int8/quant.h"
#include "core/record.h"
#include "core/util.h"

static uint64_t lcg = 88172645463325252ull;
static uint32_t rnd(void)
{
	lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(lcg >> 33);
}

static void test_arithmetic(void)
{
	int32_t m;
	int s;
	quant_multiplier(0.5, &m, &s);
	T_CHECK(m == 1073741824 && s == 0, "QuantizeMultiplier(0.5) = 2^30, shift 0");
	quant_multiplier(0.75 / 64, &m, &s);
	T_CHECK(m == 1610612736 && s == -6, "QuantizeMultiplier(0.75/64) = 0.75*2^31, shift -6");
	quant_multiplier(3.0, &m, &s);
	T_CHECK(m == 1610612736 && s == 2, "QuantizeMultiplier(3) = 0.75*2^31, shift 2");
	T_CHECK(lmq_rdbpot(5, 1) == 3 && lmq_rdbpot(-5, 1) == -3 && lmq_rdbpot(4, 1) == 2 &&
		lmq_rdbpot(-6, 2) == -2, "RoundingDivideByPOT rounds half away from zero");
	T_CHECK(lmq_srdhm(INT32_MIN, INT32_MIN) == INT32_MAX, "SRDHM saturates INT32_MIN^2");
	/* MultiplyByQuantizedMultiplier: two roundings (high mul, then shift), so within one unit
	 * of the exact product, and within a half unit plus the multiplier's 2^-31 error mostly */
	double worst = 0;
	int near = 0, cases = 20000;
	for (int i = 0; i < cases; i++) {
		int32_t x = (int32_t)(rnd() % 2000001) - 1000000;
		double real = (rnd() % 100000 + 1) / 1e5 * (i % 3 == 0 ? 1e-3 : 1e-1);
		quant_multiplier(real, &m, &s);
		double d = fabs(lmq_mbqm(x, m, s) - x * real);
		worst = d > worst ? d : worst;
		near += d <= 0.5 + 1e-4;
	}
	printf("# MultiplyByQuantizedMultiplier: worst error %.4f, %d/%d within half a unit\n", worst,
	       near, cases);
	T_CHECK(worst <= 1.0, "MultiplyByQuantizedMultiplier is within one unit of x*real");
	T_CHECK(near >= cases * 95 / 100, "and rounds to nearest in >= 95%% of cases");
}

/* In-place depthwise (output over the input, with scratch) equals out of place. */
static void test_dw_inplace(void)
{
	int h = 9, w = 7, c = 5, k = 3;
	int ok = 1;
	for (int stride = 1; stride <= 2; stride++) {
		int oh = (h + 2 - k) / stride + 1, ow = (w + 2 - k) / stride + 1;
		int8_t x[9 * 7 * 5], buf[9 * 7 * 5], y[9 * 7 * 5], wt[5 * 9], scratch[63];
		int32_t bias[5], mult[5];
		int8_t shift[5];
		for (int i = 0; i < h * w * c; i++)
			x[i] = buf[i] = (int8_t)(rnd() % 256 - 128);
		for (int i = 0; i < c * k * k; i++)
			wt[i] = (int8_t)(rnd() % 255 - 127);
		for (int i = 0; i < c; i++) {
			bias[i] = (int32_t)(rnd() % 2001) - 1000;
			int sh;
			quant_multiplier(0.003 + 0.001 * i, &mult[i], &sh);
			shift[i] = (int8_t)sh;
		}
		struct lmq_rq rq = {bias, mult, shift, -3, -128, 127, 0};
		lmq_dw(x, h, w, c, 7, wt, k, stride, 1, oh, ow, &rq, y, 0);
		lmq_dw(buf, h, w, c, 7, wt, k, stride, 1, oh, ow, &rq, buf, scratch);
		ok &= !memcmp(y, buf, (size_t)oh * ow * c);
	}
	T_CHECK(ok, "in-place depthwise (stride 1 and 2) equals out-of-place");
}

/* Random trits as int8 codes -1/0/1 in w and packed base 3 (int8_ref.h) in w3 [ceil(n/5)]. */
static void random_trits(int8_t *w, uint8_t *w3, int n)
{
	static const int pow3[5] = {1, 3, 9, 27, 81};
	memset(w3, 0, (size_t)(n + 4) / 5);
	for (int j = 0; j < n; j++) {
		int t = (int)(rnd() % 3);
		w[j] = (int8_t)(t == 1 ? 1 : t == 2 ? -1 : 0);
		w3[j / 5] = (uint8_t)(w3[j / 5] + t * pow3[j % 5]);
	}
}

/* Random ternary requantisation of cout channels: the narrow form in rq3 and the same values
 * as int32 in rq (bias16 * 2^bshift, mult16 * 2^16), biases large enough to need bshift. */
struct rq_pair {
	int16_t bias16[16], mult16[16];
	int32_t bias[16], mult[16];
	int8_t shift[16];
	struct lmq_rq rq;
	struct lmq_rq3 rq3;
};

static void random_rq_pair(struct rq_pair *p, int cout, int bshift, int lo, int hi)
{
	for (int o = 0; o < cout; o++) {
		p->bias16[o] = (int16_t)((int32_t)(rnd() % 65536) - 32768);
		p->mult16[o] = (int16_t)(16384 + rnd() % 16384);
		p->shift[o] = (int8_t)(-(int)(rnd() % 8) - bshift);
		p->bias[o] = p->bias16[o] * (1 << bshift);
		p->mult[o] = p->mult16[o] * 65536;
	}
	struct lmq_rq rq = {p->bias, p->mult, p->shift, 5, lo, hi, 0};
	struct lmq_rq3 rq3 = {p->bias16, p->mult16, p->shift, 0, bshift, 5, lo, hi};
	p->rq = rq;
	p->rq3 = rq3;
}

/* The packed ternary kernels equal the int8 kernels on weights in {-1, 0, 1} with the same
 * requantisation: pointwise (at every start trit of a channel: cin 13 is not a multiple of 5),
 * depthwise out of place, in place with a scratch, and row by row from a ring. */
static void test_ternary_kernels(void)
{
	enum { NP = 5, CIN = 13, COUT = 7 };
	int8_t x[NP * CIN], w[COUT * CIN], y1[NP * COUT], y2[NP * COUT];
	uint8_t w3[(COUT * CIN + 4) / 5];
	struct rq_pair p;
	for (int i = 0; i < NP * CIN; i++)
		x[i] = (int8_t)(rnd() % 256 - 128);
	random_trits(w, w3, COUT * CIN);
	random_rq_pair(&p, COUT, 3, -128, 127);
	lmq_pw(x, NP, CIN, -7, w, COUT, &p.rq, y1);
	lmq_pw_t3(x, NP, CIN, -7, w3, COUT, &p.rq3, y2);
	T_CHECK(!memcmp(y1, y2, sizeof y1), "base-3 packed ternary pointwise equals int8 pointwise");

	int ok = 1, row_ok = 1;
	for (int k = 3; k <= 7; k += 2)
		for (int stride = 1; stride <= 2; stride++) {
			enum { H = 9, W = 8, C = 11 };
			int pad = k / 2, oh = (H + 2 * pad - k) / stride + 1, ow = (W + 2 * pad - k) / stride + 1;
			int8_t xd[H * W * C], wd[C * 49], ya[H * W * C], yb[H * W * C], buf[H * W * C];
			int8_t scratch[H * W], row[W * C];
			uint8_t wd3[(C * 49 + 4) / 5];
			for (int i = 0; i < H * W * C; i++)
				xd[i] = (int8_t)(rnd() % 256 - 128);
			random_trits(wd, wd3, C * k * k);
			random_rq_pair(&p, C, (k + stride) % 4, -20, 90);
			lmq_dw(xd, H, W, C, 3, wd, k, stride, pad, oh, ow, &p.rq, ya, 0);
			lmq_dw_t3(xd, H, W, C, 3, wd3, k, stride, pad, oh, ow, &p.rq3, yb, 0);
			ok &= !memcmp(ya, yb, (size_t)oh * ow * C);
			memcpy(buf, xd, sizeof buf);
			lmq_dw_t3(buf, H, W, C, 3, wd3, k, stride, pad, oh, ow, &p.rq3, buf, scratch);
			ok &= !memcmp(ya, buf, (size_t)oh * ow * C);
			for (int r = 0; r < oh; r++) { /* a ring of all rows: row r as the whole */
				lmq_dw_row_t3(xd, H, H, W, C, 3, wd3, k, stride, pad, r, ow, &p.rq3, row);
				row_ok &= !memcmp(row, ya + (size_t)r * ow * C, (size_t)ow * C);
			}
		}
	T_CHECK(ok, "base-3 ternary depthwise (3x3..7x7, stride 1 and 2, in place) equals int8 depthwise");
	T_CHECK(row_ok, "ternary depthwise row by row equals the whole tensor");
}

/* quant_ternary_params: the smallest bias shift, 15-bit multipliers with the 2^15 carry, the
 * device values written back, and a loaded file's values that are not of that form refused. */
static void test_ternary_params(void)
{
	int32_t bias[3] = {40000, -70000, 5}, mult[3] = {(int32_t)2147483000, 1 << 30, 1234567890};
	int8_t shift[3] = {-3, -4, -5};
	struct qop o = {.cout = 3, .bias = bias, .mult = mult, .shift = shift};
	char err[256];
	snprintf(o.name, sizeof o.name, "t");
	T_CHECK(!quant_ternary_params(&o, 0, err, sizeof err), "ternary params of a conv");
	T_CHECK(o.bshift == 2, "bias shift 2 (-70000 / 4 = -17500 fits int16, / 2 does not): %d",
		o.bshift);
	T_CHECK(o.bias16[0] == 10000 && o.bias16[1] == -17500 && o.bias16[2] == 1 && bias[2] == 4,
		"biases rounded to multiples of 2^2 (5 -> 4)");
	T_CHECK(o.mult16[0] == 16384 && shift[0] == -2 && mult[0] == 1 << 30,
		"a multiplier rounding to 2^15 becomes 2^14 with the shift one higher");
	T_CHECK(o.mult16[1] == 16384 && o.mult16[2] == (int16_t)((1234567890 + 32768) >> 16) &&
		mult[2] == o.mult16[2] * 65536, "multipliers rounded to 15 bits");
	T_CHECK(!quant_ternary_params(&o, 1, err, sizeof err), "the rounded values are exact");
	bias[2] = 5;
	T_CHECK(quant_ternary_params(&o, 1, err, sizeof err) && strstr(err, "multiple of 2^2"),
		"a loaded bias not a multiple of 2^bshift is refused: %s", err);
	free(o.bias16);
	free(o.mult16);
}

/* The arch of a published model (shared/paper-models/NAME.json); -1 after a skip when absent. */
static int paper_arch(const char *model, struct arch *a)
{
	char path[512], err[512];
	snprintf(path, sizeof path, "%s/paper-models/%s.json", t_shared_dir(), model);
	cJSON *doc = record_load_document(path);
	if (!doc) {
		t_skip("no paper models in %s (set LMNAS_SHARED)", t_shared_dir());
		return -1;
	}
	int rc = arch_parse(cJSON_GetObjectItem(doc, "arch"), a, err, sizeof err);
	cJSON_Delete(doc);
	T_CHECK(rc == 0, "%s parses (%s)", model, rc ? err : "ok");
	return rc;
}

/* A paper model at 32x32: calibrate on random images, quantise, save, load, compare. */
/* A copy of the int8 model file src at dst with the first tensor named like suffix reshaped: a
 * 2-D [a][b] becomes [b][a], a 1-D [n] becomes [1][n]. The bytes stay the same. */
static void write_reshaped(const char *src, const char *dst, const char *suffix)
{
	struct st_file f;
	char err[256];
	if (st_open(src, &f, err, sizeof err))
		return;
	struct st_writer *w = st_writer_new();
	int done = 0;
	for (int i = 0; i < f.ntensors; i++) {
		const struct st_tensor *t = &f.tensors[i];
		int64_t shape[2] = {t->shape[0], t->ndim > 1 ? t->shape[1] : 0};
		int ndim = t->ndim;
		size_t ls = strlen(suffix), ln = strlen(t->name);
		if (!done && ln >= ls && !strcmp(t->name + ln - ls, suffix)) {
			done = 1;
			if (ndim == 2) {
				shape[0] = t->shape[1];
				shape[1] = t->shape[0];
			} else {
				ndim = 2;
				shape[0] = 1;
				shape[1] = t->shape[0];
			}
		}
		st_writer_add(w, t->name, t->dtype, ndim, shape, t->data);
	}
	for (const cJSON *m = f.metadata ? f.metadata->child : NULL; m; m = m->next)
		st_writer_meta(w, m->string, m->valuestring);
	st_writer_save(w, dst);
	st_writer_free(w);
	st_close(&f);
}

/* quant_load takes every tensor at exactly the shape quant_save writes: the right number of
 * elements in another shape (a transposed weight, a bias as a row) is refused, the tensor named. */
static void test_exact_shapes(const char *model, const char *saved)
{
	static const char *const suffixes[] = {".weight", ".bias", "ops.clamp"};
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		char bad[] = "/tmp/lmnas-quant-shape-XXXXXX", err[512] = "";
		int fd = mkstemp(bad);
		close(fd);
		write_reshaped(saved, bad, suffixes[i]);
		struct qmodel m;
		int rc = quant_load(bad, &m, err, sizeof err);
		T_CHECK(rc != 0 && strstr(err, "has shape"), "%s: a reshaped %s tensor is refused (%s)",
			model, suffixes[i], err);
		if (rc == 0)
			quant_free(&m);
		unlink(bad);
	}
}

static void test_model(const char *model, double ternary)
{
	char path[512], err[512];
	struct arch a;
	if (paper_arch(model, &a))
		return;
	/* arena at the paper's resolution equals check-cost's */
	struct arch_net *net = xmalloc(sizeof *net);
	struct cost c;
	struct qmodel m, m2;
	arch_expand(&a, 160, 160, 100, net, err, sizeof err);
	cost_compute(net, &c, err, sizeof err);
	quant_graph_build(&a, net, &m);
	T_CHECK((int64_t)m.arena_bytes == c.arena_bytes, "%s: emitted arena %zu = check-cost %lld",
		model, m.arena_bytes, (long long)c.arena_bytes);
	quant_free(&m);
	snprintf(path, sizeof path, "%s/paper-models/%s-kd.safetensors", t_shared_dir(), model);
	struct fnet fn;
	if (!T_CHECK(!fold_load(path, &a, 32, 32, &fn, err, sizeof err), "%s folds", model))
		return;
	size_t isz = 32 * 32 * 3;
	int n = 24;
	float *x = xmalloc(sizeof(float) * isz * n);
	for (size_t i = 0; i < isz * n; i++)
		x[i] = (float)((rnd() % 2000) / 1000.0 - 1.0) * (1 + (float)(i % 7) / 7);
	struct qcalib cal;
	quant_calib_init(&cal, fn.net.nlayers);
	float fl[100], il[100], il2[100];
	for (int i = 0; i < n; i++)
		fold_forward(&fn, x + i * isz, fl, quant_calib_observe, &cal);
	quant_calib_hist_begin(&cal);
	for (int i = 0; i < n; i++)
		fold_forward(&fn, x + i * isz, fl, quant_calib_observe, &cal);
	quant_calib_mse(&cal);
	quant_graph_build(&fn.arch, &fn.net, &m);
	if (!T_CHECK(!quant_from_float(&fn, &cal, ternary, NULL, &m, err, sizeof err), "%s: quantised", model)) {
		printf("# %s\n", err);
		exit(1);
	}
	char tmp[] = "/tmp/lmnas-quant-XXXXXX";
	int fd = mkstemp(tmp);
	close(fd);
	T_CHECK(!quant_save(&m, tmp, NULL, err, sizeof err), "%s: int8 model saved", model);
	T_CHECK(quant_is_int8_file(tmp) == 1 && quant_is_int8_file(path) == 0,
		"%s: int8 files are recognised", model);
	int loaded = !quant_load(tmp, &m2, err, sizeof err);
	if (!T_CHECK(loaded, "%s: int8 model loads", model))
		printf("# %s\n", err);
	int8_t *q = xmalloc(isz), lq[100], lq2[100];
	int same = 1, agree = 0;
	for (int i = 0; loaded && i < n; i++) {
		fold_forward(&fn, x + i * isz, fl, NULL, NULL);
		quant_input(&m, x + i * isz, isz, q);
		int8_ref_run(&m, q, NULL, lq, il);
		int8_ref_run(&m2, q, NULL, lq2, il2);
		same &= !memcmp(lq, lq2, (size_t)m.net.classes);
		agree += logits_argmax(fl, m.net.classes) == logits_argmax(il, m.net.classes);
	}
	T_CHECK(same, "%s: the loaded model gives bit-identical logits", model);
	printf("# %s: int8 top-1 agrees with float on %d/%d random images\n", model, agree, n);
	if (ternary < 0) {
		T_CHECK(agree >= n * 3 / 4, "%s: int8 agrees with float on >= 75%% of images", model);
	} else {
		int rule = 1, dw3 = 0;
		for (int i = 0; i < m.nops; i++) {
			const struct qop *o = &m.ops[i];
			if (o->kind != QOP_PW && o->kind != QOP_DW)
				continue;
			rule &= !o->w3 == !cost_op_ternary(&fn.g.ops[i], (struct cost_weights){1, NULL});
			dw3 += o->kind == QOP_DW && o->w3;
		}
		T_CHECK(rule && dw3 > 0 && !m.ops[0].w3 && !m.ops[m.nops - 1].w3,
			"%s: every conv ternary (%d depthwise) but the first and the classifier", model,
			dw3);
		double z = quant_ternary_zero_fraction(&m);
		T_CHECK(fabs(z - ternary) < 0.02, "%s: ternary zero fraction %.3f", model, z);
		T_CHECK(loaded && quant_ternary_zero_fraction(&m2) == z &&
			quant_flash_bytes(&m2) == quant_flash_bytes(&m),
			"%s: ternary weights survive save/load (packed base 3)", model);
		struct cost ct;
		cost_compute_w(&fn.net, (struct cost_weights){1, NULL}, &ct, err, sizeof err);
		T_CHECK(ct.flash_bytes == (int64_t)quant_flash_bytes(&m),
			"%s: check-cost --weight-format ternary flash %lld = the ternary model's %zu", model,
			(long long)ct.flash_bytes, quant_flash_bytes(&m));
	}
	if (ternary < 0)
		test_exact_shapes(model, tmp);
	unlink(tmp);
	if (loaded)
		quant_free(&m2);
	quant_free(&m);
	quant_calib_free(&cal);
	fold_free(&fn);
	free(q);
	free(x);
	free(net);
}

/* The mse range search clips a lone outlier and keeps a dense range. */
/* Extreme parameters: sums that exceed int32 saturate instead of wrapping. */
static void test_no_overflow(void)
{
	int32_t bias[1] = {1 << 30}, mult[1] = {1 << 30};
	int8_t shift[1] = {0};
	struct lmq_rq rq = {bias, mult, shift, 0, -128, 127, 0};
	T_CHECK(lmq_requant(1 << 30, &rq, 0) == 127, "acc + bias beyond int32 saturates (%d)",
		lmq_requant(1 << 30, &rq, 0));
	rq.out_zp = 100;
	bias[0] = INT32_MAX;
	T_CHECK(lmq_requant(0, &rq, 0) == 127, "requantised value + zero point saturates");
	T_CHECK(lmq_mbqm(1 << 28, 1 << 30, 4) == INT32_MAX / 2 + 1,
		"a left shift beyond int32 saturates (%d)", lmq_mbqm(1 << 28, 1 << 30, 4));
	T_CHECK(lmq_mbqm(-(1 << 28), 1 << 30, 4) == INT32_MIN / 2,
		"a negative left shift beyond int32 saturates (%d)", lmq_mbqm(-(1 << 28), 1 << 30, 4));
	/* add: both operands scaled to about 2^31 each */
	int8_t a[1] = {127}, b[1] = {127}, y[1];
	int32_t em[3] = {INT32_MAX, INT32_MAX, 1 << 30};
	int8_t es[3] = {3, 3, -20};
	lmq_add(a, -128, b, -128, 1, em, es, 0, y);
	T_CHECK(y[0] == 127, "add: a + b beyond int32 saturates (%d)", y[0]);
	/* global average pool of 4096 x 4096 values -128: the sum is INT32_MIN */
	int32_t np = 1 << 24;
	int8_t *x = xmalloc((size_t)np), g[1];
	memset(x, -128, (size_t)np);
	lmq_gap(x, np, 1, g);
	T_CHECK(g[0] == -128, "gap of 2^24 values -128 is -128 (%d)", g[0]);
	free(x);
}

/* quant_from_float refuses what the int8 kernels cannot hold, and widens the weight scale of a
 * channel whose weights vanish against its bias. */
static void test_extreme_weights(void)
{
	char path[1024], err[512];
	struct arch a;
	if (paper_arch("qwnet-core", &a))
		return;
	snprintf(path, sizeof path, "%s/paper-models/qwnet-core-kd.safetensors", t_shared_dir());
	struct fnet fn;
	if (!T_CHECK(!fold_load(path, &a, 16, 16, &fn, err, sizeof err), "qwnet-core folds at 16"))
		return;
	size_t isz = 16 * 16 * 3;
	float *x = xcalloc(isz, sizeof(float)), fl[100];
	for (size_t i = 0; i < isz; i++)
		x[i] = (float)((i * 37) % 200) / 100.0f - 1.0f;
	struct qcalib cal;
	quant_calib_init(&cal, fn.net.nlayers);
	fold_forward(&fn, x, fl, quant_calib_observe, &cal);
	struct qmodel m;
	int di = 0; /* the first depthwise op of the op list */
	while (di < fn.g.nops && fn.g.ops[di].kind != OP_DW)
		di++;
	struct fconv *dw = &fn.conv[di];
	float w0 = dw->w[0], b0 = dw->b[0];

	/* a channel of near-zero weights with an ordinary bias: quantised, its bias fits */
	for (int j = 0; j < dw->k * dw->k; j++)
		dw->w[j] = 1e-12f;
	quant_graph_build(&fn.arch, &fn.net, &m);
	int rc = quant_from_float(&fn, &cal, -1, NULL, &m, err, sizeof err);
	int op = 0;
	while (op < m.nops && m.ops[op].kind != QOP_DW)
		op++;
	T_CHECK(!rc && fabs((double)m.ops[op].bias[0] * m.t[m.ops[op].in].scale *
			    m.ops[op].wscale[0] - b0) <= 1e-3 * fabs(b0) + 1e-9,
		"near-zero weights: the bias %g keeps its value in int32 (%d)", (double)b0, rc);
	quant_free(&m);

	/* a weight that is not finite: refused, naming the op */
	dw->w[0] = NAN;
	quant_graph_build(&fn.arch, &fn.net, &m);
	rc = quant_from_float(&fn, &cal, -1, NULL, &m, err, sizeof err);
	T_CHECK(rc && strstr(err, "layers.0.layers.0.dw (channel 0): a weight is not finite"),
		"a NaN weight is refused: %s", rc ? err : "accepted");
	quant_free(&m);

	/* an output scale vanishing against the input's: the multiplier is out of range */
	dw->w[0] = 3e37f;
	quant_graph_build(&fn.arch, &fn.net, &m);
	rc = quant_from_float(&fn, &cal, -1, NULL, &m, err, sizeof err);
	T_CHECK(rc && strstr(err, "multiplier") && strstr(err, "out of range"),
		"a weight of 3e37: refused: %s", rc ? err : "accepted");
	quant_free(&m);
	dw->w[0] = w0;
	quant_calib_free(&cal);
	fold_free(&fn);
	free(x);
}

static void test_calib_mse(void)
{
	struct qcalib c;
	quant_calib_init(&c, 1);
	int n = 1000000; /* rounding noise of many values outweighs clipping one outlier */
	float *x = xmalloc(sizeof(float) * (n + 1));
	for (int i = 0; i < n; i++)
		x[i] = (float)(i % 200) / 100.0f - 1.0f; /* dense in [-1, 1) */
	x[n] = 3.0f;                                   /* one outlier */
	quant_calib_observe(&c, 0, FS_DW, x, n + 1);
	quant_calib_observe(&c, 0, FS_EXP, x, n);
	quant_calib_hist_begin(&c);
	quant_calib_observe(&c, 0, FS_DW, x, n + 1);
	quant_calib_observe(&c, 0, FS_EXP, x, n);
	quant_calib_mse(&c);
	printf("# outlier range [%g, %g], dense range [%g, %g]\n", c.mn[1][FS_DW], c.mx[1][FS_DW],
	       c.mn[1][FS_EXP], c.mx[1][FS_EXP]);
	T_CHECK(c.mx[1][FS_DW] < 2 && c.mx[1][FS_DW] >= 0.9,
		"mse calibration clips a lone outlier (3 -> %g)", c.mx[1][FS_DW]);
	T_CHECK(c.mn[1][FS_EXP] <= -0.95 && c.mx[1][FS_EXP] >= 0.95,
		"mse calibration keeps a dense uniform range");
	quant_calib_free(&c);
	free(x);
}

int main(void)
{
	test_arithmetic();
	test_calib_mse();
	test_no_overflow();
	test_extreme_weights();
	test_dw_inplace();
	test_ternary_kernels();
	test_ternary_params();
	test_model("qwnet-core", -1);
	test_model("qwnet-core", 0.5);
	test_model("lmanet-core", -1);
	test_model("lmanet-elite", -1);
	return t_done();
}
