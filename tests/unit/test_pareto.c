/* test_pareto.c — dominance, non-dominated sorting, hypervolume, and pareto_mark. */
#include "search/pareto.h"
#include "t.h"

#include <stdlib.h>
#include <string.h>

static void two_min(struct pareto_set *s)
{
	char err[128];
	memset(s, 0, sizeof *s);
	pareto_add_objective(s, "x:min", err, sizeof err);
	pareto_add_objective(s, "y:min", err, sizeof err);
}

static void test_dominance(void)
{
	struct pareto_set s;
	two_min(&s);
	double a[] = { 1, 2 }, b[] = { 2, 2 }, c[] = { 2, 1 };
	T_CHECK(pareto_dominates(&s, a, b), "(1,2) dominates (2,2) when minimising");
	T_CHECK(!pareto_dominates(&s, b, a), "(2,2) does not dominate (1,2)");
	T_CHECK(!pareto_dominates(&s, a, c) && !pareto_dominates(&s, c, a),
		"(1,2) and (2,1) are incomparable");
	T_CHECK(!pareto_dominates(&s, a, a), "a point does not dominate itself");
	char err[128];
	s.obj[0].maximize = true;
	T_CHECK(pareto_dominates(&s, b, a), "maximising x flips the order");
	T_CHECK(pareto_add_objective(&s, "z:sideways", err, sizeof err) == -1 &&
			strstr(err, "max or min"),
		"a bad direction is refused with a reason");
	T_CHECK(pareto_set_ref(&s, "nope=3", err, sizeof err) == -1, "a ref for no objective is refused");
	T_CHECK(pareto_set_ref(&s, "y=3M", err, sizeof err) == 0 && s.obj[1].ref == 3e6,
		"a ref accepts 3M");
}

static void test_rank(void)
{
	struct pareto_set s;
	two_min(&s);
	/* front: (1,4) (2,2) (4,1); layer 1: (3,3) (2,5); layer 2: (4,4); duplicate (2,2) on front */
	double v[] = { 1, 4, 2, 2, 4, 1, 3, 3, 2, 5, 4, 4, 2, 2 };
	int want[] = { 0, 0, 0, 1, 1, 2, 0 };
	int rank[7];
	pareto_rank(&s, v, 7, rank);
	int same = 1;
	for (int i = 0; i < 7; i++)
		if (rank[i] != want[i])
			same = 0;
	T_CHECK(same, "non-dominated sorting gives the layers 0 0 0 1 1 2 0");
}

static void test_hypervolume(void)
{
	struct pareto_set s;
	two_min(&s);
	s.obj[0].ref = 4;
	s.obj[1].ref = 4;
	double v[] = { 3, 1, 2, 2, 1, 3 };
	/* gains (1,3) (2,2) (3,1): 3 + 2 + 1 = 6 */
	T_NEAR(pareto_hypervolume(&s, v, 3), 6.0, 1e-12, "2-D hypervolume of a staircase is 6");
	double w[] = { 5, 1 }; /* beyond the reference in x: adds nothing */
	T_NEAR(pareto_hypervolume(&s, w, 1), 0.0, 1e-12, "a point beyond the reference adds 0");

	char err[64];
	struct pareto_set t;
	memset(&t, 0, sizeof t);
	pareto_add_objective(&t, "acc:max", err, sizeof err);
	pareto_add_objective(&t, "macs:min", err, sizeof err);
	pareto_add_objective(&t, "params:min", err, sizeof err);
	t.obj[0].ref = 0;
	t.obj[1].ref = 220;
	t.obj[2].ref = 22;
	double p[] = { 0.8, 100, 10, 0.85, 150, 20 };
	/* boxes 0.8*120*12 = 1152 and 0.85*70*2 = 119, overlap 0.8*70*2 = 112 */
	T_NEAR(pareto_hypervolume(&t, p, 2), 1159.0, 1e-9, "3-D hypervolume by inclusion-exclusion");

	/* Random 3-D points against a Monte Carlo estimate on a grid. */
	srand(7);
	double q[3 * 12];
	for (int i = 0; i < 36; i++)
		q[i] = rand() / (double)RAND_MAX;
	struct pareto_set u;
	memset(&u, 0, sizeof u);
	pareto_add_objective(&u, "a:min", err, sizeof err);
	pareto_add_objective(&u, "b:min", err, sizeof err);
	pareto_add_objective(&u, "c:min", err, sizeof err);
	for (int k = 0; k < 3; k++)
		u.obj[k].ref = 1;
	int g = 60, inside = 0;
	for (int x = 0; x < g; x++)
		for (int y = 0; y < g; y++)
			for (int z = 0; z < g; z++) {
				double c[3] = { (x + 0.5) / g, (y + 0.5) / g, (z + 0.5) / g };
				for (int i = 0; i < 12; i++)
					if (q[3 * i] <= c[0] && q[3 * i + 1] <= c[1] && q[3 * i + 2] <= c[2]) {
						inside++;
						break;
					}
			}
	double grid = inside / (double)(g * g * g);
	double hv = pareto_hypervolume(&u, q, 12);
	T_CHECK(fabs(hv - grid) < 0.02, "3-D hypervolume %.4f matches a grid count %.4f", hv, grid);
}

