/* latency.c — the Cortex-M7 instruction model (see latency.h). */
#include "cost/latency.h"
#include "cost/cost.h"

/* Instructions per unit of each feature: least squares (of relative errors) on the per-op counts
 * of make m7-count (DSP kernels, QEMU -icount) of 12 random designs at 28x28 and the three
 * published models at 160x160, 889 ops: data/m7-latency.jsonl, written by pipelines/latency.sh,
 * fitted by `pipelines/latency-fit.py data/m7-latency.jsonl` (worst in-sample error of a whole
 * inference 2.5%). */
static const double coef[LAT_NKINDS][LATENCY_NFEAT] = {
	/* pw: 1, pixels, outputs, 4-wide steps of two channels, tail MACs */
	{55.0618, 40.4373, 57.604, 15.9218, 5.38277, 0},
	/* dw: 1, kernel rows, outputs, 4-tap words, gathered row bytes, output rows */
	{36.5829, 81.8978, 62.6267, 10.6101, 6.39008, 158.775},
	/* gap: 1, channels, elements */
	{12.3393, 20.7273, 6.00665, 0, 0, 0},
	/* scale: 1, channels, elements */
	{496.33, -11.2523, 61.2041, 0, 0, 0},
	/* add: 1, elements */
	{-8.87036, 166.55, 0, 0, 0, 0},
};
/* The rest of an inference: 1, input bytes (the copy into the arena; the argmax is too small to
 * tell apart). */
static const double glue[2] = {-379.183, 4.01674};

const char *latency_kind_name(enum latency_kind k)
{
	static const char *const names[LAT_NKINDS] = {"pw", "dw", "gap", "scale", "add"};
	return names[k];
}

/* Input rows lmq_dw_dsp gathers per channel: each row from -pad to the last one a window reads,
 * once (its k row buffers are a ring), or k per output row when the stride skips rows. */
double latency_dw_rows(int out_h, int k, int s)
{
	return s <= k ? (double)(out_h - 1) * s + k : (double)out_h * k;
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
		int k = o->kernel, len = in->w + 2 * o->pad + 3; /* a padded row, as lmq_dw_dsp */
		f[1] = c * k;                                       /* packing the weights */
		f[2] = c * np;                                      /* requantisation, stores */
		f[3] = c * np * k * ((k + 3) / 4);                  /* 4-tap words */
		f[4] = c * latency_dw_rows(out->h, k, o->stride) * len; /* gathering rows */
		f[5] = c * out->h;                                  /* output rows */
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
		f[1] = np;
		f[2] = np * c;
		f[3] = np * ((out->c + 1) / 2) * (double)(cin / 4);
		f[4] = np * c * (cin % 4);
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
