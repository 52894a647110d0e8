/* test_qat.c — quantisation-aware training (qat.h): the per-channel int8 and ternary rules, which
 * tensors each mode quantises and how (depthwise channel-last layout), the straight-through
 * estimator (the gradients QAT computes are exactly those of the network holding the quantised
 * weights, and the float weights come back bit for bit), idempotence (a QAT checkpoint
 * re-quantises to itself, as quantize does), and the float path untouched without --qat. */
#include "t.h"
#include "small_net.h"
#include "dw_chain.h"
#include "core/arch.h"
#include "core/util.h"
#include "engine/net.h"
#include "engine/qat.h"
#include "core/options.h"
#include "engine/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B SMALL_NET_BATCH
#define RES SMALL_NET_RES

static void batch(float *x, int *y)
{
	uint64_t s = 12345;
	for (int i = 0; i < B * RES * RES; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		x[i] = (float)((s >> 40) % 2001) / 1000.0f - 1.0f;
	}
	for (int i = 0; i < B; i++)
		y[i] = i * 3 % 10;
}

static void test_channel_rules(void)
{
	const float w[8] = {0.5f, -0.1f, 0.02f, -0.7f, 0.3f, -0.05f, 0.0f, 0.9f};
	int8_t q[8];
	float s = qat_int8_channel(w, 8, q);
	T_NEAR(s, 0.9 / 127, 1e-6, "int8: scale max|w|/127");
	T_CHECK(q[7] == 127 && q[3] == -99 && q[0] == 71 && q[6] == 0, "int8: codes round(w/s)");
	float z[3] = {0, 0, 0};
	T_CHECK(qat_int8_channel(z, 3, q) == 1.0f && !q[0] && !q[1] && !q[2], "int8: all-zero channel");

	float tmp[8];
	float alpha = qat_ternary_channel(w, 8, NULL, 0.5, tmp, q);
	int zeros = 0;
	for (int j = 0; j < 8; j++)
		zeros += q[j] == 0;
	T_CHECK(zeros == 4, "ternary 0.5: (int)(0.5*8) = 4 zeros (got %d)", zeros);
	T_CHECK(q[7] == 1 && q[3] == -1 && q[0] == 1 && q[4] == 1 && q[1] == 0 && q[6] == 0,
		"ternary: the largest |w| keep their sign, the smallest become 0");
	T_NEAR(alpha, (0.9 + 0.7 + 0.5 + 0.3) / 4, 1e-6, "ternary: alpha = mean |w| of the kept");
	alpha = qat_ternary_channel(w, 8, NULL, 0.0, tmp, q);
	T_CHECK(q[6] == 0 && q[2] == 1, "ternary 0: only exact zeros become 0");

	/* taps 6 and 7 only ever meet padding: 0 whatever their size; the sparsity counts the six
	 * live ones: (int)(0.5*6) = 3 zeros among them (|w| 0.02, 0.05, 0.1) */
	const unsigned char live[8] = {1, 1, 1, 1, 1, 1, 0, 0};
	alpha = qat_ternary_channel(w, 8, live, 0.5, tmp, q);
	const int8_t want[8] = {1, 0, 0, -1, 1, 0, 0, 0};
	T_CHECK(!memcmp(q, want, sizeof want), "ternary with dead taps: dead 0 (even |w| 0.9), 3 of 6 live 0");
	T_NEAR(alpha, (0.5 + 0.7 + 0.3) / 3, 1e-6, "ternary with dead taps: alpha = mean |w| of the kept live");
}

/* QAT's tensors are the weights of every graph op with a conv; in ternary mode all of them but
 * the first conv and the classifier (depthwise and SE too: quantize --weight-format ternary makes
 * them so). */
