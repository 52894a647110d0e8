/* test_rank_corr.c — Kendall's tau-b and Spearman's rho against values computed by hand. */
#include "search/rank_corr.h"
#include "t.h"

#include <math.h>

static void test_ranks(void)
{
	double v[] = {10, 20, 20, 5}, r[4];
	rank_average(v, 4, r);
	T_CHECK(r[0] == 2 && r[1] == 3.5 && r[2] == 3.5 && r[3] == 1,
		"average ranks of 10 20 20 5 are 2 3.5 3.5 1");
}

static void test_no_ties(void)
{
	struct rank_corr c;
	double x[] = {1, 2, 3, 4, 5}, y[] = {3, 1, 2, 5, 4};
	rank_corr(x, y, 5, &c);
	/* pairs: 7 concordant, 3 discordant -> tau 4/10; d^2 = 4+1+1+1+1 = 8 -> rho 1 - 48/120 */
	T_CHECK(c.concordant == 7 && c.discordant == 3, "7 concordant and 3 discordant pairs");
	T_NEAR(c.tau_b, 0.4, 1e-12, "tau of 1..5 vs 3 1 2 5 4 is 0.4");
	T_NEAR(c.rho, 0.6, 1e-12, "rho of 1..5 vs 3 1 2 5 4 is 0.6");
	double up[] = {10, 20, 30, 40, 50}, down[] = {5, 4, 3, 2, 1};
	rank_corr(x, up, 5, &c);
	T_CHECK(c.tau_b == 1 && fabs(c.rho - 1) < 1e-12, "the same order gives tau = rho = 1");
	rank_corr(x, down, 5, &c);
	T_CHECK(c.tau_b == -1 && fabs(c.rho + 1) < 1e-12, "the reverse order gives tau = rho = -1");
}

static void test_ties(void)
{
	struct rank_corr c;
	/* pairs (i,j): 12 C, 13 C, 14 C, 23 tied in x, 24 tied in y, 34 C: C = 4, D = 0;
	 * n0 = 6, 1 pair tied in x, 1 in y -> tau-b = 4 / sqrt(5 * 5) = 0.8.
	 * ranks x 1 2.5 2.5 4, y 1 3.5 2 3.5: r = 3.75 / sqrt(4.5 * 4.5) = 5/6. */
	double x[] = {1, 2, 2, 3}, y[] = {1, 3, 2, 3};
	rank_corr(x, y, 4, &c);
	T_CHECK(c.concordant == 4 && c.discordant == 0, "tied pairs are neither concordant nor discordant");
	T_NEAR(c.tau_b, 0.8, 1e-12, "tau-b with one tie in x and one in y is 0.8");
	T_NEAR(c.rho, 5.0 / 6, 1e-12, "rho with ties (average ranks) is 5/6");
}

static void test_undefined(void)
{
	struct rank_corr c;
	double x[] = {1, 1, 1}, y[] = {1, 2, 3};
	rank_corr(x, y, 3, &c);
	T_CHECK(isnan(c.tau_b) && isnan(c.rho), "a constant x leaves both undefined (NAN)");
	rank_corr(y, x, 1, &c);
	T_CHECK(c.n == 1 && isnan(c.tau_b) && isnan(c.rho), "one pair leaves both undefined");
}

int main(void)
{
	test_ranks();
	test_no_ties();
	test_ties();
	test_undefined();
	return t_done();
}
