/* nn_act.c — activations forward and backward. See nn_act.h. */
#include "nn_act.h"

#include <math.h>

float sigmoidf(float x)
{
	return 1.0f / (1.0f + expf(-x));
}

void act_forward(enum act a, float *restrict y, const float *restrict x, size_t n)
{
	switch (a) {
	case ACT_RELU6:
		#pragma omp parallel for simd schedule(static)
		for (size_t i = 0; i < n; i++)
			y[i] = x[i] < 0 ? 0 : x[i] > 6 ? 6 : x[i];
		break;
	case ACT_LEAKYRELU:
		#pragma omp parallel for simd schedule(static)
		for (size_t i = 0; i < n; i++)
			y[i] = x[i] > 0 ? x[i] : LEAKY_SLOPE * x[i];
		break;
	case ACT_SWISH:
		#pragma omp parallel for schedule(static)
		for (size_t i = 0; i < n; i++)
			y[i] = x[i] / (1.0f + expf(-x[i]));
		break;
	}
}

/* d = act'(x)·dy for one element. */
static inline float act_grad(enum act a, float x, float g)
{
	switch (a) {
	case ACT_RELU6:
		return x > 0 && x < 6 ? g : 0;
	case ACT_LEAKYRELU:
		return x > 0 ? g : LEAKY_SLOPE * g;
	default: {
		float s = 1.0f / (1.0f + expf(-x));
		return g * s * (1.0f + x * (1.0f - s));
	}
	}
}

/* One loop per activation and mode so that each vectorises (no switch inside). */
#define ACT_LOOP(expr)                                                     \
	do {                                                               \
		if (accum) {                                               \
			_Pragma("omp parallel for simd schedule(static)")  \
			for (size_t i = 0; i < n; i++)                     \
				dx[i] += (expr);                           \
		} else {                                                   \
			_Pragma("omp parallel for simd schedule(static)")  \
			for (size_t i = 0; i < n; i++)                     \
				dx[i] = (expr);                            \
		}                                                          \
	} while (0)

void act_backward(enum act a, float *restrict dx, const float *restrict dy,
		  const float *restrict x, size_t n, int accum)
{
	switch (a) {
	case ACT_RELU6:
		ACT_LOOP(x[i] > 0 && x[i] < 6 ? dy[i] : 0.0f);
		break;
	case ACT_LEAKYRELU:
		ACT_LOOP(x[i] > 0 ? dy[i] : LEAKY_SLOPE * dy[i]);
		break;
	case ACT_SWISH:
		ACT_LOOP(act_grad(ACT_SWISH, x[i], dy[i]));
		break;
	}
}
