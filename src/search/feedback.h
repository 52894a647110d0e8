/* feedback.h — turns the search history into one JSON object for the generator (feedback(1)):
 * the Pareto front with metrics and archs, averages and trends per iteration, targeted
 * suggestions (the paper's feedback), the recent rejections with their check messages, the recent
 * population (for aging evolution) and every id already tried. */
#ifndef LMNAS_FEEDBACK_H
#define LMNAS_FEEDBACK_H
#include <cJSON.h>

struct feedback_opts {
	int max_front;       /* front members listed (best accuracy first), default 8 */
	int max_rejections;  /* most recent rejections listed, default 8 */
	int population;      /* most recent feasible evaluations listed for evolution, default 16 */
	double macs_max, flash_max, sram_max; /* budgets for headroom suggestions, 0 = unknown */
};

void feedback_opts_init(struct feedback_opts *o);

/* Builds the feedback from every record so far (candidates, rejected and evaluated ones, in the
 * order they happened). The records get a "pareto" key as a side effect. */
cJSON *feedback_build(cJSON **recs, int n, const struct feedback_opts *o);
#endif