static void test_tensors(void)
{
	struct net *n = small_net(1);
	struct qat *q8 = qat_new(n, QAT_INT8, 0.5, NULL), *qt = qat_new(n, QAT_TERNARY, 0.75, NULL);
	struct graph g;
	graph_build(&n->an, false, &g);
	int convs = 0, dw = 0, tern = 0, first_int8 = 0, linear_int8 = 0;
	for (int i = 0; i < g.nops; i++) {
		convs += g.ops[i].conv[0] != 0;
		dw += g.ops[i].kind == OP_DW && g.ops[i].in[0] != g.input;
	}
	for (int i = 0, t = 0; i < g.nops; i++) {
		if (!g.ops[i].conv[0])
			continue;
		tern += qt->t[t].ternary;
		first_int8 += g.ops[i].in[0] == g.input && !qt->t[t].ternary;
		linear_int8 += g.ops[i].kind == OP_LINEAR && !qt->t[t].ternary;
		t++;
	}
	T_CHECK(q8->ntensors == convs && qt->ntensors == convs, "every conv and linear is quantised (%d)", convs);
	T_CHECK(tern == convs - 2 && first_int8 == 1 && linear_int8 == 1 && dw > 0,
		"ternary: all %d convs but the first and the classifier, %d depthwise among them "
		"(got %d)", convs, dw, tern);
	graph_free(&g);

	float *before = xmalloc(n->nparams * sizeof *before);
	memcpy(before, n->params, n->nparams * sizeof *before);
	int good = 1, dw_ok = 1;
	qat_quantize(q8, n);
	for (int i = 0; i < q8->ntensors; i++) {
		const struct qat_tensor *t = &q8->t[i];
		for (int c = 0; c < t->cout; c++) {
			float amax_q = 0, amax_w = 0;
			for (int j = 0; j < t->per; j++) {
				size_t at = t->off + (size_t)c * t->cstride + (size_t)j * t->jstride;
				amax_q = fmaxf(amax_q, fabsf(n->params[at]));
				amax_w = fmaxf(amax_w, fabsf(before[at]));
			}
			if (t->jstride != 1 && fabsf(amax_q - amax_w) > 1e-6f * amax_w)
				dw_ok = 0; /* int8 keeps each channel's max: its own scale */
		}
	}
	qat_restore(q8, n);
	qat_quantize(qt, n);
	for (int i = 0; i < qt->ntensors; i++) {
		const struct qat_tensor *t = &qt->t[i];
		for (int c = 0; c < t->cout; c++) {
			int zeros = 0;
			for (int j = 0; j < t->per; j++) {
				size_t at = t->off + (size_t)c * t->cstride + (size_t)j * t->jstride;
				zeros += n->params[at] == 0;
			}
			if (t->ternary && zeros != (int)(0.75 * t->per))
				good = 0;
		}
	}
	T_CHECK(good, "ternary 0.75: every channel of every ternary conv (depthwise [k][k][C] too) has (int)(0.75 * per) zeros");
	T_CHECK(dw_ok, "int8 depthwise [k][k][C]: each channel quantised with its own scale");
	qat_restore(qt, n);
	T_CHECK(!memcmp(before, n->params, n->nparams * sizeof *before),
		"restore gives the float weights back bit for bit");
	free(before);
	qat_free(q8);
	qat_free(qt);
	net_free(n);
}

/* The straight-through estimator: QAT's gradients are those of the network that holds the
 * quantised weights; quantising quantised weights changes nothing. */
static void test_ste(enum qat_mode mode)
{
	const char *name = qat_mode_name(mode);
	struct net *a = small_net(2), *b = small_net(2);
	struct qat *q = qat_new(a, mode, 0.5, NULL);
	float x[B * RES * RES];
	int y[B];
	batch(x, y);
	float *master = xmalloc(a->nparams * sizeof *master);
	memcpy(master, a->params, a->nparams * sizeof *master);

	qat_quantize(q, a);
	memcpy(b->params, a->params, b->nparams * sizeof *b->params); /* b holds w_q, no QAT */
	net_forward(a, x, B, 1);
	double la = net_loss(a, y, B);
	net_backward(a, B);
	qat_restore(q, a);
	net_forward(b, x, B, 1);
	double lb = net_loss(b, y, B);
	net_backward(b, B);
	T_CHECK(la == lb, "%s: the QAT loss is the loss at the quantised weights", name);
	T_CHECK(!memcmp(a->grads, b->grads, a->nparams * sizeof *a->grads),
		"%s: STE: d L/d w = d L/d w_q, bit for bit", name);
	T_CHECK(!memcmp(a->params, master, a->nparams * sizeof *master),
		"%s: the float weights are back for the optimizer step", name);
	double moved = 0;
	for (size_t i = 0; i < a->nparams; i++)
		moved = fmax(moved, fabs((double)b->params[i] - master[i]));
	T_CHECK(moved > 0, "%s: the quantised weights differ from the float ones", name);

	/* idempotent: a QAT checkpoint (b's weights) quantises to itself */
	struct qat *qb = qat_new(b, mode, 0.5, NULL);
	float *wq = xmalloc(b->nparams * sizeof *wq);
	memcpy(wq, b->params, b->nparams * sizeof *wq);
	qat_quantize(qb, b);
	double drift = 0;
	for (size_t i = 0; i < b->nparams; i++)
		drift = fmax(drift, fabs((double)b->params[i] - wq[i]) / fmax(fabs(wq[i]), 1e-30));
	T_CHECK(drift < 1e-5, "%s: quantising quantised weights keeps them (relative change %.2g)",
		name, drift);
	qat_restore(qb, b);
	free(wq);
	qat_free(qb);
	free(master);
	qat_free(q);
	net_free(a);
	net_free(b);
}

