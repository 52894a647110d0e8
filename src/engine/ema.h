/* ema.h — an exponential moving average of a network's weights and BN running statistics
 * (full-train, kd and mini-train --ema DECAY). After every SGD step:
 *
 *     rate = min(DECAY, (1 + t) / (10 + t))      t: the updates before this one
 *     avg  = rate·avg + (1 - rate)·now           for every parameter and running statistic
 *
 * The rate's ramp (TensorFlow's ExponentialMovingAverage with num_updates) keeps the random
 * initial weights from lingering: early on the average spans the last ~10% of the steps, later
 * the last ~1/(1 - DECAY). The average is what a run ships (its checkpoints, its accuracies); the
 * weights SGD moves are kept in the resume state beside it.
 *
 * Usage:
 *     struct ema *e = ema_new(n, 0.999);   // the average starts at n's weights
 *     ... sgd_step(...); ema_update(e, n); ...
 *     ema_swap(e, n);                       // n holds the average, e the weights SGD moved
 *     ...evaluate or save n...
 *     ema_swap(e, n);                       // and back */
#ifndef LMNAS_EMA_H
#define LMNAS_EMA_H
#include "engine/net.h"

struct ema {
	double decay;   /* DECAY in (0, 1) */
	long updates;   /* t: updates so far */
	size_t nparams, nbufs;
	float *avg;     /* [nparams + nbufs]: the parameters' averages (net.params' layout), then the
			   running statistics' (net.bufs' layout) */
};

struct ema *ema_new(const struct net *n, double decay);
void ema_free(struct ema *e);
/* The rate the next update uses: min(decay, (1 + updates) / (10 + updates)). */
double ema_rate(const struct ema *e);
void ema_update(struct ema *e, const struct net *n);
/* Exchanges the average with n's parameters and running statistics (its own inverse). */
void ema_swap(struct ema *e, struct net *n);
#endif
