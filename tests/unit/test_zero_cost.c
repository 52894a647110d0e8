/* test_zero_cost.c — the zero-cost scores: log|det| against hand-computed determinants, NASWOT
 * and the gradient norm of a small network against a plain recomputation (units compared one by
 * one, the 3x3 determinant written out), and the failure on two identical images. */
#include "engine/net.h"
#include "engine/nn_bn.h"
#include "engine/zero_cost.h"
#include "core/prng.h"
#include "t.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define H 8
#define W 8
#define B 3

static const char *ARCH =
	"{\"input_channels\":1,\"blocks\":[{\"output_channels\":8,\"num_layers\":2,\"kernel_size\":3,"
	"\"stride\":2,\"expansion_factor\":2,\"use_se\":false,\"se_ratio\":0,\"conv_type\":\"mbconv\","
	"\"skip_op\":\"residual\",\"activation\":\"leakyrelu\"}]}";

static void test_log_abs_det(void)
{
	double a[] = {2, 1, 1, 2};
	T_NEAR(log_abs_det(a, 2), log(3.0), 1e-12, "log|det| of [[2,1],[1,2]] is log 3");
	double swap[] = {0, 1, 1, 0};
	T_NEAR(log_abs_det(swap, 2), 0.0, 1e-12, "log|det| of [[0,1],[1,0]] is 0 (needs a row swap)");
	double sing[] = {1, 2, 2, 4};
	T_CHECK(log_abs_det(sing, 2) == -INFINITY, "a singular matrix gives -inf");
	double c[] = {4, 3, 0, 3, 4, 1, 0, 1, 2}; /* 4(8-1) - 3(6-0) = 10 */
	T_NEAR(log_abs_det(c, 3), log(10.0), 1e-12, "log|det| of a 3x3 matrix with det 10 is log 10");
}

static struct net *small_net(void)
{
	char err[256];
	struct arch a;
	cJSON *j = cJSON_Parse(ARCH);
	if (!j || arch_parse(j, &a, err, sizeof err)) {
		fprintf(stderr, "arch: %s\n", err);
		exit(1);
	}
	cJSON_Delete(j);
	struct net *n = net_new(&a, H, W, 10, B, 0.0f, err, sizeof err);
	if (!n) {
		fprintf(stderr, "net: %s\n", err);
		exit(1);
	}
	net_init_weights(n, 3);
	return n;
}

/* K[i][j] by comparing every unit of images i and j after a training forward. */
static double naive_naswot(struct net *n, const float *x, long *units)
{
	net_forward(n, x, B, 1);
	double K[B][B] = {{0}};
	*units = 0;
	for (int o = 0; o < n->nops; o++) {
		const struct net_op *op = &n->ops[o];
		if (op->kind != NOP_BN || op->bn_act == BN_NO_ACT)
			continue;
		const struct net_tensor *t = &n->t[op->out];
		*units += (long)t->per_image;
		for (int i = 0; i < B; i++)
			for (int j = 0; j < B; j++)
				for (size_t u = 0; u < t->per_image; u++)
					K[i][j] += (t->val[i * t->per_image + u] > 0) ==
						   (t->val[j * t->per_image + u] > 0);
	}
	double det = K[0][0] * (K[1][1] * K[2][2] - K[1][2] * K[2][1]) -
		     K[0][1] * (K[1][0] * K[2][2] - K[1][2] * K[2][0]) +
		     K[0][2] * (K[1][0] * K[2][1] - K[1][1] * K[2][0]);
	return log(fabs(det));
}

static void test_scores(void)
{
	float x[B * H * W];
	int32_t y[B] = {1, 4, 7};
	struct prng r;
	prng_seed(&r, 11);
	for (int i = 0; i < B * H * W; i++)
		x[i] = (float)prng_gauss(&r);
	char err[256];
	struct zero_cost zc;
	struct net *n = small_net();
	int rc = zero_cost_score(n, x, y, B, &zc, err, sizeof err);
	T_CHECK(rc == 0, "three different images score (%s)", rc ? err : "ok");
	net_free(n);

	n = small_net();
	long units;
	double want = naive_naswot(n, x, &units);
	T_CHECK(zc.units == units && units > 0, "units: %ld, counted one by one %ld", zc.units, units);
	T_CHECK(fabs(zc.naswot - want) < 1e-9 * fabs(want),
		"naswot %.6f = log|det K| of K compared unit by unit (%.6f)", zc.naswot, want);
	int labels[B] = {1, 4, 7};
	net_loss(n, labels, B);
	net_backward(n, B);
	double g2 = 0;
	for (size_t i = 0; i < n->nparams; i++)
		g2 += (double)n->grads[i] * n->grads[i];
	T_CHECK(fabs(zc.grad_norm - sqrt(g2)) < 1e-9 * sqrt(g2),
		"grad_norm %.6f is the norm of every gradient (%.6f)", zc.grad_norm, sqrt(g2));
	T_CHECK(zc.grad_norm > 0, "the gradient norm is positive");
	net_free(n);

	for (int i = 0; i < H * W; i++)
		x[2 * H * W + i] = x[i]; /* image 2 = image 0: two equal rows of K */
	n = small_net();
	rc = zero_cost_score(n, x, y, B, &zc, err, sizeof err);
	T_CHECK(rc == -1 && strstr(err, "same activation code"), "two equal images fail: %s",
		rc ? err : "no error");
	T_CHECK(zero_cost_score(n, x, y, 1, &zc, err, sizeof err) == -1,
		"a batch of one image is refused");
	net_free(n);
}

int main(void)
{
	test_log_abs_det();
	test_scores();
	return t_done();
}
