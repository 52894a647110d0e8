/* train_time.c — the training-time estimate. See train_time.h. */
#include "cost/train_time.h"
#include "cost/graph.h"
#include "core/record.h"
#include "core/util.h"

#include <stdlib.h>

/* Fitted by pipelines/fit-train-time.sh to the measurements in data/train-time.jsonl (microseconds
 * per image; batch 128, one thread; mini-train --benchmark 20 --warmup 2 on an idle AMD EPYC Zen 3,
 * after the stop-25 kernels: the earlier constants overestimated today's engine by 10-90 %). */
static const double C0 = 5.146, C_PW = 112.3, C_DW = 207.2, C_ACT = 2.618;

void train_time_features(const struct arch_net *net, struct train_time_features *f)
{
	struct graph g;
	graph_build(net, false, &g);
	f->pw_mmacs = f->dw_mmacs = f->act_k = 0;
	for (int i = 0; i < g.nops; i++) {
		const struct g_op *op = &g.ops[i];
		const struct g_tensor *t = &g.tensors[op->out];
		if (op->kind == OP_DW)
			f->dw_mmacs += op->macs / 1e6;
		else
			f->pw_mmacs += op->macs / 1e6;
		f->act_k += (double)t->h * t->w * t->c / 1e3;
	}
	graph_free(&g);
}

double train_time_us_per_image(const struct train_time_features *f)
{
	double us = C0 + C_PW * f->pw_mmacs + C_DW * f->dw_mmacs + C_ACT * f->act_k;
	return us > 1 ? us : 1;
}

int train_time_record(const cJSON *rec, int res_h, int res_w, int classes,
		      struct train_time_features *f, double *us, char *err, size_t errlen)
{
	struct arch a;
	const cJSON *res = record_get(rec, "cost.resolution");
	if (cJSON_GetArraySize(res) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(res, 0)) &&
	    cJSON_IsNumber(cJSON_GetArrayItem(res, 1))) {
		res_h = (int)cJSON_GetArrayItem(res, 0)->valuedouble;
		res_w = (int)cJSON_GetArrayItem(res, 1)->valuedouble;
	}
	classes = (int)record_number(rec, "cost.classes", classes);
	if (arch_parse(record_get(rec, "arch"), &a, err, errlen))
		return -1;
	struct arch_net *net = xmalloc(sizeof *net);
	int rc = arch_expand(&a, res_h, res_w, classes, net, err, errlen);
	if (rc == 0) {
		train_time_features(net, f);
		*us = train_time_us_per_image(f);
	}
	free(net);
	return rc;
}
