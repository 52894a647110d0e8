/* test_cost.c — the cost model and the shared check against golden figures.
 *
 *   tests/golden/cost-paper.jsonl   the paper's three models at 160x160, 100 classes, with
 *                                   DESIGN.md's MACs, params and layer-by-layer peak
 *   tests/golden/cost-random.jsonl  50 random archs of the search space at random resolutions
 *                                   and class counts, figures from PyTorch
 *                                   (tests/gen/cost_golden.py): must match exactly */
#include "core/arch.h"
#include "cost/check.h"
#include "cost/cost.h"
#include "cost/graph.h"
#include "cost/plan.h"
#include "core/record.h"
#include "core/space.h"
#include "t.h"
#include "dw_chain.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct arch_net net;

/* Costs rec's arch at rec's resolution and classes. Returns 0 on success. */
static int cost_of(const cJSON *rec, struct cost *c)
{
	struct arch a;
	char err[512];
	if (arch_parse(cJSON_GetObjectItemCaseSensitive(rec, "arch"), &a, err, sizeof err)) {
		printf("# arch_parse: %s\n", err);
		return -1;
	}
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(rec, "resolution");
	int h = (int)cJSON_GetArrayItem(res, 0)->valuedouble;
	int w = (int)cJSON_GetArrayItem(res, 1)->valuedouble;
	int classes = (int)record_number(rec, "classes", 0);
	if (arch_expand(&a, h, w, classes, &net, err, sizeof err) || cost_compute(&net, c, err, sizeof err)) {
		printf("# %s\n", err);
		return -1;
	}
	return 0;
}

static cJSON *load_lines(const char *path, int *n)
{
	FILE *f = fopen(path, "r");
	cJSON *all = cJSON_CreateArray();
	*n = 0;
	if (!f)
		return all;
	struct record_reader r;
	record_reader_init(&r, f, path);
	cJSON *rec;
	while (record_next(&r, &rec) > 0) {
		cJSON_AddItemToArray(all, rec);
		(*n)++;
	}
	record_reader_free(&r);
	fclose(f);
	return all;
}

static void test_paper(void)
{
	int n;
	cJSON *all = load_lines("tests/golden/cost-paper.jsonl", &n);
	T_CHECK(n == 3, "cost-paper.jsonl holds the 3 paper models");
	const cJSON *rec;
	cJSON_ArrayForEach(rec, all) {
		const char *name = record_string(rec, "name");
		struct cost c;
		if (!T_CHECK(cost_of(rec, &c) == 0, "%s costs", name))
			continue;
		T_CHECK(c.macs == (int64_t)record_number(rec, "expect.macs", -1), "%s MACs %lld", name,
			(long long)c.macs);
		T_CHECK(c.params == (int64_t)record_number(rec, "expect.params", -1), "%s params %lld",
			name, (long long)c.params);
		T_CHECK(c.peak_sram_bytes == (int64_t)record_number(rec, "expect.peak_sram_bytes", -1),
			"%s layer-by-layer peak %lld at %s", name, (long long)c.peak_sram_bytes,
			c.peak_op);
		T_CHECK(c.arena_bytes <= 320 * 1024, "%s planned arena %lld fits 320 KiB", name,
			(long long)c.arena_bytes);
		if (!strcmp(name, "lmanet-core"))
			T_CHECK(!strcmp(c.peak_op, "layers.1.layers.0 expand 1x1 (80x80x16 -> 80x80x32)"),
				"lmanet-core peak op named: %s", c.peak_op);
		if (!strcmp(name, "qwnet-core")) {
			T_CHECK(!strcmp(c.peak_op, "layers.2.layers.1 dw 5x5 s1 (40x40x128 -> 40x40x128)"),
				"qwnet-core peak op is the 40x40x128 depthwise: %s", c.peak_op);
			/* In place, the depthwise needs 204,800 + a 1,600-byte scratch; the expand of
			 * layers.1.layers.0 (80x80x16 in + 80x80x32 out) becomes the peak. */
			T_CHECK(c.arena_bytes == 307200, "qwnet-core in-place arena %lld == 307200",
				(long long)c.arena_bytes);
		}
	}
	cJSON_Delete(all);
}

