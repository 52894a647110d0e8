/* test_latency.c — the Cortex-M7 latency model (cost/latency.h): its loop counts are the kernels'
 * (the depthwise's gathered rows against a replay of lmq_dw_dsp's row ring; the pointwise's
 * steps by hand), milliseconds, and the whole inference as the sum of its ops. */
#include <stdint.h>
#include <string.h>
#include "t.h"
#include "core/arch.h"
#include "cost/graph.h"
#include "cost/latency.h"

/* The rows lmq_dw_dsp gathers for one channel: its ring of k buffers, replayed. */
static double replay_rows(int oh, int k, int s, int pad)
{
	int held[16], n = 0;
	for (int i = 0; i < k; i++)
		held[i] = -1 - pad - k;
	for (int oy = 0; oy < oh; oy++)
		for (int ky = 0; ky < k; ky++) {
			int iy = oy * s - pad + ky, slot = (oy * s + ky) % k;
			if (held[slot] != iy) {
				held[slot] = iy;
				n++;
			}
		}
	return n;
}

static void test_dw_rows(void)
{
	int same = 1;
	for (int k = 1; k <= 7; k += 2)
		for (int s = 1; s <= 2; s++)
			for (int oh = 1; oh <= 20; oh++)
				same &= latency_dw_rows(oh, k, s) == replay_rows(oh, k, s, k / 2);
	T_CHECK(same, "depthwise: the rows gathered are those of lmq_dw_dsp's ring (k 1..7, stride 1 "
		"and 2)");
}

/* A one-layer net: 12x12x8 input, mbconv 5x5 stride 2 to 18 channels (expand 3: 24), 7 classes. */
static int one_layer(struct graph *g)
{
	const char *js = "{\"input_channels\":8,\"blocks\":[{\"output_channels\":18,\"num_layers\":1,"
			 "\"kernel_size\":5,\"stride\":2,\"expansion_factor\":3,\"use_se\":false,"
			 "\"se_ratio\":0,\"conv_type\":\"mbconv\",\"skip_op\":\"identity\","
			 "\"activation\":\"relu6\"}]}";
	struct arch a;
	struct arch_net net;
	char err[256];
	cJSON *j = cJSON_Parse(js);
	int rc = arch_parse(j, &a, err, sizeof err) || arch_expand(&a, 12, 12, 7, &net, err, sizeof err);
	cJSON_Delete(j);
	if (!rc)
		graph_build(&net, true, g);
	return rc;
}

static void test_features(void)
{
	struct graph g;
	if (one_layer(&g)) {
		T_CHECK(0, "the test net expands");
		return;
	}
	double f[LATENCY_NFEAT], sum = 0;
	int found = 0;
	for (int i = 0; i < g.nops; i++) {
		enum latency_kind k = latency_features(&g, i, f);
		sum += latency_op_instructions(&g, i);
		if (!strcmp(g.ops[i].role, "project")) { /* 6x6 pixels, 24 -> 18 */
			found++;
			T_CHECK(k == LAT_PW && f[1] == 36 && f[2] == 36 * 18 && f[3] == 18 * 9 * 6 &&
				f[4] == 0 && f[5] == 18 * 6, "project 1x1: pixels, outputs, 4-wide steps "
				"of 18 pixel pairs by 9 channel pairs, 18 pairs widened");
		}
		if (!strcmp(g.ops[i].role, "expand")) { /* 12x12 pixels, 8 -> 24 */
			found++;
			T_CHECK(k == LAT_PW && f[3] == 72 * 12 * 2, "expand 1x1: 8 inputs are 2 steps");
		}
		if (!strcmp(g.ops[i].role, "dw")) { /* 12x12x24 -> 6x6, 5x5 stride 2 pad 2 */
			found++;
			/* 36 outputs per channel: channel groups (LMQ_DWG_MAX_OUT 64); per output
			 * row or column 3, 5, 5, 5, 5, 4 taps inside the input: 27 */
			T_CHECK(k == LAT_DW_GROUP && f[1] == 6 && f[2] == 24 * 36 &&
				f[3] == 6 * 27 * 27 && f[4] == 6 * 27 * 6 && f[5] == 0,
				"depthwise 5x5: 6 groups of 4 channels, outputs, 27 x 27 taps and 27 x 6 "
				"kernel rows per group, no tail");
		}
		if (!strcmp(g.ops[i].role, "classifier")) {
			found++;
			T_CHECK(k == LAT_PW && f[1] == 1 && f[2] == 7 && f[3] == 4 * 4 && f[4] == 4 * 2,
				"classifier: one pixel (a pair with itself), 4 channel pairs, 18 inputs = 4 "
				"steps and 2 tail steps");
		}
	}
	T_CHECK(found == 4, "expand, dw, project and classifier found");
	double total = latency_instructions(&g);
	T_CHECK(sum > 0 && total > sum && total < sum * 1.05,
		"an inference is its ops plus a little (input copy, argmax): %.0f of %.0f", sum, total);
	T_CHECK(latency_ms(216000, 216) == 1.0, "216,000 instructions at 216 MHz are 1 ms");
	graph_free(&g);
}

/* The taps of the direct depthwise, counted by brute force. */
static void test_dw_taps(void)
{
	int same = 1;
	for (int k = 1; k <= 7; k += 2)
		for (int s = 1; s <= 2; s++)
			for (int n = 1; n <= 9; n++) {
				int pad = k / 2, on = (n + 2 * pad - k) / s + 1, taps = 0;
				for (int o = 0; o < on; o++)
					for (int t = 0; t < k; t++)
						taps += o * s - pad + t >= 0 && o * s - pad + t < n;
				same &= latency_dw_taps(on, n, k, s, pad) == taps;
			}
	T_CHECK(same, "direct depthwise: the taps inside the input (k 1..7, stride 1 and 2, "
		"inputs 1..9)");
}

int main(void)
{
	test_dw_rows();
	test_dw_taps();
	test_features();
	return t_done();
}
