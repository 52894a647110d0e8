/* test_patch.c — row-streamed ("patched") execution: on random archs with random int8 parameters
 * the streamed reference gives bit-identical logits to layer by layer, its arena is check-cost's,
 * the plan holds no overlap, nothing is recomputed, and the streamed arena is smaller. */
#include "cost/cost.h"
#include "cost/stream.h"
#include "core/arch.h"
#include "core/prng.h"
#include "core/space.h"
#include "core/util.h"
#include "int8/int8_ref.h"
#include "int8/quant.h"
#include "search/gen.h"
#include "t.h"

#include <stdlib.h>
#include <string.h>

static uint64_t lcg = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(lcg >> 33);
}

static int8_t *rand_i8(size_t n)
{
	int8_t *v = xmalloc(n ? n : 1);
	for (size_t i = 0; i < n; i++)
		v[i] = (int8_t)(rnd() % 256 - 128);
	return v;
}

/* Random but plausible int8 parameters: outputs vary rather than saturate. */
static void fill_conv(struct qop *o)
{
	int per = o->cin * o->k * o->k;
	o->w = rand_i8((size_t)o->cout * per);
	o->bias = xmalloc(sizeof(int32_t) * o->cout);
	o->mult = xmalloc(sizeof(int32_t) * o->cout);
	o->shift = xmalloc((size_t)o->cout);
	for (int c = 0; c < o->cout; c++) {
		o->bias[c] = (int32_t)(rnd() % 4001) - 2000;
		o->mult[c] = (int32_t)((1u << 30) + rnd() % (1u << 30));
		o->shift[c] = (int8_t)(-6 - (per > 64) - (per > 512) * 2);
	}
	o->lo = -128;
	o->hi = 127;
	o->pre_zp = (int32_t)(rnd() % 21) - 10;
	if (o->act == QACT_RELU || o->act == QACT_RELU6)
		o->lo = (int32_t)(rnd() % 21) - 10;
	if (o->act == QACT_RELU6)
		o->hi = 100;
	if (o->act == QACT_LUT_SIGMOID || o->act == QACT_LUT_SWISH || o->act == QACT_LUT_LEAKY)
		o->lut = rand_i8(256);
}

static void fill(struct qmodel *m)
{
	for (int i = 0; i < m->ntensors; i++)
		m->t[i].zp = (int32_t)(rnd() % 21) - 10;
	for (int i = 0; i < m->nops; i++) {
		struct qop *o = &m->ops[i];
		if (o->kind == QOP_PW || o->kind == QOP_DW)
			fill_conv(o);
		for (int k = 0; k < 3; k++) {
			o->emult[k] = (int32_t)((1u << 30) + rnd() % (1u << 30));
			o->eshift[k] = (int8_t)(o->kind == QOP_SCALE ? -7 : k < 2 ? -1 : -19);
		}
	}
}

/* One arch: layer by layer and streamed with patch_layers give the same logits on a random
 * input; the streamed arena is check-cost's. Returns 1 when all held. */
static int same_streamed(const struct arch *a, int h, int patch_layers, const char *what,
			 int64_t *arena_layer, int64_t *arena_patched)
{
	char err[512];
	struct arch_net *net = xmalloc(sizeof *net);
	if (arch_expand(a, h, h, 10, net, err, sizeof err)) {
		free(net);
		return -1; /* does not fit this resolution */
	}
	struct qmodel m;
	quant_graph_build(a, net, &m);
	fill(&m);
	size_t isz = m.t[m.input].size;
	int8_t *x = rand_i8(isz), ref[10], got[10];
	int ok = 1;
	quant_replan(&m, 0);
	*arena_layer = (int64_t)m.arena_bytes;
	int8_ref_run(&m, x, NULL, ref, NULL);
	quant_replan(&m, patch_layers);
	*arena_patched = (int64_t)m.arena_bytes;
	int8_ref_run(&m, x, NULL, got, NULL);
	ok &= !memcmp(ref, got, sizeof ref);
	struct cost c;
	ok &= cost_compute_exec(net, patch_layers, &c, err, sizeof err) == 0 &&
	      c.arena_bytes == *arena_patched && c.patch_layers == m.patch_layers &&
	      c.patch_streams == m.st.nstreams &&
	      c.patch_macs_overhead == 0;
	if (!ok)
		printf("# %s: streamed %d layers: logits %s, arena %lld vs check-cost %lld\n", what,
		       m.patch_layers, memcmp(ref, got, sizeof ref) ? "DIFFER" : "same",
		       (long long)*arena_patched, (long long)c.arena_bytes);
	quant_free(&m);
	free(x);
	free(net);
	return ok;
}

