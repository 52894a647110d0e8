/* latency.c — the Cortex-M7 instruction model (see latency.h). */
#include "cost/latency.h"
#include "cost/cost.h"

/* Instructions per unit of each feature, fitted by pipelines/latency-fit.sh to the per-op counts
 * of make m7-count (DSP kernels, QEMU -icount) on random designs at 28x28
 * (pipelines/latency.sh designs OUT 24 101). */
static const double coef[LAT_NKINDS][LATENCY_NFEAT] = {
	/* pw: 1, pixels, outputs, 4-wide steps of two channels, tail MACs */
	{0, 0, 0, 0, 0, 0},
	/* dw: 1, weights, outputs, tap pairs, single taps, kernel rows */
	{0, 0, 0, 0, 0, 0},
	/* gap: 1, channels, elements */
	{0, 0, 0, 0, 0, 0},
	/* scale: 1, channels, elements */
	{0, 0, 0, 0, 0, 0},
	/* add: 1, elements */
	{0, 0, 0, 0, 0, 0},
};
/* The rest of an inference: 1, input bytes (the copy into the arena), classes (the argmax). */
static const double glue[3] = {0, 0, 0};

const char *latency_kind_name(enum latency_kind k)
{
	static const char *const names[LAT_NKINDS] = {"pw", "dw", "gap", "scale", "add"};
	return names[k];
}

/* Taps of a k-wide window inside [0, n) over `out` positions of stride s, padding pad: in
 * total (*taps), in pairs of two along the row (*pairs) and left over one by one (*singles),
 * as lmq_dw_pixel_dsp walks them. */
static void window_taps(int n, int out, int k, int s, int pad, double *taps, double *pairs,
			double *singles)
{
	*taps = *pairs = *singles = 0;
	for (int o = 0; o < out; o++) {
		int i0 = o * s - pad;
		int k0 = i0 < 0 ? -i0 : 0, k1 = n - i0 < k ? n - i0 : k;
		int v = k1 > k0 ? k1 - k0 : 0;
		*taps += v;
		*pairs += v / 2;
		*singles += v % 2;
	}
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
		double rows, py, sy, taps_x, pairs_x, singles_x;
		window_taps(in->h, out->h, o->kernel, o->stride, o->pad, &rows, &py, &sy);
		window_taps(in->w, out->w, o->kernel, o->stride, o->pad, &taps_x, &pairs_x,
			    &singles_x);
		f[1] = c * o->kernel * o->kernel;
		f[2] = c * np;
		f[3] = c * rows * pairs_x;
		f[4] = c * rows * singles_x;
		f[5] = c * rows * out->w;
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
	const struct g_tensor *in = &g->tensors[g->input], *logits = &g->tensors[g->output];
	double sum = glue[0] + glue[1] * (double)in->bytes + glue[2] * logits->c;
	for (int i = 0; i < g->nops; i++)
		sum += latency_op_instructions(g, i);
	return sum;
}

double latency_ms(double instructions, double mhz)
{
	return instructions / (mhz * 1000.0);
}
