/* train_main.h — the record loop shared by mini-train, full-train and kd: read records, train
 * the ones the program selects, add its key, write every record, stop cleanly on a signal. */
#ifndef LMNAS_TRAIN_MAIN_H
#define LMNAS_TRAIN_MAIN_H
#include <cJSON.h>
#include "engine/train.h"

/* select: 1 = train this record, 0 = pass it through untouched. */
int train_main_loop(const struct train_opts *o, int (*select)(const cJSON *rec, void *ctx),
		    void *ctx);

/* One selected record's work, filling stage (the record's key): 0 done, -1 the record failed
 * (err says why), -2 a fatal error (err; the program dies). td is loaded on the first call. */
typedef int (*train_job_fn)(const struct train_opts *o, struct train_data *td, cJSON *rec,
			    cJSON *stage, void *ctx, char *err, size_t errlen);

/* The same loop with another job than training, under the record key stage_key (mini-train
 * --zero-cost). */
int train_main_loop_job(const struct train_opts *o, const char *stage_key,
			int (*select)(const cJSON *rec, void *ctx), train_job_fn job, void *ctx);
#endif
