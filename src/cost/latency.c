/* latency.c — the Cortex-M7 instruction model (see latency.h). */
#include "cost/latency.h"
#include "cost/cost.h"
#include "int8/int8_dsp.h" /* the blocking and the thresholds of the DSP kernels */

/* Instructions per unit of each feature: least squares (of relative errors) on the per-op counts
 * of make m7-count (DSP kernels, QEMU -icount) of 12 random designs at 28x28 and the three
 * published models at 160x160, 1021 ops: data/m7-latency.jsonl, written by pipelines/latency.sh
 * (designs OUT 12 3; paper OUT), fitted by `pipelines/latency-fit.py data/m7-latency.jsonl`
 * (worst in-sample error of a whole inference 3.65%). */
static const double coef[LAT_NKINDS][LATENCY_NFEAT] = {
	/* pw: 1, pixels, outputs, 4-wide steps of a 2x2 block, tail steps, widened pixel pairs */
	{318.832, -46.7251, 42.1925, 21.8269, 20.2184, 19.688},
	/* dw: 1, kernel rows, outputs, 4-tap words of output pairs, gathered row bytes, output rows */
	{859.21, 288.135, 41.2944, 14.3077, 5.02393, 177.663},
	/* dw_group: 1, passes, outputs, taps of groups, kernel rows of groups' outputs, tail taps
	 * (none in the data: the search space's channel counts are multiples of 8, so 0) */
	{-314.39, 361.731, 46.0402, 13.4466, 18.6641, 0},
	/* gap: 1, channels, elements */
	{21.7269, 20.421, 6.0049, 0, 0, 0},
	/* scale: 1, channels, elements */
	{52.3978, 14.0791, 27.9946, 0, 0, 0},
	/* add: 1, elements */
	{92.2322, 57.0004, 0, 0, 0, 0},
};
/* The rest of an inference: 1, input bytes (the copy into the arena; the argmax is too small to
 * tell apart). */
static const double glue[2] = {-469.711, 4.01795};

const char *latency_kind_name(enum latency_kind k)
{
	static const char *const names[LAT_NKINDS] = {"pw", "dw", "dw_group", "gap", "scale", "add"};
	return names[k];
}

/* Input rows lmq_dw_dsp gathers per channel: each row from -pad to the last one a window reads,
 * once (its k row buffers are a ring), or k per output row when the stride skips rows. */
double latency_dw_rows(int out_h, int k, int s)
{
	return s <= k ? (double)(out_h - 1) * s + k : (double)out_h * k;
}

double latency_dw_taps(int out_n, int n, int k, int s, int pad)
{
	double taps = 0;
	for (int o = 0; o < out_n; o++) {
		int32_t t0, t1 = lmq_dw_taps(o, s, pad, k, n, &t0);
		taps += t1 > t0 ? t1 - t0 : 0;
	}
	return taps;
}

enum latency_kind latency_features(const struct graph *g, int op, double f[LATENCY_NFEAT])
{
	const struct g_op *o = &g->ops[op];
	const struct g_tensor *in = &g->tensors[o->in[0]], *out = &g->tensors[o->out];
	double np = (double)out->h * out->w, c = out->c;
	for (int j = 0; j < LATENCY_NFEAT; j++)
		f[j] = 0;
	f[0] = 1;
	switch (cost_op_kernel(o)) {
	case COST_K_DW: {
		int k = o->kernel, s = o->stride;
		if (lmq_dw_grouped(out->h, out->w)) { /* channels by four, taps inside the input */
			double ty = latency_dw_taps(out->h, in->h, k, s, o->pad);
			double taps = ty * latency_dw_taps(out->w, in->w, k, s, o->pad);
			int groups = out->c / 4, tail = out->c % 4;
			f[1] = groups + tail;                      /* passes (a group, a tail channel) */
			f[2] = c * np;                             /* requantisation, stores */
			f[3] = groups * taps;                      /* taps of a group */
			f[4] = groups * ty * out->w;               /* kernel rows of a group's outputs */
			f[5] = tail * taps;                        /* taps of a tail channel */
			return LAT_DW_GROUP;
		}
		int len = in->w + 2 * o->pad + s + 3; /* a padded row, as lmq_dw_dsp */
		f[1] = c * k;                                             /* packing the weights */
		f[2] = c * np;                                            /* requantisation, stores */
		f[3] = c * out->h * ((out->w + 1) / 2) * k * ((k + s + 3) / 4); /* words, output pairs */
		f[4] = c * latency_dw_rows(out->h, k, s) * len;          /* gathering rows */
		f[5] = c * out->h;                                        /* output rows */
		return LAT_DW;
	}
	case COST_K_GAP:
		f[1] = in->c;
		f[2] = (double)in->h * in->w * in->c;
		return LAT_GAP;
	case COST_K_SCALE:
		f[1] = c;
		f[2] = np * c;
		return LAT_SCALE;
	case COST_K_ADD:
		f[1] = np * c;
		return LAT_ADD;
	default: { /* pointwise, SE's fully connected layers, the classifier */
		int cin = in->c;
		double blocks = (double)((out->h * out->w + 1) / 2) * ((out->c + 1) / 2); /* 2x2 */
		f[1] = np;
		f[2] = np * c;
		f[3] = blocks * (cin / 4);                         /* 4-wide steps of a 2x2 block */
		f[4] = blocks * (cin % 4);                         /* tail steps */
		f[5] = (double)((out->h * out->w + 1) / 2) * (cin / 4); /* widening pixel pairs */
		return LAT_PW;
	}
	}
}

double latency_op_instructions(const struct graph *g, int op)
{
	double f[LATENCY_NFEAT], sum = 0;
	enum latency_kind k = latency_features(g, op, f);
	for (int j = 0; j < LATENCY_NFEAT; j++)
		sum += coef[k][j] * f[j];
	return sum > 0 ? sum : 0;
}

double latency_instructions(const struct graph *g)
{
	double sum = glue[0] + glue[1] * (double)g->tensors[g->input].bytes;
	for (int i = 0; i < g->nops; i++)
		sum += latency_op_instructions(g, i);
	return sum;
}

double latency_ms(double instructions, double mhz)
{
	return instructions / (mhz * 1000.0);
}