/* Depthwise kernels that overhang their maps: on an 8x8 image, 3x3 stride 2 (-> 4x4, all 9 taps
 * meet it), 7x7 stride 2 (-> 2x2, 36 of 49), 5x5 stride 2 (-> 1x1, 4 of 25), 5x5 stride 1 on 1x1
 * (only the centre): ternary QAT zeroes the taps that never meet the image and counts the
 * sparsity over the others (qat.h). */
static void test_dead_taps(void)
{
	char text[2048];
	dw_chain_json(text, sizeof text, 4, (const int[]){3, 7, 5, 5}, (const int[]){2, 2, 2, 1});
	struct arch a;
	char err[256];
	cJSON *j = cJSON_Parse(text);
	T_CHECK(!arch_parse(j, &a, err, sizeof err), "the overhanging arch parses");
	cJSON_Delete(j);
	struct net *n = net_new(&a, 8, 8, 10, 2, 0.0f, err, sizeof err);
	if (!T_CHECK(n != NULL, "the overhanging net builds%s%s", n ? "" : ": ", n ? "" : err))
		return;
	net_init_weights(n, 5);
	struct qat *q = qat_new(n, QAT_TERNARY, 0.5, NULL);
	qat_quantize(q, n);
	int masked = 0, dead_zero = 1, live_zeros_ok = 1;
	for (int i = 0; i < q->ntensors; i++) {
		const struct qat_tensor *t = &q->t[i];
		if (!t->live)
			continue;
		int nlive = 0;
		for (int jj = 0; jj < t->per; jj++)
			nlive += t->live[jj];
		masked += nlive < t->per;
		for (int c = 0; c < t->cout; c++) {
			int zeros = 0;
			for (int jj = 0; jj < t->per; jj++) {
				float v = n->params[t->off + (size_t)c * t->cstride + (size_t)jj * t->jstride];
				dead_zero &= t->live[jj] || v == 0;
				zeros += t->live[jj] && v == 0;
			}
			live_zeros_ok &= zeros == (int)(0.5 * nlive);
		}
	}
	T_CHECK(masked == 3, "three depthwise convs overhang their maps: %d", masked);
	T_CHECK(dead_zero, "every tap that never meets the image is 0");
	T_CHECK(live_zeros_ok, "every channel has (int)(0.5 * live taps) zeros among its live taps");
	qat_restore(q, n);
	qat_free(q);
	net_free(n);
}

/* The options: off by default (the training loop then never calls qat.c), parsed and checked. */
static void test_off(void)
{
	struct train_opts o;
	train_defaults(&o, RECIPE_KD);
	T_CHECK(o.qat == QAT_OFF, "QAT is off by default");
	char err[256];
	T_CHECK(options_set(train_opt_table, &o, "qat", "ternary", err, sizeof err) == 1 &&
			o.qat == QAT_TERNARY, "--qat ternary");
	T_CHECK(options_set(train_opt_table, &o, "sparsity", "0.7", err, sizeof err) == 1 &&
			o.qat_sparsity == 0.7, "--sparsity 0.7");
	T_CHECK(train_option_arity("qat") == 1 && train_option_arity("sparsity") == 1,
		"--qat and --sparsity take a value");
	enum qat_mode m;
	T_CHECK(qat_mode_parse("int4", &m) == -1, "--qat int4 is refused");
	T_CHECK(options_set(train_opt_table, &o, "qat", "int4", err, sizeof err) == -1,
		"--qat int4 is refused by the option table");
}

int main(void)
{
	test_channel_rules();
	test_tensors();
	test_ste(QAT_INT8);
	test_ste(QAT_TERNARY);
	test_dead_taps();
	test_off();
	return t_done();
}