static void test_random_golden(void)
{
	int n, matched = 0;
	cJSON *all = load_lines("tests/golden/cost-random.jsonl", &n);
	T_CHECK(n == 50, "cost-random.jsonl holds 50 records (got %d)", n);
	const cJSON *rec;
	int i = 0;
	cJSON_ArrayForEach(rec, all) {
		struct cost c;
		int ok = cost_of(rec, &c) == 0 &&
			 c.macs == (int64_t)record_number(rec, "expect.macs", -1) &&
			 c.params == (int64_t)record_number(rec, "expect.params", -1) &&
			 c.flash_params_bytes == (int64_t)record_number(rec, "expect.flash_bytes", -1) &&
			 c.peak_sram_bytes == (int64_t)record_number(rec, "expect.peak_sram_bytes", -1);
		if (!ok)
			printf("# record %d: got macs %lld params %lld flash %lld peak %lld\n", i,
			       (long long)c.macs, (long long)c.params, (long long)c.flash_bytes,
			       (long long)c.peak_sram_bytes);
		matched += ok;
		i++;
	}
	T_CHECK(matched == n && n > 0, "random archs: %d of %d match PyTorch exactly (MACs, params, "
		"flash, layer-by-layer peak)", matched, n);
	cJSON_Delete(all);
}

/* The in-place graph's arena is at least the bytes that must coexist at any op. */
static void test_arena_bounds(void)
{
	int n, good = 0;
	cJSON *all = load_lines("tests/golden/cost-random.jsonl", &n);
	const cJSON *rec;
	cJSON_ArrayForEach(rec, all) {
		struct cost c;
		if (cost_of(rec, &c))
			continue;
		struct graph g;
		graph_build(&net, true, &g);
		/* Lower bound: at each op, the live tensors, counting an in-place pair once. */
		int64_t bound = 0;
		for (int op = 0; op < g.nops; op++) {
			int64_t live = 0;
			for (int t = 0; t < g.ntensors; t++) {
				const struct g_tensor *x = &g.tensors[t];
				if (x->first > op || x->last < op)
					continue;
				int a = x->alias;
				if (a >= 0 && x->first == op && g.tensors[a].last == op)
					live += x->bytes > g.tensors[a].bytes ? x->bytes - g.tensors[a].bytes : 0;
				else
					live += x->bytes;
			}
			if (live > bound)
				bound = live;
		}
		good += c.arena_bytes >= bound && c.arena_bytes <= c.peak_sram_bytes + bound;
		graph_free(&g);
	}
	T_CHECK(good == n, "arena >= in-place live bytes at every op, for %d of %d archs", good, n);
	cJSON_Delete(all);
}

/* The graph itself: op count and the in-place decisions for a small arch. */
static void test_graph_shape(void)
{
	const char *text =
		"{\"input_channels\":3,\"blocks\":[{\"output_channels\":8,\"num_layers\":2,"
		"\"kernel_size\":3,\"stride\":2,\"expansion_factor\":1,\"use_se\":true,\"se_ratio\":0.25,"
		"\"conv_type\":\"depthwise\",\"skip_op\":\"residual\",\"activation\":\"swish\"}]}";
	cJSON *j = cJSON_Parse(text);
	struct arch a;
	char err[256];
	T_CHECK(arch_parse(j, &a, err, sizeof err) == 0, "small arch parses");
	T_CHECK(arch_expand(&a, 16, 16, 10, &net, err, sizeof err) == 0, "small arch expands");
	struct graph g;
	graph_build(&net, true, &g);
	/* layer 0 (stride 2, no residual): dw, 4 SE, project = 6; layer 1 (residual, 8 -> 8): dw,
	 * 4 SE, project, add = 7; head 2. */
	T_CHECK(g.nops == 15, "op count %d == 15", g.nops);
	T_CHECK(g.ops[0].scratch >= 0 && g.tensors[g.ops[0].out].alias == g.input,
		"layer 0 depthwise is in place (its input dies there)");
	T_CHECK(g.ops[6].kind == OP_DW && g.ops[6].scratch < 0 &&
		g.tensors[g.ops[6].out].alias < 0,
		"layer 1 depthwise is not in place (its input is held for the residual add)");
	T_CHECK(g.ops[12].kind == OP_ADD && g.tensors[g.ops[12].out].alias == g.ops[11].out,
		"the residual add writes over the branch output");
	/* flash: 2 layers x (dw swish LUT + SE sigmoid LUT) = 4 LUTs */
	int luts = 0;
	for (int i = 0; i < g.nops; i++)
		luts += cost_op_flash(&g.ops[i]) - g.ops[i].weights - 9 * g.ops[i].out_ch == 256;
	T_CHECK(luts == 4, "4 lookup tables (2 swish, 2 sigmoid), got %d", luts);
	graph_free(&g);
	cJSON_Delete(j);
}

