/* check-cost — cost an architecture and check it against the target's limits (check-cost(1)).
 *
 *   check-cost [options] < records > records
 *   check-cost [options] FILE...        each FILE one JSON document (a record or a bare arch)
 *   check-cost --plan FILE              the memory plan, per op, for a person */
#include "core/arch.h"
#include "core/options.h"
#include "cost/check.h"
#include "cost/cost.h"
#include "cost/graph.h"
#include "cost/latency.h"
#include "cost/plan.h"
#include "cost/stream.h"
#include "core/record.h"
#include "cost/train_time.h"
#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char about[] =
	"usage: check-cost [options] [FILE...] < records > records\n"
	"Adds id, cost (macs, params, flash_bytes, peak_sram_bytes, peak_op, arena_bytes,\n"
	"stack_bytes, sram_bytes = arena + stack, what --sram-max limits)\n"
	"and check (ok, violations) to each record holding an \"arch\". Reads stdin, or\n"
	"each FILE as one JSON document (a record, or a bare arch such as the paper's\n"
	"config files).\n"
	"\n"
	"options:\n";

static const char footer[] =
	"\n"
	"exit status: 0 all read, 1 some input was not JSON or not a record, 2 usage or I/O\n"
	"error. See check-cost(1) and lmnas-record(5).\n";

struct plan_ctx {
	const struct graph *g;
	const struct streams *s;
};

static char *op_name_cb(int op, char *buf, size_t n, const void *ctx)
{
	const struct plan_ctx *c = ctx;
	char name[200];
	graph_op_name(c->g, op, name, sizeof name);
	int sid = c->s->stream_of[op];
	if (sid >= 0)
		snprintf(buf, n, "[row-streamed %d: ops %d..%d] %s", sid, c->s->first[sid],
			 c->s->last[sid], name);
	else
		snprintf(buf, n, "%s", name);
	return buf;
}

static char *tensor_name_cb(int t, char *buf, size_t n, const void *ctx)
{
	const struct plan_ctx *c = ctx;
	const struct g_tensor *x = &c->g->tensors[t];
	if (x->scratch)
		snprintf(buf, n, "scratch %dx%d", x->h, x->w);
	else if (c->s->ring[t] < x->h)
		snprintf(buf, n, "ring %d rows of %dx%dx%d", c->s->ring[t], x->h, x->w, x->c);
	else
		snprintf(buf, n, "%dx%dx%d", x->h, x->w, x->c);
	return buf;
}

/* Prints the plan of rec's arch (already checked: cost.resolution/classes are set). */
static int print_plan(FILE *f, const cJSON *rec, int patch_layers)
{
	struct arch a;
	char err[512];
	const char *id = record_string(rec, "id");
	if (arch_parse(cJSON_GetObjectItemCaseSensitive(rec, "arch"), &a, err, sizeof err)) {
		fprintf(f, "# arch invalid: %s\n\n", err);
		return -1;
	}
	/* check_record wrote the resolution and classes it used (record keys or options). */
	const cJSON *res = record_get(rec, "cost.resolution");
	const cJSON *rh = cJSON_GetArrayItem(res, 0), *rw = cJSON_GetArrayItem(res, 1);
	if (!cJSON_IsNumber(rh) || !cJSON_IsNumber(rw)) {
		fprintf(f, "# arch %s: %s\n\n", id ? id : "?", record_string(rec, "cost.error"));
		return -1;
	}
	int h = (int)rh->valuedouble, w = (int)rw->valuedouble;
	int classes = (int)record_number(rec, "cost.classes", 100);
	struct arch_net *net = xmalloc(sizeof *net);
	int rc = -1;
	if (arch_expand(&a, h, w, classes, net, err, sizeof err)) {
		fprintf(f, "# arch %s: %s\n\n", id ? id : "?", err);
	} else {
		struct graph g;
		struct streams s;
		struct stream_exec *x = xmalloc(sizeof *x);
		cost_pick_exec(net, patch_layers, x);
		cost_exec_graph(net, x, &g, &s);
		int streamed = x->layers;
		free(x);
		struct plan_tensor *t = xcalloc(g.ntensors, sizeof *t);
		int64_t arena = cost_plan_graph(&g, t, err, sizeof err);
		fprintf(f, "# arch %s at %dx%d, %d classes: int8 arena with in-place ops", id ? id : "?",
			h, w, classes);
		if (streamed)
			fprintf(f, ", the first %d layers row-streamed (%d streams, %d row steps, "
				"no MAC repeated)", streamed, s.nstreams, s.nsteps);
		fputs("\n", f);
		if (arena < 0) {
			fprintf(f, "# planner self-check failed: %s\n", err);
		} else {
			struct plan_ctx ctx = {&g, &s};
			plan_print(f, t, g.ntensors, g.nops, arena, op_name_cb, tensor_name_cb, &ctx);
			rc = 0;
		}
		fprintf(f, "# layer by layer (no reuse): %.0f bytes at %s\n\n",
			record_number(rec, "cost.peak_sram_bytes", -1),
			record_string(rec, "cost.peak_op") ? record_string(rec, "cost.peak_op") : "?");
		free(t);
		stream_free(&s);
		graph_free(&g);
	}
	free(net);
	return rc;
}

