/* test_ema.c — the weights' moving average (ema.h): the rate's ramp, the average against the
 * same recurrence in double, parameters and running statistics alike, and the swap. */
#include "t.h"
#include "engine/ema.h"
#include "small_net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_rate(void)
{
	struct net *n = small_net(1);
	struct ema *e = ema_new(n, 0.999);
	T_NEAR(ema_rate(e), 0.1, 1e-12, "the first update keeps a tenth of the start");
	e->updates = 90;
	T_NEAR(ema_rate(e), 91.0 / 100.0, 1e-12, "after 90 updates the ramp's 91/100");
	e->updates = 1000000;
	T_NEAR(ema_rate(e), 0.999, 1e-12, "late, the decay itself");
	ema_free(e);
	net_free(n);
}

/* Five updates with changing weights: the average against the recurrence in double, for a
 * parameter and a running statistic. */
static void test_average(void)
{
	struct net *n = small_net(2);
	struct ema *e = ema_new(n, 0.5);
	size_t p = n->nparams / 2, b = n->nbufs - 1;
	double want_p = n->params[p], want_b = n->bufs[b];
	for (int t = 0; t < 5; t++) {
		n->params[p] = (float)(t + 1);
		n->bufs[b] = (float)(10 * (t + 1));
		double rate = fmin(0.5, (1.0 + t) / (10.0 + t));
		T_NEAR(ema_rate(e), rate, 1e-12, "the rate at each update");
		want_p = rate * want_p + (1 - rate) * n->params[p];
		want_b = rate * want_b + (1 - rate) * n->bufs[b];
		ema_update(e, n);
	}
	T_NEAR(e->avg[p], want_p, 1e-6, "a parameter's average");
	T_NEAR(e->avg[n->nparams + b], want_b, 1e-6, "a running statistic's average");
	T_CHECK(e->updates == 5, "five updates counted");
	ema_free(e);
	net_free(n);
}

static void test_swap(void)
{
	struct net *n = small_net(3);
	struct ema *e = ema_new(n, 0.9);
	float *params = xmalloc(n->nparams * sizeof *params);
	memcpy(params, n->params, n->nparams * sizeof *params);
	for (size_t i = 0; i < n->nparams; i++)
		n->params[i] += 1.0f;
	ema_update(e, n);
	float avg0 = e->avg[0];
	ema_swap(e, n);
	T_CHECK(n->params[0] == avg0 && e->avg[0] == params[0] + 1.0f,
		"swap: the net holds the average, the average the SGD weights");
	ema_swap(e, n);
	T_CHECK(n->params[0] == params[0] + 1.0f && e->avg[0] == avg0, "swapping twice restores both");
	free(params);
	ema_free(e);
	net_free(n);
}

int main(void)
{
	test_rate();
	test_average();
	test_swap();
	return t_done();
}
