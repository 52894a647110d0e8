/* sensitivity.c — per-conv sensitivity to ternary weights. See sensitivity.h. */
#include "int8/sensitivity.h"
#include "core/util.h"
#include "cost/cost.h"
#include "engine/nn_head.h"
#include "engine/qat.h"

#include <stdlib.h>
#include <string.h>

struct op_sensitivity {
	int op;
	double agree;
};

/* The float network's top-1 class of each of the n images. */
static void top1(const struct fnet *fn, const float *x, int n, int *cls)
{
	size_t isz = (size_t)fn->net.in_h * fn->net.in_w * fn->net.in_ch;
	float *logits = xmalloc(sizeof(float) * fn->net.classes);
	for (int i = 0; i < n; i++) {
		fold_forward(fn, x + i * isz, logits, NULL, NULL);
		cls[i] = logits_argmax(logits, fn->net.classes);
	}
	free(logits);
}

/* Replaces op i's folded weights by their ternary values, channel by channel. */
static void ternarise(struct fnet *fn, int i, double sparsity)
{
	const struct g_op *op = &fn->g.ops[i];
	struct fconv *c = &fn->conv[i];
	int per = c->cin * c->k * c->k;
	unsigned char *live = graph_dw_live_mask(&fn->g, op);
	float *tmp = xmalloc(sizeof(float) * per);
	int8_t *q = xmalloc((size_t)per);
	for (int ch = 0; ch < c->cout; ch++) {
		float *w = c->w + (size_t)ch * per;
		float alpha = qat_ternary_channel(w, per, live, sparsity, tmp, q);
		for (int j = 0; j < per; j++)
			w[j] = alpha * q[j];
	}
	free(q);
	free(tmp);
	free(live);
}

/* Flash that keeping op int8 adds over its ternary form (weights, per-channel data, struct). */
static long long int8_extra_bytes(const struct g_op *op)
{
	struct cost_weights i8 = {0, NULL}, t3 = {1, NULL};
	return (long long)(cost_op_flash_w(op, i8) + cost_op_struct_bytes(cost_op_kernel_w(op, i8)) -
			   cost_op_flash_w(op, t3) - cost_op_struct_bytes(cost_op_kernel_w(op, t3)));
}

static int by_agreement(const void *a, const void *b)
{
	const struct op_sensitivity *x = a, *y = b;
	return x->agree < y->agree ? -1 : x->agree > y->agree ? 1 : x->op - y->op;
}

cJSON *ternary_sensitivity(struct fnet *fn, const float *x, int n, double sparsity)
{
	int *ref = xmalloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
	int *cls = xmalloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
	top1(fn, x, n, ref);
	struct op_sensitivity *s = xcalloc((size_t)fn->g.nops, sizeof *s);
	int ns = 0;
	for (int i = 0; i < fn->g.nops; i++) {
		if (!cost_op_ternary(&fn->g.ops[i], (struct cost_weights){1, NULL}))
			continue;
		const struct fconv *c = &fn->conv[i];
		size_t nw = (size_t)c->cout * c->cin * c->k * c->k;
		float *saved = xmalloc(sizeof(float) * nw);
		memcpy(saved, c->w, sizeof(float) * nw);
		ternarise(fn, i, sparsity);
		top1(fn, x, n, cls);
		memcpy(c->w, saved, sizeof(float) * nw);
		free(saved);
		int same = 0;
		for (int k = 0; k < n; k++)
			same += cls[k] == ref[k];
		s[ns++] = (struct op_sensitivity){i, n ? (double)same / n : 1.0};
	}
	qsort(s, (size_t)ns, sizeof *s, by_agreement);
	cJSON *arr = cJSON_CreateArray();
	for (int k = 0; k < ns; k++) {
		const struct g_op *op = &fn->g.ops[s[k].op];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "op", op->name);
		cJSON_AddNumberToObject(e, "weights", (double)op->weights);
		cJSON_AddNumberToObject(e, "agree", s[k].agree);
		cJSON_AddNumberToObject(e, "int8_extra_bytes", (double)int8_extra_bytes(op));
		cJSON_AddItemToArray(arr, e);
	}
	free(s);
	free(cls);
	free(ref);
	return arr;
}