/* The in-place graph of a checked record (as print_plan), or -1. */
static int record_graph(const cJSON *rec, struct graph *g)
{
	struct arch a;
	char err[512];
	const cJSON *res = record_get(rec, "cost.resolution");
	const cJSON *rh = cJSON_GetArrayItem(res, 0), *rw = cJSON_GetArrayItem(res, 1);
	if (arch_parse(cJSON_GetObjectItemCaseSensitive(rec, "arch"), &a, err, sizeof err) ||
	    !cJSON_IsNumber(rh) || !cJSON_IsNumber(rw))
		return -1;
	struct arch_net *net = xmalloc(sizeof *net);
	int rc = arch_expand(&a, (int)rh->valuedouble, (int)rw->valuedouble,
			     (int)record_number(rec, "cost.classes", 100), net, err, sizeof err);
	if (!rc)
		graph_build(net, true, g);
	free(net);
	return rc ? -1 : 0;
}

/* One JSON line per op: its predicted instructions and the features they come from. */
static int print_latency(FILE *f, const cJSON *rec)
{
	struct graph g;
	const char *id = record_string(rec, "id");
	if (record_graph(rec, &g)) {
		log_error("record %s: no arch to predict", id ? id : "?");
		return -1;
	}
	for (int i = 0; i < g.nops; i++) {
		double feat[LATENCY_NFEAT];
		enum latency_kind k = latency_features(&g, i, feat);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", id ? id : "");
		cJSON_AddNumberToObject(o, "op", i);
		cJSON_AddStringToObject(o, "name", g.ops[i].name);
		cJSON_AddStringToObject(o, "kind", latency_kind_name(k));
		cJSON_AddItemToObject(o, "features", cJSON_CreateDoubleArray(feat, LATENCY_NFEAT));
		cJSON_AddNumberToObject(o, "m7_instructions", round(latency_op_instructions(&g, i)));
		record_write(f, o);
		cJSON_Delete(o);
	}
	graph_free(&g);
	return 0;
}

struct run {
	const struct check_opts *opts;
	int drop, plan, train_time, latency;
	int bad_input;
};

#define AT(field) offsetof(struct run, field)
static const struct opt run_options[] = {
	{"drop", NULL, OPT_FLAG, AT(drop), 0, 0, "write only accepted records"},
	{"plan", NULL, OPT_FLAG, AT(plan), 0, 0,
	 "print the int8 memory plan of each arch, per op, instead of\n"
	 "the records (with --exec patched: the row-streamed ops and\n"
	 "their ring buffers)"},
	{"latency", NULL, OPT_FLAG, AT(latency), 0, 0,
	 "print the predicted Cortex-M7 instructions of each op of each\n"
	 "arch, one JSON line per op ({id, op, name, kind, features,\n"
	 "m7_instructions}), instead of the records"},
	{"train-time", NULL, OPT_FLAG, AT(train_time), 0, 0,
	 "add cost.train_us_per_image, the estimated training time per\n"
	 "image (batch 128, one thread; from the op graph, no timing)\n"
	 "and cost.train_features (what it is computed from)"},
	{"help", NULL, OPT_HELP, 0, 0, 0, "this text", 0, NULL, 'h'},
	{0},
};
#undef AT

/* Adds cost.train_us_per_image and cost.train_features to a record that was costed. */
static void add_train_time(cJSON *rec)
{
	struct train_time_features f;
	double us;
	char err[256];
	cJSON *cost = cJSON_GetObjectItemCaseSensitive(rec, "cost");
	if (!cost || record_get(rec, "cost.error") || !record_get(rec, "cost.macs"))
		return;
	if (train_time_record(rec, 0, 0, 0, &f, &us, err, sizeof err)) {
		log_error("record %s: no training-time estimate: %s", record_string(rec, "id"), err);
		return;
	}
	cJSON_AddNumberToObject(cost, "train_us_per_image", us);
	cJSON *fj = cJSON_AddObjectToObject(cost, "train_features");
	cJSON_AddNumberToObject(fj, "pw_mmacs", f.pw_mmacs);
	cJSON_AddNumberToObject(fj, "dw_mmacs", f.dw_mmacs);
	cJSON_AddNumberToObject(fj, "act_k", f.act_k);
}

static void handle(struct run *r, cJSON *rec)
{
	int ok = check_record(rec, r->opts);
	if (r->train_time)
		add_train_time(rec);
	if (r->plan) {
		print_plan(stdout, rec, r->opts->patch_layers);
		fflush(stdout);
	} else if (r->latency) {
		print_latency(stdout, rec);
	} else if ((ok || !r->drop) && record_write(stdout, rec)) {
		die("writing stdout failed");
	}
}

int main(int argc, char **argv)
{
	util_init(argv[0]);
	struct check_opts opts;
	check_opts_init(&opts);
	struct run run = {&opts, 0, 0, 0, 0, 0};
	struct opt_program prog = {about, footer, -1, {{check_opt_table, &opts, NULL},
							{run_options, &run, NULL}}};
	int nfiles = options_parse(&prog, argc, argv);
	char **files = argv + 1;
	if (nfiles == 0) {
		struct record_reader rr;
		record_reader_init(&rr, stdin, "stdin");
		cJSON *rec;
		int rc;
		while ((rc = record_next(&rr, &rec)) != 0) {
			if (rc < 0) {
				run.bad_input = 1;
				continue;
			}
			handle(&run, rec);
			cJSON_Delete(rec);
		}
		record_reader_free(&rr);
	}
	for (int i = 0; i < nfiles; i++) {
		cJSON *rec = record_load_document(files[i]);
		if (!rec) {
			run.bad_input = 1;
			continue;
		}
		handle(&run, rec);
		cJSON_Delete(rec);
	}
	check_opts_free(&opts);
	return run.bad_input ? EXIT_RECORDS : EXIT_OK;
}
