/* rank_corr.c — Kendall's tau-b and Spearman's rho. See rank_corr.h. */
#include "search/rank_corr.h"
#include "core/util.h"

#include <math.h>
#include <stdlib.h>

static const double *sort_keys;

static int by_key(const void *a, const void *b)
{
	double x = sort_keys[*(const int *)a], y = sort_keys[*(const int *)b];
	return (x > y) - (x < y);
}

void rank_average(const double *v, int n, double *rank)
{
	int *idx = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *idx);
	for (int i = 0; i < n; i++)
		idx[i] = i;
	sort_keys = v;
	qsort(idx, (size_t)n, sizeof *idx, by_key);
	for (int i = 0; i < n;) {
		int j = i;
		while (j + 1 < n && v[idx[j + 1]] == v[idx[i]])
			j++;
		double mean = (i + j) / 2.0 + 1; /* ranks i+1 .. j+1 */
		for (int k = i; k <= j; k++)
			rank[idx[k]] = mean;
		i = j + 1;
	}
	free(idx);
}

static int sign(double d)
{
	return (d > 0) - (d < 0);
}

/* Pearson's r of a and b (NAN when either is constant). */
static double pearson(const double *a, const double *b, int n)
{
	double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
	for (int i = 0; i < n; i++) {
		ma += a[i];
		mb += b[i];
	}
	ma /= n;
	mb /= n;
	for (int i = 0; i < n; i++) {
		sab += (a[i] - ma) * (b[i] - mb);
		saa += (a[i] - ma) * (a[i] - ma);
		sbb += (b[i] - mb) * (b[i] - mb);
	}
	return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : NAN;
}

void rank_corr(const double *x, const double *y, int n, struct rank_corr *out)
{
	out->n = n;
	out->concordant = out->discordant = 0;
	out->tau_b = out->rho = NAN;
	if (n < 2)
		return;
	/* tau-b = (C - D) / sqrt((n0 - tx)(n0 - ty)): n0 pairs, tx (ty) pairs tied in x (y). */
	long n0 = (long)n * (n - 1) / 2, tx = 0, ty = 0;
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++) {
			int s = sign(x[i] - x[j]) * sign(y[i] - y[j]);
			tx += x[i] == x[j];
			ty += y[i] == y[j];
			out->concordant += s > 0;
			out->discordant += s < 0;
		}
	if (n0 > tx && n0 > ty)
		out->tau_b = (double)(out->concordant - out->discordant) /
			     sqrt((double)(n0 - tx) * (double)(n0 - ty));
	double *rx = xmalloc((size_t)n * sizeof *rx), *ry = xmalloc((size_t)n * sizeof *ry);
	rank_average(x, n, rx);
	rank_average(y, n, ry);
	out->rho = pearson(rx, ry, n);
	free(rx);
	free(ry);
}
