/* prng.c — xoshiro256** (Blackman & Vigna) seeded with splitmix64, plus distributions; and the
 * engine's xorshift64* (Marsaglia, Vigna's multiplier). */
#include "core/prng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void prng_seed(struct prng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

void prng_fork(struct prng *parent, struct prng *child)
{
	prng_seed(child, prng_u64(parent));
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t prng_u64(struct prng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double prng_unit(struct prng *r)
{
	return (double)(prng_u64(r) >> 11) * 0x1.0p-53;
}

float prng_unitf(struct prng *r)
{
	return (float)(prng_u64(r) >> 40) * 0x1.0p-24f;
}

uint64_t prng_below(struct prng *r, uint64_t n)
{
	/* Reject the top partial range so every residue is equally likely. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;
	do
		x = prng_u64(r);
	while (x >= limit);
	return x % n;
}

/* u1 in (0, 1], u2 in [0, 1) -> N(0, 1). */
static double box_muller(double u1, double u2)
{
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double prng_gauss(struct prng *r)
{
	double u1 = 1.0 - prng_unit(r); /* (0, 1]: log is finite */
	double u2 = prng_unit(r);
	return box_muller(u1, u2);
}

double prng_gamma(struct prng *r, double shape)
{
	if (shape < 1.0) {
		/* Gamma(a) = Gamma(a + 1) · U^(1/a). */
		double u = 1.0 - prng_unit(r);
		return prng_gamma(r, shape + 1.0) * pow(u, 1.0 / shape);
	}
	double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
	for (;;) {
		double x, v;
		do {
			x = prng_gauss(r);
			v = 1.0 + c * x;
		} while (v <= 0.0);
		v = v * v * v;
		double u = 1.0 - prng_unit(r);
		if (u < 1.0 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1.0 - v + log(v)))
			return d * v;
	}
}

double prng_beta(struct prng *r, double a, double b)
{
	double x = prng_gamma(r, a), y = prng_gamma(r, b);
	return x + y > 0 ? x / (x + y) : 0.5;
}

void prng_shuffle(struct prng *r, int *a, int n)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)prng_below(r, (uint64_t)i + 1);
		int t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

double prng_xorshift_unit(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0);
}

double prng_xorshift_gauss(uint64_t *s)
{
	double u1 = prng_xorshift_unit(s), u2 = prng_xorshift_unit(s);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return box_muller(u1, u2);
}
