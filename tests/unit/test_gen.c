/* test_gen.c — the offline strategies: uniform samples and mutations stay in the search space,
 * a mutation changes one block field, the generator is reproducible. */
#include "search/gen.h"
#include "t.h"

#include <stdlib.h>
#include <string.h>

/* Number of (block, field) pairs that differ between two archs of the same depth. */
static int diff_fields(const struct arch *a, const struct arch *b)
{
	int n = 0;
	for (int i = 0; i < a->nblocks; i++) {
		const struct block *x = &a->blocks[i], *y = &b->blocks[i];
		n += x->out_ch != y->out_ch;
		n += x->num_layers != y->num_layers;
		n += x->kernel != y->kernel;
		n += x->stride != y->stride;
		n += x->expansion != y->expansion && x->conv == y->conv;
		n += x->use_se != y->use_se || (x->use_se && y->use_se && x->se_ratio != y->se_ratio);
		n += x->conv != y->conv;
		n += x->skip != y->skip;
		n += x->act != y->act;
	}
	return n;
}

/* The expansion factors drawn for block 0 (mbconv) of 500 samples and their mutations. */
static void first_expansions(const struct space *sp, int input_channels, struct prng *r,
			     int seen[ARCH_MAX_EXPANSION + 1], int *outside)
{
	struct space_violation v[4];
	for (int i = 0; i < 500; i++) {
		struct arch a, c;
		strategy_random_arch(sp, input_channels, r, &a);
		strategy_mutate(sp, r, &a, &c);
		*outside += space_check(sp, &a, v, 4) != 0;
		*outside += space_check(sp, &c, v, 4) != 0;
		if (a.blocks[0].conv == CONV_MBCONV)
			seen[a.blocks[0].expansion]++;
		if (c.blocks[0].conv == CONV_MBCONV)
			seen[c.blocks[0].expansion]++;
	}
}

/* A space whose first block, on a one-channel image, expands 16 or 24 times. */
static void test_first_block(const struct space *table1, struct prng *r)
{
	struct space sp = *table1;
	sp.first_channels = 1;
	sp.first = sp.block;
	sp.first.n_expansion = 2;
	sp.first.expansion[0] = 16;
	sp.first.expansion[1] = 24;
	int grey[ARCH_MAX_EXPANSION + 1] = { 0 }, rgb[ARCH_MAX_EXPANSION + 1] = { 0 }, outside = 0;
	first_expansions(&sp, 1, r, grey, &outside);
	first_expansions(&sp, 3, r, rgb, &outside);
	T_CHECK(outside == 0, "first_block: samples and mutations stay inside (%d outside)", outside);
	T_CHECK(grey[16] > 50 && grey[24] > 50 && grey[3] + grey[4] + grey[6] == 0,
		"a one-channel image's first block expands 16 or 24 times (%d, %d)", grey[16], grey[24]);
	T_CHECK(rgb[3] > 50 && rgb[4] > 50 && rgb[6] > 50 && rgb[16] + rgb[24] == 0,
		"a three-channel image's first block keeps Table I");
	cJSON *s1 = strategy_llm_schema(&sp, 1), *s3 = strategy_llm_schema(&sp, 3);
	char *t1 = cJSON_PrintUnformatted(s1), *t3 = cJSON_PrintUnformatted(s3);
	T_CHECK(strstr(t1, "\"prefixItems\"") && strstr(t1, "\"enum\":[16,24]") &&
		strstr(t1, "\"enum\":[3,4,6]") && !strstr(t3, "prefixItems") &&
		!strstr(t3, "[16,24]"),
		"the LLM's schema gives the first block its own values (prefixItems) for a grey image only");
	free(t1);
	free(t3);
	cJSON_Delete(s1);
	cJSON_Delete(s3);
}

int main(void)
{
	struct space sp;
	char err[256];
	if (!T_CHECK(space_load("data/search-space.json", &sp, err, sizeof err) == 0,
		     "load data/search-space.json (%s)", err))
		return t_done();

	struct prng r1, r2;
	prng_seed(&r1, 42);
	prng_seed(&r2, 42);
	int same = 1;
	for (int i = 0; i < 100; i++)
		same &= gen_below(&r1, 1000) == gen_below(&r2, 1000);
	T_CHECK(same, "the same seed gives the same stream");
	prng_seed(&r2, 43);
	T_CHECK(prng_u64(&r1) != prng_u64(&r2), "another seed, another stream");
	struct prng before = r1;
	T_CHECK(gen_below(&r1, 1) == 0 && gen_below(&r1, 0) == 0 &&
		memcmp(&before, &r1, sizeof r1) == 0, "gen_below(1) and gen_below(0) draw nothing");
	int in_range = 1, hit[7] = { 0 };
	for (int i = 0; i < 7000; i++) {
		int v = gen_below(&r1, 7);
		in_range &= v >= 0 && v < 7;
		if (v >= 0 && v < 7)
			hit[v]++;
	}
	int spread = 1;
	for (int k = 0; k < 7; k++)
		spread &= hit[k] > 800 && hit[k] < 1200;
	T_CHECK(in_range && spread, "gen_below(7) is in range and roughly uniform");

	struct space_violation v[4];
	int bad_random = 0, bad_mut = 0, not_one = 0, parse_fail = 0;
	int seen_kernel[8] = { 0 }, seen_act[3] = { 0 };
	for (int i = 0; i < 2000; i++) {
		struct arch a, c, back;
		strategy_random_arch(&sp, 1, &r1, &a);
		bad_random += space_check(&sp, &a, v, 4) != 0;
		seen_kernel[a.blocks[0].kernel]++;
		seen_act[a.blocks[0].act]++;
		strategy_mutate(&sp, &r1, &a, &c);
		bad_mut += space_check(&sp, &c, v, 4) != 0;
		not_one += diff_fields(&a, &c) != 1;
		cJSON *j = arch_to_json(&c);
		parse_fail += arch_parse(j, &back, err, sizeof err) != 0;
		cJSON_Delete(j);
	}
	T_CHECK(bad_random == 0, "2000 uniform samples are all inside the space (%d outside)", bad_random);
	T_CHECK(bad_mut == 0, "their mutations are all inside the space (%d outside)", bad_mut);
	T_CHECK(not_one == 0, "each mutation changes exactly one block field (%d did not)", not_one);
	T_CHECK(parse_fail == 0, "every arch round-trips through JSON");
	T_CHECK(seen_kernel[3] && seen_kernel[5] && seen_kernel[7] && seen_act[0] && seen_act[1] &&
			seen_act[2],
		"samples cover every kernel size and activation");
	test_first_block(&sp, &r1);
	return t_done();
}