/* graph_live_taps: on an 8x8 image, a 3x3 stride-2 depthwise (-> 4x4) meets the image with
 * every tap; a 7x7 stride-2 one on 4x4 (-> 2x2) never with its first row and column (output i
 * reads input 2i + d - 3); a 5x5 stride-1 one on 2x2 only with its centre 3x3. */
static void test_live_taps(void)
{
	char text[2048];
	dw_chain_json(text, sizeof text, 3, (const int[]){3, 7, 5}, (const int[]){2, 2, 1});
	cJSON *j = cJSON_Parse(text);
	struct arch a;
	char err[256];
	T_CHECK(arch_parse(j, &a, err, sizeof err) == 0 && arch_expand(&a, 8, 8, 10, &net, err, sizeof err) == 0,
		"the three-depthwise arch expands at 8x8");
	struct graph g;
	graph_build(&net, false, &g);
	int want_live[3] = {9, 36, 9}, got[3] = {0}, ndw = 0, pattern_ok = 1;
	for (int i = 0; i < g.nops; i++) {
		const struct g_op *op = &g.ops[i];
		if (op->kind != OP_DW || ndw == 3)
			continue;
		unsigned char live[49];
		got[ndw] = graph_live_taps(&g, op, live);
		for (int ky = 0; ky < op->kernel; ky++)
			for (int kx = 0; kx < op->kernel; kx++) {
				int want = ndw == 0 ? 1
					   : ndw == 1 ? ky > 0 && kx > 0
						      : ky >= 1 && ky <= 3 && kx >= 1 && kx <= 3;
				pattern_ok &= live[ky * op->kernel + kx] == want;
			}
		ndw++;
	}
	T_CHECK(ndw == 3 && got[0] == want_live[0] && got[1] == want_live[1] && got[2] == want_live[2],
		"live taps 9 of 9, 36 of 49, 9 of 25 (got %d, %d, %d)", got[0], got[1], got[2]);
	T_CHECK(pattern_ok, "the dead taps are the first row and column (7x7 on 4x4), the rim (5x5 on 2x2)");
	/* --int8-ops: the named convs stay int8 in a ternary model, and cost less flash saved */
	struct cost_weights t3 = {1, NULL}, mixed = {1, "layers.1.layers.0.dw,layers.2.layers.0.project"};
	int kept = 0, others_same = 1;
	for (int i = 0; i < g.nops; i++) {
		const struct g_op *op = &g.ops[i];
		int named = !strcmp(op->name, "layers.1.layers.0.dw") ||
			    !strcmp(op->name, "layers.2.layers.0.project");
		kept += named && cost_op_ternary(op, t3) && !cost_op_ternary(op, mixed);
		others_same &= named || cost_op_ternary(op, t3) == cost_op_ternary(op, mixed);
	}
	T_CHECK(kept == 2 && others_same, "--int8-ops keeps exactly the two named convs int8 (%d)", kept);
	struct cost ct, cm;
	int computed = !cost_compute_w(&net, t3, &ct, err, sizeof err) &&
		       !cost_compute_w(&net, mixed, &cm, err, sizeof err);
	T_CHECK(computed && cm.flash_bytes > ct.flash_bytes,
		"int8 ops cost more flash than ternary ones (%lld > %lld)", (long long)cm.flash_bytes,
		(long long)ct.flash_bytes);
	T_CHECK(!cost_int8_ops_check(&net, mixed.int8_ops, err, sizeof err), "the two names are convs");
	T_CHECK(cost_int8_ops_check(&net, "layers.1.layers.0.dw,layers.9.layers.0.dw", err, sizeof err) &&
			strstr(err, "'layers.9.layers.0.dw'"),
		"an unknown name is refused, named: %s", err);
	T_CHECK(cost_int8_ops_check(&net, "layers.0.layers.0.dw", err, sizeof err) &&
			cost_int8_ops_check(&net, "classifier", err, sizeof err) &&
			cost_int8_ops_check(&net, "layers.1.layers.0", err, sizeof err),
		"the first conv and the classifier (int8 anyway) and a prefix are refused");
	unsigned char one;
	for (int i = 0; i < g.nops; i++)
		if (g.ops[i].kind == OP_LINEAR)
			T_CHECK(graph_live_taps(&g, &g.ops[i], &one) == 1 && one == 1,
				"the classifier's one tap is live");
	graph_free(&g);
	cJSON_Delete(j);
}

