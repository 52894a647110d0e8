/* prng.h — the seeded random numbers of lmnas: xoshiro256** seeded through splitmix64 (struct
 * prng: data order, augmentation, gen-arch), and the training engine's one-word xorshift64*
 * stream (weight init, dropout masks) at the end of this file.
 *
 * One struct prng per stream; no global state, so threads each own one (prng_fork makes an
 * independent stream from a parent, deterministically). Same seed, same sequence, on every
 * machine (integer arithmetic; the float helpers use exact conversions). */
#ifndef LMNAS_PRNG_H
#define LMNAS_PRNG_H
#include <stdint.h>

struct prng {
	uint64_t s[4];
};

/* Fills the state from seed with splitmix64 (any seed, 0 included, is fine). */
void prng_seed(struct prng *r, uint64_t seed);
/* A new independent stream seeded from the parent's next output (the parent advances). */
void prng_fork(struct prng *parent, struct prng *child);

uint64_t prng_u64(struct prng *r);
/* Uniform in [0, 1) with 53 (double) or 24 (float) random bits. */
double prng_unit(struct prng *r);
float prng_unitf(struct prng *r);
/* Uniform integer in [0, n), unbiased (rejection); n >= 1. */
uint64_t prng_below(struct prng *r, uint64_t n);
/* Standard normal N(0, 1) (Box–Muller, one value per call, no hidden cache). */
double prng_gauss(struct prng *r);
/* Gamma(shape, 1) for shape > 0 (Marsaglia–Tsang) and Beta(a, b) from two gammas. */
double prng_gamma(struct prng *r, double shape);
double prng_beta(struct prng *r, double a, double b);
/* Fisher–Yates shuffle of a[0..n). */
void prng_shuffle(struct prng *r, int *a, int n);

/* The engine's stream: xorshift64* on one 64-bit word s (never 0). It stays apart from struct
 * prng because checkpoints store it as one word ("dropout_rng") and a --seed must keep giving
 * the same weights and masks. Uniform in [0, 1) with 53 bits, and N(0, 1) by Box–Muller from
 * two uniforms (u1 clamped to 1e-300 so the log is finite). */
double prng_xorshift_unit(uint64_t *s);
double prng_xorshift_gauss(uint64_t *s);
#endif
