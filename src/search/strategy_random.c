/* strategy_random.c — uniform sampling of the search space, the baseline (gen-arch --strategy
 * random), and the one-field mutation used by evolution. */
#include "search/gen.h"
#include "core/record.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>

/* The index-th allowed entry of a bool table (conv, skip, act, se), or the first one. */
static int pick_allowed(struct prng *r, const bool *allowed, int n)
{
	int idx[8], m = 0;
	for (int i = 0; i < n; i++)
		if (allowed[i])
			idx[m++] = i;
	return m ? idx[gen_below(r, m)] : 0;
}

static int pick_int(struct prng *r, const int *vals, int n, int fallback)
{
	return n ? vals[gen_below(r, n)] : fallback;
}

static void random_block(const struct block_space *s, struct prng *r, struct block *b)
{
	b->out_ch = pick_int(r, s->out_ch, s->n_out_ch, 16);
	b->num_layers = pick_int(r, s->layers, s->n_layers, 1);
	b->kernel = pick_int(r, s->kernel, s->n_kernel, 3);
	b->stride = pick_int(r, s->stride, s->n_stride, 1);
	b->conv = (enum conv_type)pick_allowed(r, s->conv_allowed, 2);
	b->expansion = b->conv == CONV_MBCONV ? pick_int(r, s->expansion, s->n_expansion, 1) : 1;
	b->use_se = pick_allowed(r, s->se_allowed, 2) == 1;
	b->se_ratio = b->use_se && s->n_se_ratio ? s->se_ratio[gen_below(r, s->n_se_ratio)] : 0;
	if (b->use_se && b->se_ratio <= 0)
		b->use_se = false;
	b->skip = (enum skip_op)pick_allowed(r, s->skip_allowed, 2);
	b->act = (enum act)pick_allowed(r, s->act_allowed, 3);
}

void strategy_random_arch(const struct space *s, int input_channels, struct prng *r, struct arch *a)
{
	memset(a, 0, sizeof *a);
	a->input_channels = input_channels;
	a->nblocks = s->stages > 0 && s->stages <= ARCH_MAX_BLOCKS ? s->stages : 5;
	for (int i = 0; i < a->nblocks; i++)
		random_block(space_block(s, input_channels, i), r, &a->blocks[i]);
}

/* Another value of the set than cur (cur itself when the set has one value). */
static int other_int(struct prng *r, const int *vals, int n, int cur)
{
	int idx[16], m = 0;
	for (int i = 0; i < n; i++)
		if (vals[i] != cur)
			idx[m++] = i;
	return m ? vals[idx[gen_below(r, m)]] : cur;
}

static int other_allowed(struct prng *r, const bool *allowed, int n, int cur)
{
	int idx[8], m = 0;
	for (int i = 0; i < n; i++)
		if (allowed[i] && i != cur)
			idx[m++] = i;
	return m ? idx[gen_below(r, m)] : cur;
}

void strategy_mutate(const struct space *sp, struct prng *r, const struct arch *parent,
		     struct arch *child)
{
	*child = *parent;
	if (child->nblocks == 0)
		return;
	int i = gen_below(r, child->nblocks);
	struct block *b = &child->blocks[i];
	const struct block_space *s = space_block(sp, child->input_channels, i);
	switch (gen_below(r, 9)) {
	case 0: b->out_ch = other_int(r, s->out_ch, s->n_out_ch, b->out_ch); break;
	case 1: b->num_layers = other_int(r, s->layers, s->n_layers, b->num_layers); break;
	case 2: b->kernel = other_int(r, s->kernel, s->n_kernel, b->kernel); break;
	case 3: b->stride = other_int(r, s->stride, s->n_stride, b->stride); break;
	case 4:
		if (b->conv == CONV_MBCONV)
			b->expansion = other_int(r, s->expansion, s->n_expansion, b->expansion);
		else
			b->num_layers = other_int(r, s->layers, s->n_layers, b->num_layers);
		break;
	case 5:
		b->conv = (enum conv_type)other_allowed(r, s->conv_allowed, 2, b->conv);
		b->expansion = b->conv == CONV_MBCONV ? pick_int(r, s->expansion, s->n_expansion, 1) : 1;
		break;
	case 6: /* squeeze-excitation: toggle, or change the ratio */
		if (b->use_se && s->n_se_ratio > 1 && gen_below(r, 2)) {
			int ratios[SPACE_MAX_VALUES], cur = -1;
			for (int i = 0; i < s->n_se_ratio; i++) {
				ratios[i] = i;
				if (s->se_ratio[i] == b->se_ratio)
					cur = i;
			}
			b->se_ratio = s->se_ratio[other_int(r, ratios, s->n_se_ratio, cur)];
		} else if (s->se_allowed[!b->use_se]) {
			b->use_se = !b->use_se;
			b->se_ratio = b->use_se && s->n_se_ratio ? s->se_ratio[gen_below(r, s->n_se_ratio)]
								  : 0;
			if (b->se_ratio <= 0)
				b->use_se = false;
		}
		break;
	case 7: b->skip = (enum skip_op)other_allowed(r, s->skip_allowed, 2, b->skip); break;
	default: b->act = (enum act)other_allowed(r, s->act_allowed, 3, b->act); break;
	}
}

cJSON *strategy_random_next(struct gen_ctx *g)
{
	cJSON *last = NULL;
	for (int t = 1; t <= g->max_tries; t++) {
		struct arch a;
		strategy_random_arch(g->space, g->input_channels, &g->rng, &a);
		bool ok;
		cJSON_Delete(last);
		last = gen_try(g, arch_to_json(&a), &ok);
		if (ok) {
			gen_stamp(g, last, "random", t);
			gen_remember(g, record_string(last, "id"));
			return last;
		}
	}
	return gen_give_up(g, last, "random", "random samples");
}
