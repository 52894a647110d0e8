/* sgd.c — PyTorch's SGD. See sgd.h. */
/* Full vectorisation (-O2 vectorises only the cheapest loops); the Makefile stays at -O2. */
#pragma GCC optimize("O3")
#include "engine/sgd.h"
#include "core/util.h"

#include <stdlib.h>

struct sgd *sgd_new(size_t n, float momentum, float weight_decay, int nesterov)
{
	struct sgd *s = xcalloc(1, sizeof *s);
	s->momentum = momentum;
	s->weight_decay = weight_decay;
	s->nesterov = nesterov;
	s->n = n;
	s->buf = xcalloc(n ? n : 1, sizeof(float));
	return s;
}

void sgd_free(struct sgd *s)
{
	if (s) {
		free(s->buf);
		free(s);
	}
}

void sgd_step(struct sgd *s, float *restrict p, const float *restrict grads, float lr)
{
	const float mu = s->momentum, wd = s->weight_decay;
	float *restrict buf = s->buf;
	const int first = s->steps == 0;
	#pragma omp parallel for simd schedule(static)
	for (size_t i = 0; i < s->n; i++) {
		float g = grads[i] + wd * p[i];
		if (mu != 0) {
			buf[i] = first ? g : mu * buf[i] + g;
			g = s->nesterov ? g + mu * buf[i] : buf[i];
		}
		p[i] -= lr * g;
	}
	s->steps++;
}
