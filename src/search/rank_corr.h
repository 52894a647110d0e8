/* rank_corr.h — rank correlations of paired samples: Kendall's tau-b and Spearman's rho, ties
 * included (tau-b's tie correction; rho as Pearson's r of average ranks). */
#ifndef LMNAS_RANK_CORR_H
#define LMNAS_RANK_CORR_H

struct rank_corr {
	int n;
	long concordant, discordant; /* pairs; a pair tied in x or in y is neither */
	double tau_b;                /* NAN when n < 2 or x or y is constant */
	double rho;                  /* NAN likewise */
};

/* Average ranks (1-based) of v[0..n-1] into rank[]: tied values share the mean of their ranks. */
void rank_average(const double *v, int n, double *rank);
/* Both coefficients of the pairs (x[i], y[i]), i < n. */
void rank_corr(const double *x, const double *y, int n, struct rank_corr *out);
#endif