static void test_mark(void)
{
	const char *lines[] = {
		"{\"id\":\"a\",\"mini\":{\"val_acc\":0.8},\"cost\":{\"macs\":100,\"params\":10}}",
		"{\"id\":\"b\",\"mini\":{\"val_acc\":0.7},\"cost\":{\"macs\":200,\"params\":10}}",
		"{\"id\":\"c\",\"mini\":{\"val_acc\":0.9},\"cost\":{\"macs\":300,\"params\":10},"
		"\"check\":{\"ok\":false}}",
		"{\"id\":\"d\",\"mini\":{\"error\":\"diverged\"},\"cost\":{\"macs\":1,\"params\":1}}",
		"{\"id\":\"e\",\"mini\":{\"val_acc\":0.85},\"cost\":{\"macs\":150,\"params\":20}}",
	};
	cJSON *recs[5];
	for (int i = 0; i < 5; i++)
		recs[i] = cJSON_Parse(lines[i]);
	struct pareto_set s;
	pareto_set_default(&s);
	double hv;
	int nf = pareto_mark(&s, recs, 5, "mini.val_acc", &hv);
	T_CHECK(nf == 2, "two records on the front (got %d)", nf);
	T_CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(recs[0], "pareto"), "front")) &&
			cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(recs[4], "pareto"), "front")),
		"a and e are on the front");
	cJSON *pc = cJSON_GetObjectItem(recs[2], "pareto");
	T_CHECK(cJSON_IsFalse(cJSON_GetObjectItem(pc, "front")) &&
			cJSON_IsTrue(cJSON_GetObjectItem(pc, "best_acc")),
		"the infeasible c is off the front but marked best accuracy");
	cJSON *pd = cJSON_GetObjectItem(recs[3], "pareto");
	T_CHECK(cJSON_GetObjectItem(pd, "rank")->valueint == -1, "a failed evaluation gets rank -1");
	T_NEAR(hv, 1159.0, 1e-9, "front hypervolume with default references");
	cJSON *sum = pareto_summary(&s, recs, 5, "mini.val_acc", hv);
	cJSON *acc = cJSON_GetObjectItem(cJSON_GetObjectItem(sum, "front"), "mini.val_acc");
	T_NEAR(cJSON_GetObjectItem(acc, "avg")->valuedouble, 0.825, 1e-12, "front average accuracy");
	T_CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(sum, "counts"), "failed")->valueint == 1,
		"summary counts one failed evaluation");
	cJSON_Delete(sum);
	for (int i = 0; i < 5; i++)
		cJSON_Delete(recs[i]);
}

int main(void)
{
	test_dominance();
	test_rank();
	test_hypervolume();
	test_mark();
	return t_done();
}
