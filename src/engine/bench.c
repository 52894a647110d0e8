/* bench.c — the training-step benchmark. See bench.h. */
#include "engine/bench.h"
#include "engine/gemm_amx.h"
#include "engine/nn_conv.h"
#include "engine/blas_core.h"
#include "engine/net.h"
#include "core/prng.h"
#include "engine/sgd.h"
#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size, res;
	if (!f)
		return -1;
	int n = fscanf(f, "%ld %ld", &size, &res);
	fclose(f);
	return n == 2 ? res * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

/* One training step; returns the loss. */
static double train_step(struct net *n, struct sgd *opt, const float *x, const int *y, int B)
{
	net_forward(n, x, B, 1);
	double loss = net_loss(n, y, B);
	net_backward(n, B);
	sgd_step(opt, n->params, n->grads, 0.01f);
	return loss;
}

/* stage[name] = a rate, or null where it is negative (no such instruction on this CPU) */
static void add_rate(cJSON *stage, const char *name, double gflops)
{
	if (gflops < 0)
		cJSON_AddNullToObject(stage, name);
	else
		cJSON_AddNumberToObject(stage, name, gflops);
}

int bench_run(const struct arch *a, const struct bench_opts *o, cJSON *stage, char *err,
	      size_t errlen)
{
	net_set_threads(o->threads);
	struct net *n = net_new(a, o->res_h, o->res_w, o->classes, o->batch, 0.0f, err, errlen);
	if (!n)
		return -1;
	net_init_weights(n, o->seed);
	size_t count = (size_t)o->batch * a->input_channels * o->res_h * o->res_w;
	float *x = xmalloc(sizeof(float) * count);
	int *y = xmalloc(sizeof(int) * o->batch);
	uint64_t rng = o->seed | 1;
	for (size_t i = 0; i < count; i++)
		x[i] = (float)prng_xorshift_gauss(&rng);
	for (int i = 0; i < o->batch; i++)
		y[i] = (int)(prng_xorshift_unit(&rng) * o->classes);
	struct sgd *opt = sgd_new(n->nparams, 0.9f, 5e-4f, 1);
	int rc = -1;
	for (int s = 0; s < o->warmup; s++)
		if (!isfinite(train_step(n, opt, x, y, o->batch))) {
			snprintf(err, errlen, "warm-up step %d: the loss is not finite", s);
			goto out;
		}
	long rss_warm = rss_kib();
	double t0 = now_seconds();
	for (int s = 0; s < o->steps; s++)
		if (!isfinite(train_step(n, opt, x, y, o->batch))) {
			snprintf(err, errlen, "step %d: the loss is not finite", s);
			goto out;
		}
	double secs = now_seconds() - t0;
	long rss_end = rss_kib();
	char res[32];
	snprintf(res, sizeof res, "%dx%d", o->res_h, o->res_w);
	double ips = o->steps * (double)o->batch / secs;
	cJSON_AddNumberToObject(stage, "images_per_s", ips);
	/* a training step is ~3 forward passes of arithmetic: forward, input and weight gradients */
	double macs = bench_forward_macs(a, o);
	if (macs > 0) {
		double gflops = 6.0 * macs * ips / 1e9;
		cJSON_AddNumberToObject(stage, "train_gflops", gflops);
		if (o->peak) {
			double peak = bench_sgemm_gflops(); /* on bench_run's threads */
			cJSON_AddNumberToObject(stage, "sgemm_peak_gflops", peak);
			cJSON_AddNumberToObject(stage, "fraction_of_peak", gflops / peak);
			add_rate(stage, "fma_gflops_core", bench_fma_gflops_core());
			add_rate(stage, "bf16_dot_gflops_core", bench_bf16_dot_gflops_core());
			add_rate(stage, "amx_bf16_gflops_core", gemm_amx_gflops_core());
		}
	}
	cJSON_AddStringToObject(stage, "blas_core", blas_core_name());
	cJSON_AddStringToObject(stage, "precision", gemm_precision_name(gemm_get_precision()));
	cJSON_AddNumberToObject(stage, "step_ms", 1000 * secs / o->steps);
	cJSON_AddNumberToObject(stage, "steps", o->steps);
	cJSON_AddNumberToObject(stage, "warmup", o->warmup);
	cJSON_AddNumberToObject(stage, "batch", o->batch);
	cJSON_AddStringToObject(stage, "resolution", res);
	cJSON_AddNumberToObject(stage, "classes", o->classes);
	cJSON_AddNumberToObject(stage, "threads", o->threads);
	cJSON_AddNumberToObject(stage, "seconds", secs);
	cJSON_AddNumberToObject(stage, "params", (double)n->nparams);
	cJSON_AddNumberToObject(stage, "activation_bytes", (double)net_activation_bytes(n));
	cJSON_AddNumberToObject(stage, "rss_kib_after_warmup", (double)rss_warm);
	cJSON_AddNumberToObject(stage, "rss_kib_end", (double)rss_end);
	rc = 0;
out:
	sgd_free(opt);
	free(x);
	free(y);
	net_free(n);
	return rc;
}
