/* zero_cost.c — NASWOT and gradient-norm scores at initialisation. See zero_cost.h. */
#include "engine/zero_cost.h"
#include "core/arch.h"
#include "core/prng.h"
#include "core/record.h"
#include "core/util.h"
#include "engine/nn_bn.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int zc_fail(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -1;
}

double log_abs_det(double *a, int n)
{
	double logdet = 0;
	for (int k = 0; k < n; k++) {
		int p = k;
		for (int i = k + 1; i < n; i++)
			if (fabs(a[(size_t)i * n + k]) > fabs(a[(size_t)p * n + k]))
				p = i;
		double piv = a[(size_t)p * n + k];
		if (piv == 0)
			return -INFINITY;
		if (p != k)
			for (int j = 0; j < n; j++) {
				double t = a[(size_t)k * n + j];
				a[(size_t)k * n + j] = a[(size_t)p * n + j];
				a[(size_t)p * n + j] = t;
			}
		logdet += log(fabs(piv));
		for (int i = k + 1; i < n; i++) {
			double f = a[(size_t)i * n + k] / piv;
			for (int j = k; j < n; j++)
				a[(size_t)i * n + j] -= f * a[(size_t)k * n + j];
		}
	}
	return logdet;
}

/* The activated tensors: the outputs of BN ops with a fused activation. */
static long code_units(const struct net *n)
{
	long units = 0;
	for (int i = 0; i < n->nops; i++)
		if (n->ops[i].kind == NOP_BN && n->ops[i].bn_act != BN_NO_ACT)
			units += (long)n->t[n->ops[i].out].per_image;
	return units;
}

/* codes [B][words]: bit u of image b is 1 when unit u of its activations (after the last
 * training forward) is positive. */
static void fill_codes(const struct net *n, int B, uint64_t *codes, size_t words)
{
	memset(codes, 0, (size_t)B * words * sizeof *codes);
	size_t u0 = 0;
	for (int i = 0; i < n->nops; i++) {
		const struct net_op *op = &n->ops[i];
		if (op->kind != NOP_BN || op->bn_act == BN_NO_ACT)
			continue;
		const struct net_tensor *t = &n->t[op->out];
		for (int b = 0; b < B; b++) {
			const float *v = t->val + (size_t)b * t->per_image;
			uint64_t *c = codes + (size_t)b * words;
			for (size_t u = 0; u < t->per_image; u++)
				if (v[u] > 0)
					c[(u0 + u) / 64] |= (uint64_t)1 << ((u0 + u) % 64);
		}
		u0 += t->per_image;
	}
}

/* K [B][B]: units on which two codes agree (units minus their Hamming distance). */
static void agreement_matrix(const uint64_t *codes, int B, size_t words, long units, double *K)
{
	for (int i = 0; i < B; i++)
		for (int j = i; j < B; j++) {
			long differ = 0;
			for (size_t w = 0; w < words; w++)
				differ += __builtin_popcountll(codes[(size_t)i * words + w] ^
							       codes[(size_t)j * words + w]);
			K[(size_t)i * B + j] = K[(size_t)j * B + i] = (double)(units - differ);
		}
}

int zero_cost_score(struct net *n, const float *x, const int32_t *y, int B, struct zero_cost *zc,
		    char *err, size_t errlen)
{
	if (B < 2 || B > n->max_batch)
		return zc_fail(err, errlen, "zero-cost batch %d outside 2..%d", B, n->max_batch);
	long units = code_units(n);
	if (units == 0)
		return zc_fail(err, errlen, "the network has no activation to code");
	net_forward(n, x, B, 1);
	size_t words = ((size_t)units + 63) / 64;
	uint64_t *codes = xmalloc((size_t)B * words * sizeof *codes);
	double *K = xmalloc((size_t)B * B * sizeof *K);
	fill_codes(n, B, codes, words);
	agreement_matrix(codes, B, words, units, K);
	double naswot = log_abs_det(K, B);
	free(codes);
	free(K);
	if (!isfinite(naswot))
		return zc_fail(err, errlen, "two images have the same activation code (K is singular)");
	double loss = net_loss(n, (const int *)y, B);
	if (!isfinite(loss))
		return zc_fail(err, errlen, "the loss at initialisation is not finite");
	net_backward(n, B);
	double g2 = 0;
	for (size_t i = 0; i < n->nparams; i++)
		g2 += (double)n->grads[i] * n->grads[i];
	zc->naswot = naswot;
	zc->grad_norm = sqrt(g2);
	zc->units = units;
	return 0;
}

int zero_cost_record(const struct train_opts *o, const struct train_data *td, const cJSON *rec,
		     int images, cJSON *stage, char *err, size_t errlen)
{
	const struct dataset *d = &td->train;
	int H = o->res_h ? o->res_h : d->h, W = o->res_w ? o->res_w : d->w;
	int C = o->classes ? o->classes : d->classes;
	float dropout = 0;
	if (record_settings(rec, &H, &W, &C, &dropout, err, errlen))
		return -1;
	const cJSON *aj = record_get(rec, "arch");
	struct arch a;
	if (!aj)
		return zc_fail(err, errlen, "the record has no \"arch\"");
	if (arch_parse(aj, &a, err, errlen))
		return -1;
	if (td->split.ntrain < images)
		return zc_fail(err, errlen, "--zero-cost %d: only %d training images", images,
			       td->split.ntrain);
	char nerr[512];
	struct net *n = net_new(&a, H, W, C, images, 0.0f, nerr, sizeof nerr);
	if (!n)
		return zc_fail(err, errlen, "arch: %s", nerr);
	net_init_weights(n, o->seed);
	/* The batch: the first `images` of a seeded shuffle of the training split. */
	int *order = xmalloc((size_t)td->split.ntrain * sizeof *order);
	memcpy(order, td->split.train, (size_t)td->split.ntrain * sizeof *order);
	struct prng rng;
	prng_seed(&rng, o->seed);
	prng_shuffle(&rng, order, td->split.ntrain);
	float *x = xmalloc((size_t)images * a.input_channels * H * W * sizeof *x);
	int32_t *y = xmalloc((size_t)images * sizeof *y);
	dataset_batch(d, order, images, H, W, a.input_channels, NULL, &rng, x, y); /* [images][H][W][C] */
	double t0 = now_seconds();
	struct zero_cost zc;
	int rc = zero_cost_score(n, x, y, images, &zc, err, errlen);
	if (rc == 0) {
		cJSON_AddNumberToObject(stage, "naswot", zc.naswot);
		cJSON_AddNumberToObject(stage, "grad_norm", zc.grad_norm);
		cJSON_AddNumberToObject(stage, "units", (double)zc.units);
		cJSON_AddNumberToObject(stage, "images", images);
		cJSON_AddNumberToObject(stage, "seed", (double)o->seed);
		cJSON_AddNumberToObject(stage, "seconds", now_seconds() - t0);
	}
	free(order);
	free(x);
	free(y);
	net_free(n);
	return rc;
}
