/* ema.c — the weights' moving average. See ema.h. */
#include "engine/ema.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

struct ema *ema_new(const struct net *n, double decay)
{
	struct ema *e = xcalloc(1, sizeof *e);
	e->decay = decay;
	e->nparams = n->nparams;
	e->nbufs = n->nbufs;
	e->avg = xmalloc((e->nparams + e->nbufs + 1) * sizeof *e->avg);
	memcpy(e->avg, n->params, e->nparams * sizeof *e->avg);
	memcpy(e->avg + e->nparams, n->bufs, e->nbufs * sizeof *e->avg);
	return e;
}

void ema_free(struct ema *e)
{
	if (e) {
		free(e->avg);
		free(e);
	}
}

double ema_rate(const struct ema *e)
{
	double ramp = (1.0 + (double)e->updates) / (10.0 + (double)e->updates);
	return ramp < e->decay ? ramp : e->decay;
}

/* avg[i] = rate·avg[i] + (1 - rate)·now[i] */
static void blend(float *restrict avg, const float *restrict now, size_t count, float rate)
{
	const float keep = rate, take = 1.0f - rate;
	#pragma omp parallel for simd schedule(static) if (count > 65536)
	for (size_t i = 0; i < count; i++)
		avg[i] = keep * avg[i] + take * now[i];
}

void ema_update(struct ema *e, const struct net *n)
{
	float rate = (float)ema_rate(e);
	blend(e->avg, n->params, e->nparams, rate);
	blend(e->avg + e->nparams, n->bufs, e->nbufs, rate);
	e->updates++;
}

static void swap_floats(float *restrict a, float *restrict b, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		float t = a[i];
		a[i] = b[i];
		b[i] = t;
	}
}

void ema_swap(struct ema *e, struct net *n)
{
	swap_floats(e->avg, n->params, e->nparams);
	swap_floats(e->avg + e->nparams, n->bufs, e->nbufs);
}