/* The op list names every op and the PyTorch modules of its weights as the reference model does
 * (the paper models' golden tests load them; this spells out an mbconv layer with SE and a
 * projected residual, a depthwise layer, and the head). */
static void test_graph_names(void)
{
	const char *text =
		"{\"input_channels\":3,\"blocks\":[{\"output_channels\":8,\"num_layers\":1,"
		"\"kernel_size\":3,\"stride\":1,\"expansion_factor\":2,\"use_se\":true,\"se_ratio\":0.25,"
		"\"conv_type\":\"mbconv\",\"skip_op\":\"residual\",\"activation\":\"relu6\"},"
		"{\"output_channels\":8,\"num_layers\":1,\"kernel_size\":3,\"stride\":2,"
		"\"expansion_factor\":1,\"use_se\":false,\"se_ratio\":0,\"conv_type\":\"depthwise\","
		"\"skip_op\":\"identity\",\"activation\":\"relu6\"}]}";
	static const char *const want[][3] = {
		{"layers.0.layers.0.expand", "layers.0.layers.0.conv.0", "layers.0.layers.0.conv.1"},
		{"layers.0.layers.0.dw", "layers.0.layers.0.conv.3", "layers.0.layers.0.conv.4"},
		{"layers.0.layers.0.se.pool", "", ""},
		{"layers.0.layers.0.se.fc1", "layers.0.layers.0.conv.6.se.1", ""},
		{"layers.0.layers.0.se.fc2", "layers.0.layers.0.conv.6.se.3", ""},
		{"layers.0.layers.0.se.scale", "", ""},
		{"layers.0.layers.0.project", "layers.0.layers.0.conv.7", "layers.0.layers.0.conv.8"},
		{"layers.0.layers.0.res_proj", "layers.0.layers.0.res_proj.0",
		 "layers.0.layers.0.res_proj.1"},
		{"layers.0.layers.0.add", "", ""},
		{"layers.1.layers.0.dw", "layers.1.layers.0.conv.0", "layers.1.layers.0.conv.1"},
		{"layers.1.layers.0.project", "layers.1.layers.0.conv.3", "layers.1.layers.0.conv.4"},
		{"pool", "", ""},
		{"classifier", "classifier", ""}};
	int nwant = (int)(sizeof want / sizeof want[0]);
	cJSON *j = cJSON_Parse(text);
	struct arch a;
	char err[256], buf[96];
	T_CHECK(arch_parse(j, &a, err, sizeof err) == 0, "named arch parses");
	T_CHECK(arch_expand(&a, 8, 8, 10, &net, err, sizeof err) == 0, "named arch expands");
	struct graph g;
	graph_build(&net, false, &g);
	T_CHECK(g.nops == nwant, "op count %d == %d", g.nops, nwant);
	int good = 0;
	for (int i = 0; i < g.nops && i < nwant; i++) {
		int ok = !strcmp(g.ops[i].name, want[i][0]) && !strcmp(g.ops[i].conv, want[i][1]) &&
			 !strcmp(g.ops[i].bn, want[i][2]);
		if (!ok)
			printf("# op %d: %s conv '%s' bn '%s'\n", i, g.ops[i].name, g.ops[i].conv,
			       g.ops[i].bn);
		good += ok;
	}
	T_CHECK(good == nwant, "%d of %d ops carry the reference's names", good, nwant);
	T_CHECK(!strcmp(graph_tensor_name(buf, sizeof buf, g.ops[0].bn, PT_RUNNING_VAR),
			"layers.0.layers.0.conv.1.running_var"),
		"tensor name %s", buf);
	T_CHECK(!strcmp(graph_tensor_name(buf, sizeof buf, g.ops[0].bn, PT_BATCHES_TRACKED),
			"layers.0.layers.0.conv.1.num_batches_tracked"),
		"tensor name %s", buf);
	graph_free(&g);
	cJSON_Delete(j);
}

