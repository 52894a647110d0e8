/* train_main.h — the record loop shared by mini-train, full-train and kd: read records, train
 * the ones the program selects, add its key, write every record, stop cleanly on a signal. */
#ifndef LMNAS_TRAIN_MAIN_H
#define LMNAS_TRAIN_MAIN_H
#include <cJSON.h>
#include "engine/train.h"

/* select: 1 = train this record, 0 = pass it through untouched. */
int train_main_loop(const struct train_opts *o, int (*select)(const cJSON *rec, void *ctx),
		    void *ctx);
#endif
