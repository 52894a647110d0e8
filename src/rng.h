/* rng.h — a small seeded random number generator: xoshiro256** seeded through splitmix64.
 *
 * One struct rng per stream; no global state, so threads each own one (rng_fork makes an
 * independent stream from a parent, deterministically). Same seed, same sequence, on every
 * machine (integer arithmetic; the float helpers use exact conversions). */
#ifndef LMNAS_RNG_H
#define LMNAS_RNG_H
#include <stdint.h>

struct rng {
	uint64_t s[4];
};

/* Fills the state from seed with splitmix64 (any seed, 0 included, is fine). */
void rng_seed(struct rng *r, uint64_t seed);
/* A new independent stream seeded from the parent's next output (the parent advances). */
void rng_fork(struct rng *parent, struct rng *child);

uint64_t rng_u64(struct rng *r);
/* Uniform in [0, 1) with 53 (double) or 24 (float) random bits. */
double rng_uniform(struct rng *r);
float rng_uniformf(struct rng *r);
/* Uniform integer in [0, n), unbiased (rejection); n >= 1. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* Standard normal N(0, 1) (Box–Muller, one value per call, no hidden cache). */
double rng_normal(struct rng *r);
/* Gamma(shape, 1) for shape > 0 (Marsaglia–Tsang) and Beta(a, b) from two gammas. */
double rng_gamma(struct rng *r, double shape);
double rng_beta(struct rng *r, double a, double b);
/* Fisher–Yates shuffle of a[0..n). */
void rng_shuffle(struct rng *r, int *a, int n);
#endif
