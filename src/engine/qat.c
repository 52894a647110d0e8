/* qat.c — fake-quantised weights with a straight-through estimator. See qat.h. */
#include "engine/qat.h"
#include "core/util.h"
#include "cost/cost.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int qat_mode_parse(const char *s, enum qat_mode *m)
{
	if (!strcmp(s, "int8"))
		*m = QAT_INT8;
	else if (!strcmp(s, "ternary"))
		*m = QAT_TERNARY;
	else if (!strcmp(s, "off"))
		*m = QAT_OFF;
	else
		return -1;
	return 0;
}

const char *qat_mode_name(enum qat_mode m)
{
	return m == QAT_INT8 ? "int8" : m == QAT_TERNARY ? "ternary" : "off";
}

float qat_int8_channel(const float *w, int n, int8_t *q)
{
	float amax = 0;
	for (int j = 0; j < n; j++)
		amax = fabsf(w[j]) > amax ? fabsf(w[j]) : amax;
	float s = amax / 127.0f;
	if (!(s >= FLT_MIN)) { /* all zero, or too small to scale (quant.c does the same) */
		memset(q, 0, (size_t)n);
		return 1.0f;
	}
	for (int j = 0; j < n; j++) {
		long v = lroundf(w[j] / s);
		q[j] = (int8_t)(v < -127 ? -127 : v > 127 ? 127 : v);
	}
	return s;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

float qat_ternary_channel(const float *w, int n, const unsigned char *live, double sparsity,
			  float *tmp, int8_t *q)
{
	int nlive = 0;
	for (int j = 0; j < n; j++)
		if (!live || live[j])
			tmp[nlive++] = fabsf(w[j]);
	qsort(tmp, (size_t)nlive, sizeof *tmp, cmp_float);
	int k = (int)(sparsity * nlive);
	float thr = k > 0 ? tmp[k - 1] : 0.0f; /* an exact zero stays 0 */
	double sum = 0;
	int kept = 0;
	for (int j = 0; j < n; j++) {
		int on = (!live || live[j]) && fabsf(w[j]) > thr;
		q[j] = on ? (w[j] > 0 ? 1 : -1) : 0;
		if (on) {
			sum += fabsf(w[j]);
			kept++;
		}
	}
	return kept ? (float)(sum / kept) : 1.0f;
}

/* The quantised tensor of graph op `op` (one with weights). */
static struct qat_tensor tensor_of(const struct net *n, const struct graph *g,
				    const struct g_op *op, int ternary)
{
	char name[96];
	graph_tensor_name(name, sizeof name, op->conv, PT_WEIGHT);
	const struct net_entry *e = net_find(n, name);
	if (!e)
		die("qat: the network has no tensor %s", name);
	struct qat_tensor t = {.off = e->off, .cout = (int)e->shape[0], .ternary = ternary};
	t.per = (int)(e->numel / (size_t)t.cout);
	if (e->dw_layout) { /* [k][k][C]: the channel is the fastest index */
		t.jstride = (size_t)t.cout;
		t.cstride = 1;
	} else { /* [Cout][...] */
		t.jstride = 1;
		t.cstride = (size_t)t.per;
	}
	if (ternary)
		t.live = graph_dw_live_mask(g, op);
	return t;
}

struct qat *qat_new(const struct net *n, enum qat_mode mode, double sparsity, const char *int8_ops)
{
	struct graph g;
	graph_build(&n->an, false, &g);
	struct qat *q = xcalloc(1, sizeof *q);
	q->mode = mode;
	q->sparsity = sparsity;
	q->t = xcalloc((size_t)g.nops, sizeof *q->t);
	int maxper = 1;
	for (int i = 0; i < g.nops; i++) {
		const struct g_op *op = &g.ops[i];
		if (!op->conv[0])
			continue;
		struct cost_weights wf = {mode == QAT_TERNARY, int8_ops};
		struct qat_tensor t = tensor_of(n, &g, op, cost_op_ternary(op, wf));
		maxper = t.per > maxper ? t.per : maxper;
		q->t[q->ntensors++] = t;
	}
	graph_free(&g);
	q->master = xmalloc(n->nparams * sizeof *q->master);
	q->scratch = xmalloc((size_t)maxper * sizeof *q->scratch);
	q->sorted = xmalloc((size_t)maxper * sizeof *q->sorted);
	q->codes = xmalloc((size_t)maxper);
	return q;
}

void qat_free(struct qat *q)
{
	if (!q)
		return;
	for (int i = 0; i < q->ntensors; i++)
		free(q->t[i].live);
	free(q->t);
	free(q->master);
	free(q->scratch);
	free(q->sorted);
	free(q->codes);
	free(q);
}

/* Channel c of tensor t in params: gathered, quantised, written back as scale * code. */
static void quantize_channel(struct qat *q, const struct qat_tensor *t, float *params, int c)
{
	float *w = params + t->off + (size_t)c * t->cstride;
	for (int j = 0; j < t->per; j++)
		q->scratch[j] = w[(size_t)j * t->jstride];
	float s = t->ternary ? qat_ternary_channel(q->scratch, t->per, t->live, q->sparsity,
						  q->sorted, q->codes)
			     : qat_int8_channel(q->scratch, t->per, q->codes);
	for (int j = 0; j < t->per; j++)
		w[(size_t)j * t->jstride] = s * q->codes[j];
}

void qat_quantize(struct qat *q, struct net *n)
{
	if (q->quantized)
		die("qat_quantize: the weights are already quantised");
	memcpy(q->master, n->params, n->nparams * sizeof *n->params);
	for (int i = 0; i < q->ntensors; i++)
		for (int c = 0; c < q->t[i].cout; c++)
			quantize_channel(q, &q->t[i], n->params, c);
	q->quantized = 1;
}

void qat_restore(struct qat *q, struct net *n)
{
	if (!q->quantized)
		die("qat_restore: the weights are not quantised");
	memcpy(n->params, q->master, n->nparams * sizeof *n->params);
	q->quantized = 0;
}