static void layer(struct block *b, int cout, int n, int k, int s, int e, enum conv_type ct,
		  int residual, int se)
{
	memset(b, 0, sizeof *b);
	b->out_ch = cout;
	b->num_layers = n;
	b->kernel = k;
	b->stride = s;
	b->expansion = e;
	b->conv = ct;
	b->skip = residual ? SKIP_RESIDUAL : SKIP_IDENTITY;
	b->use_se = se;
	b->se_ratio = se ? 0.25 : 0;
	b->act = ACT_RELU6;
}

/* Hand-made archs: residual mbconv and depthwise layers, projections, SE inside the prefix,
 * kernels 3, 5, 7, strides 1 and 2. */
static void test_hand(void)
{
	struct arch a;
	memset(&a, 0, sizeof a);
	a.input_channels = 3;
	a.nblocks = 4;
	layer(&a.blocks[0], 8, 2, 3, 2, 1, CONV_DEPTHWISE, 1, 0);
	layer(&a.blocks[1], 12, 2, 5, 1, 3, CONV_MBCONV, 1, 0);
	layer(&a.blocks[2], 16, 2, 7, 2, 2, CONV_MBCONV, 1, 1);
	layer(&a.blocks[3], 16, 2, 3, 1, 4, CONV_MBCONV, 1, 0);
	a.blocks[2].act = ACT_SWISH;
	a.blocks[3].act = ACT_LEAKYRELU;
	int64_t al, ap;
	for (int n = 1; n <= 8; n++) {
		char what[64];
		snprintf(what, sizeof what, "hand arch, %d layers streamed", n);
		int rc = same_streamed(&a, 29, n, what, &al, &ap);
		T_CHECK(rc == 1, "%s: bit-identical logits, arena %lld = check-cost's (layer by layer %lld)",
			what, (long long)ap, (long long)al);
	}
	int rc = same_streamed(&a, 40, STREAM_AUTO, "auto", &al, &ap);
	T_CHECK(rc == 1 && ap < al,
		"auto: bit-identical, arena %lld < layer by layer %lld", (long long)ap,
		(long long)al);
}

/* Random archs of the search space at small resolutions (16..31: their inference is the time),
 * 0..4 layers streamed or auto. */
static void test_random(void)
{
	struct space sp;
	char err[512] = "";
	if (!T_CHECK(space_load("data/search-space.json", &sp, err, sizeof err) == 0,
		     "search space loads (%s)", err))
		return;
	struct prng r;
	prng_seed(&r, 15);
	int tried = 0, same = 0, autos = 0, smaller = 0;
	for (int i = 0; i < 24; i++) {
		struct arch a;
		strategy_random_arch(&sp, 3, &r, &a);
		int h = 16 + (int)(rnd() % 16), n = (int)(rnd() % 6) - 1; /* -1: STREAM_AUTO */
		int64_t al, ap;
		int rc = same_streamed(&a, h, n, "random arch", &al, &ap);
		if (rc < 0)
			continue;
		tried++;
		same += rc;
		autos += n == STREAM_AUTO;
		smaller += n == STREAM_AUTO && ap <= al;
	}
	T_CHECK(tried >= 12 && same == tried, "random archs: %d/%d bit-identical with check-cost's "
		"arena", same, tried);
	T_CHECK(autos > 0 && smaller == autos, "random archs, auto: the streamed arena is never "
		"larger (%d/%d)", smaller, autos);
}

/* The row kernel equals the whole-tensor depthwise kernel, row by row, through a ring. */
static void test_dw_row(void)
{
	enum { H = 9, W = 7, C = 5, K = 5, S = 2, P = 2, OH = 5, OW = 4 };
	int8_t *x = rand_i8(H * W * C), *w = rand_i8(C * K * K), y[OH * OW * C], yr[OH * OW * C];
	int8_t ring[K * W * C];
	int32_t bias[C], mult[C];
	int8_t shift[C];
	for (int c = 0; c < C; c++) {
		bias[c] = (int32_t)(rnd() % 200) - 100;
		mult[c] = (int32_t)((1u << 30) + rnd() % (1u << 30));
		shift[c] = -6;
	}
	struct lmq_rq rq = {bias, mult, shift, 3, -128, 127, 0};
	lmq_dw(x, H, W, C, -4, w, K, S, P, OH, OW, &rq, y, 0);
	int next = 0; /* input rows copied into the ring so far */
	for (int oy = 0; oy < OH; oy++) {
		int hi = oy * S - P + K - 1 < H - 1 ? oy * S - P + K - 1 : H - 1;
		for (; next <= hi; next++)
			memcpy(lmq_row(ring, next, K, W * C), x + next * W * C, W * C);
		lmq_dw_row(ring, H, K, W, C, -4, w, K, S, P, oy, OW, &rq, yr + oy * OW * C);
	}
	T_CHECK(!memcmp(y, yr, sizeof y), "lmq_dw_row over a ring of %d rows equals lmq_dw", K);
	free(x);
	free(w);
}

int main(void)
{
	test_dw_row();
	test_hand();
	test_random();
	return t_done();
}