/* check_record on a record built from text; returns the record (caller frees). */
static cJSON *checked(const char *text, const struct check_opts *o, int *accepted)
{
	cJSON *rec = record_normalize(cJSON_Parse(text));
	*accepted = check_record(rec, o);
	return rec;
}

static const char *first_message(const cJSON *rec)
{
	const char *m = record_string(cJSON_GetArrayItem(record_get(rec, "check.violations"), 0),
				      "message");
	return m ? m : "";
}

static const char *first_metric(const cJSON *rec)
{
	const char *m = record_string(cJSON_GetArrayItem(record_get(rec, "check.violations"), 0),
				      "metric");
	return m ? m : "";
}

#define BLOCK(ch, layers, k, s) \
	"{\"output_channels\":" ch ",\"num_layers\":" layers ",\"kernel_size\":" k \
	",\"stride\":" s ",\"expansion_factor\":3,\"use_se\":false,\"se_ratio\":0," \
	"\"conv_type\":\"mbconv\",\"skip_op\":\"residual\",\"activation\":\"relu6\"}"

static void test_bad_archs(void)
{
	struct check_opts o;
	check_opts_init(&o);
	static const struct { const char *blocks, *expect; } bad[] = {
		{BLOCK("16", "1", "4", "1"), "must be odd"},
		{BLOCK("1000000000", "1", "3", "1"), "output_channels is 1000000000"},
		{BLOCK("16", "1000000", "3", "1"), "num_layers is 1000000"},
		{BLOCK("16", "1", "3", "0"), "stride is 0"},
		{BLOCK("-16", "1", "3", "1"), "output_channels is -16"},
		{"{\"output_channels\":16}", "num_layers is missing"},
		{BLOCK("16", "1", "3", "2") "," BLOCK("16", "1", "3", "2") "," BLOCK("16", "1", "3", "2"),
		 "collapses"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[2048];
		snprintf(text, sizeof text,
			 "{\"resolution\":4,\"arch\":{\"input_channels\":3,\"blocks\":[%s]}}",
			 bad[i].blocks);
		int ok;
		cJSON *rec = checked(text, &o, &ok);
		T_CHECK(!ok && !strcmp(first_metric(rec), "arch") &&
			strstr(first_message(rec), bad[i].expect),
			"bad arch %zu rejected naming the problem: %s", i, first_message(rec));
		T_CHECK(cJSON_IsFalse(record_get(rec, "check.ok")), "bad arch %zu has check.ok false", i);
		cJSON_Delete(rec);
	}
	int ok;
	cJSON *rec = checked("{\"arch\":[1,2]}", &o, &ok);
	T_CHECK(!ok && strstr(first_message(rec), "must be a JSON object"), "arch not an object");
	cJSON_Delete(rec);
	rec = checked("{\"x\":1}", &o, &ok);
	T_CHECK(!ok && !strcmp(first_metric(rec), "arch"), "record without arch rejected");
	cJSON_Delete(rec);
	rec = checked("{\"classes\":0,\"arch\":{\"input_channels\":3,\"blocks\":[" BLOCK("16", "1", "3", "1") "]}}",
		      &o, &ok);
	T_CHECK(!ok && strstr(first_message(rec), "classes"), "classes 0 rejected: %s",
		first_message(rec));
	cJSON_Delete(rec);
}

static void test_limits_and_options(void)
{
	struct check_opts o;
	check_opts_init(&o);
	T_CHECK(check_opts_parse(&o, "--macs-max", "60M") == 1 && o.macs_max == 60e6, "--macs-max 60M");
	T_CHECK(check_opts_parse(&o, "--sram-max", "300KiB") == 1 && o.sram_max == 307200,
		"--sram-max 300KiB");
	T_CHECK(check_opts_parse(&o, "--flash-max", "100KiB") == 1, "--flash-max 100KiB");
	T_CHECK(check_opts_parse(&o, "--resolution", "96x64") == 1 && o.res_h == 96 && o.res_w == 64,
		"--resolution 96x64");
	T_CHECK(check_opts_parse(&o, "--classes", "0") == -1, "--classes 0 is refused");
	T_CHECK(check_opts_parse(&o, "--macs-max", "lots") == -1, "--macs-max lots is refused");
	T_CHECK(check_opts_parse(&o, "--drop", NULL) == 0, "--drop is not a shared option");
	T_CHECK(check_opts_parse(&o, "--space", "data/search-space.json") == 1 && o.space,
		"--space data/search-space.json loads");
	T_CHECK(check_opts_parse(&o, "--space", "/nonexistent") == -1, "--space of a missing file");

	int n;
	cJSON *all = load_lines("tests/golden/cost-paper.jsonl", &n);
	cJSON *rec = cJSON_Duplicate(cJSON_GetArrayItem(all, 2), 1); /* qwnet-core */
	cJSON_ReplaceItemInObject(rec, "resolution", cJSON_CreateNumber(160)); /* over --resolution */
	int ok = check_record(rec, &o);
	T_CHECK(!ok, "qwnet-core over MACs/flash and outside the space is rejected");
	const cJSON *v;
	int macs = 0, flash = 0, space = 0, sram = 0;
	cJSON_ArrayForEach(v, record_get(rec, "check.violations")) {
		const char *m = record_string(v, "metric"), *msg = record_string(v, "message");
		if (!strcmp(m, "macs"))
			macs = strstr(msg, "MACs 67.1M exceed the 60.0M limit; reduce channels") != NULL;
		if (!strcmp(m, "flash"))
			flash = strstr(msg, "185.6KiB") != NULL; /* with the DSP kernels' code */
		if (!strcmp(m, "space"))
			space += strstr(msg, "expansion_factor is 2") && strstr(msg, "[3, 4, 6]");
		if (!strcmp(m, "sram"))
			sram = record_number(v, "value", 0) == 307200 + COST_STACK_BYTES &&
			       strstr(msg, "plus 8.0KiB of stack") != NULL;
	}
	T_CHECK(macs, "MACs violation reads as the brief asks");
	T_CHECK(flash, "flash violation names the size");
	T_CHECK(space == 2, "two expansion_factor space violations naming the allowed set (%d)", space);
	T_CHECK(sram, "SRAM violation: the 307,200-byte arena fits 300KiB alone, not with the stack");
	T_CHECK(record_number(rec, "cost.stack_bytes", 0) == COST_STACK_BYTES &&
		record_number(rec, "cost.sram_bytes", 0) == 307200 + COST_STACK_BYTES,
		"cost.stack_bytes and cost.sram_bytes reported");
	T_CHECK(cost_sram_bytes(1001, 8192) == 1004 + 8192 && cost_sram_bytes(1004, 8) == 1012,
		"cost_sram_bytes rounds the arena up to RAM words");
	T_CHECK(strlen(record_string(rec, "id")) == 16, "id is set");
	T_CHECK(rec->child == cJSON_GetObjectItem(rec, "id"), "id is the record's first key");

	/* The record's own resolution wins over --resolution; SRAM checks the arena. */
	cJSON_ReplaceItemInObject(rec, "resolution", cJSON_CreateString("224x224"));
	check_record(rec, &o);
	sram = 0;
	cJSON_ArrayForEach(v, record_get(rec, "check.violations"))
		if (!strcmp(record_string(v, "metric"), "sram"))
			sram = strstr(record_string(v, "message"), "layers.1.layers.0 expand") != NULL &&
			       record_number(v, "value", 0) == record_number(rec, "cost.sram_bytes", -1);
	T_CHECK(sram, "at 224x224 the SRAM violation names the peak op and uses sram_bytes");
	T_CHECK(cJSON_GetArrayItem(record_get(rec, "cost.resolution"), 0)->valuedouble == 224,
		"cost.resolution reports the record's 224");

	/* --seen: a history with this id rejects it. */
	char path[] = "/tmp/lmnas-seen-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "not json\n{\"id\":\"%s\"}\n", record_string(rec, "id"));
	fclose(f);
	T_CHECK(check_opts_parse(&o, "--seen", path) == 1 && o.nseen == 1, "--seen loads 1 id");
	check_record(rec, &o);
	int seen = 0;
	cJSON_ArrayForEach(v, record_get(rec, "check.violations"))
		seen |= !strcmp(record_string(v, "metric"), "seen") &&
			strstr(record_string(v, "message"), "already evaluated");
	T_CHECK(seen, "--seen rejects an already evaluated arch with its id");
	unlink(path);
	cJSON_Delete(rec);
	cJSON_Delete(all);
	check_opts_free(&o);
}

/* An arch of five copies of b on input_channels channels. */
static void five_blocks(struct arch *a, int input_channels, struct block b)
{
	memset(a, 0, sizeof *a);
	a->input_channels = input_channels;
	a->nblocks = 5;
	for (int i = 0; i < 5; i++)
		a->blocks[i] = b;
}

static void test_space(void)
{
	struct space sp;
	char err[256];
	T_CHECK(space_load("data/search-space.json", &sp, err, sizeof err) == 0,
		"data/search-space.json loads");
	const struct block_space *b = &sp.block;
	T_CHECK(sp.stages == 5 && b->n_out_ch == 8 && b->out_ch[0] == 16 && b->out_ch[7] == 160 &&
		b->n_kernel == 3 && b->n_stride == 2 && b->n_expansion == 3 && b->n_layers == 5 &&
		b->layers[4] == 6 && b->n_se_ratio == 2 && b->se_allowed[0] && b->se_allowed[1] &&
		b->conv_allowed[0] && b->conv_allowed[1] && b->skip_allowed[0] && b->skip_allowed[1] &&
		b->act_allowed[0] && b->act_allowed[1] && b->act_allowed[2],
		"the space is Table I");
	T_CHECK(sp.first_channels == 1 && sp.first.n_expansion == 3 && sp.first.expansion[0] == 9 &&
		sp.first.expansion[2] == 18 && sp.first.n_kernel == 3,
		"and a grey image's first block expands 9, 12 or 18 times");
	/* Five in-space blocks, then break one field at a time. */
	struct arch a;
	five_blocks(&a, 3, (struct block){.out_ch = 32, .num_layers = 2, .kernel = 5, .stride = 2,
					  .expansion = 4, .use_se = false, .se_ratio = 0.3,
					  .conv = CONV_MBCONV, .skip = SKIP_RESIDUAL, .act = ACT_SWISH});
	struct space_violation v[8];
	T_CHECK(space_check(&sp, &a, v, 8) == 0,
		"in-space arch passes (se_ratio 0.3 ignored while use_se is false)");
	a.blocks[1].use_se = true;
	T_CHECK(space_check(&sp, &a, v, 8) == 1 && !strcmp(v[0].field, "blocks[1].se_ratio") &&
		strstr(v[0].message, "[0.25, 0.5]"), "se_ratio checked when use_se: %s", v[0].message);
	a.blocks[1].se_ratio = 0.5;
	a.blocks[2].conv = CONV_DEPTHWISE;
	a.blocks[2].expansion = 2;
	T_CHECK(space_check(&sp, &a, v, 8) == 0, "expansion_factor ignored for depthwise blocks");
	a.blocks[3].num_layers = 5;
	a.blocks[4].out_ch = 20;
	int n = space_check(&sp, &a, v, 8);
	T_CHECK(n == 2 && !strcmp(v[0].field, "blocks[3].num_layers") && !strcmp(v[1].value, "20") &&
		!strcmp(v[1].allowed, "[16, 24, 32, 48, 64, 96, 128, 160]"),
		"num_layers 5 and output_channels 20 named with the allowed sets");
	a.nblocks = 4;
	T_CHECK(space_check(&sp, &a, v, 1) == 2 && !strcmp(v[0].field, "blocks") &&
		strstr(v[0].message, "exactly 5 stages"), "4 blocks: %s (and the rest counted)",
		v[0].message);
	cJSON *j = cJSON_Parse("{\"stages\":5,\"block_fields\":{}}");
	T_CHECK(space_from_json(j, &sp, err, sizeof err) == -1 && strstr(err, "output_channels"),
		"a space without fields is refused: %s", err);
	cJSON_Delete(j);
}

/* data/search-space.json with first_block = FIRST (JSON text) instead of its own, into sp: 0, or -1 with err. */
static int space_with_first(struct space *sp, const char *first, char *err, size_t errlen)
{
	char *text = read_file("data/search-space.json", 1 << 20, NULL, NULL);
	cJSON *root = text ? cJSON_Parse(text) : NULL;
	free(text);
	cJSON_DeleteItemFromObjectCaseSensitive(root, "first_block");
	cJSON_AddItemToObject(root, "first_block", cJSON_Parse(first));
	int rc = root ? space_from_json(root, sp, err, errlen) : -1;
	cJSON_Delete(root);
	return rc;
}

static void test_space_first_block(void)
{
	struct space sp;
	char err[256];
	int rc = space_with_first(&sp, "{\"input_channels\":1,\"block_fields\":"
				  "{\"expansion_factor\":{\"values\":[16,24]}}}", err, sizeof err);
	if (!T_CHECK(rc == 0, "a first_block loads (%s)", err))
		return;
	T_CHECK(sp.first_channels == 1 && sp.first.n_expansion == 2 && sp.first.expansion[1] == 24 &&
		sp.block.n_expansion == 3 && sp.first.n_kernel == 3 && sp.first.n_out_ch == 8 &&
		sp.first.conv_allowed[0] && sp.first.act_allowed[2],
		"it replaces the fields it gives and keeps the others");
	T_CHECK(space_block(&sp, 1, 0) == &sp.first && space_block(&sp, 1, 1) == &sp.block &&
		space_block(&sp, 3, 0) == &sp.block,
		"it applies to the first block of a one-channel input only");
	struct arch a;
	five_blocks(&a, 1, (struct block){.out_ch = 32, .num_layers = 1, .kernel = 3, .stride = 2,
					  .expansion = 4, .conv = CONV_MBCONV, .skip = SKIP_RESIDUAL,
					  .act = ACT_RELU6});
	a.blocks[0].expansion = 24;
	struct space_violation v[4];
	T_CHECK(space_check(&sp, &a, v, 4) == 0, "expansion 24 in the first block of a grey image");
	a.blocks[0].expansion = 4;
	T_CHECK(space_check(&sp, &a, v, 4) == 1 && !strcmp(v[0].field, "blocks[0].expansion_factor") &&
		!strcmp(v[0].allowed, "[16, 24]"), "Table I's 4 there is refused: %s", v[0].message);
	a.blocks[0].expansion = 24;
	a.blocks[1].expansion = 24;
	T_CHECK(space_check(&sp, &a, v, 4) == 1 && !strcmp(v[0].field, "blocks[1].expansion_factor") &&
		!strcmp(v[0].allowed, "[3, 4, 6]"), "24 in the second block is refused: %s",
		v[0].message);
	a.blocks[1].expansion = 4;
	a.input_channels = 3;
	T_CHECK(space_check(&sp, &a, v, 4) == 1 && !strcmp(v[0].field, "blocks[0].expansion_factor"),
		"and in the first block of a three-channel image");
	T_CHECK(space_with_first(&sp, "{\"block_fields\":{}}", err, sizeof err) == -1 &&
		strstr(err, "input_channels"), "a first_block without input_channels: %s", err);
	T_CHECK(space_with_first(&sp, "{\"input_channels\":1,\"block_fields\":{\"kernel_size\":"
				 "{\"values\":[4]}}}", err, sizeof err) == -1 &&
		strstr(err, "first_block.block_fields.kernel_size"), "its fields are checked: %s", err);
	T_CHECK(space_with_first(&sp, "{\"input_channels\":1}", err, sizeof err) == -1 &&
		strstr(err, "first_block.block_fields must be an object"), "%s", err);
}

int main(void)
{
	test_paper();
	test_random_golden();
	test_arena_bounds();
	test_graph_shape();
	test_graph_names();
	test_live_taps();
	test_space();
	test_space_first_block();
	test_bad_archs();
	test_limits_and_options();
	return t_done();
}
