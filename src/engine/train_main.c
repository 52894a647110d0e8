/* train_main.c — the record loop of the training programs. See train_main.h. */
#include "engine/train_main.h"
#include "engine/net.h"
#include "core/record.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>

static int train_job(const struct train_opts *o, struct train_data *td, cJSON *rec, cJSON *stage,
		     void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	int interrupted;
	return train_record(o, td, rec, stage, &interrupted, err, errlen);
}

int train_main_loop(const struct train_opts *o, int (*select)(const cJSON *rec, void *ctx),
		    void *ctx)
{
	return train_main_loop_job(o, o->stage, select, train_job, ctx);
}

int train_main_loop_job(const struct train_opts *o, const char *stage_key,
			int (*select)(const cJSON *rec, void *ctx), train_job_fn job, void *ctx)
{
	char err[1024];
	struct train_data td;
	net_set_threads(o->threads);
	train_install_signals();
	int loaded = 0, failed = 0, rc;
	struct record_reader r;
	record_reader_init(&r, stdin, "stdin");
	cJSON *rec;
	while (!train_stop_requested && (rc = record_next(&r, &rec)) != 0) {
		if (rc < 0) {
			failed = 1; /* the reader named the line */
			continue;
		}
		rec = record_normalize(rec);
		if (select(rec, ctx)) {
			if (!loaded) {
				if (train_data_load(o, &td, err, sizeof err))
					die("%s", err);
				loaded = 1;
			}
			cJSON *stage = record_stage(rec, stage_key);
			int trc = job(o, &td, rec, stage, ctx, err, sizeof err);
			if (trc == -2)
				die("%s", err);
			if (trc) {
				record_stage(rec, stage_key); /* a failed stage holds only its error */
				record_stage_error(rec, stage_key, "%s", err);
				log_error("%s%s%s: %s", record_string(rec, "id") ? "record " : "",
					  record_string(rec, "id") ? record_string(rec, "id") : "",
					  record_string(rec, "id") ? "" : "record", err);
				failed = 1;
			}
		}
		if (record_write(stdout, rec))
			die("cannot write to stdout");
		cJSON_Delete(rec);
	}
	record_reader_free(&r);
	if (loaded)
		train_data_free(&td);
	if (train_stop_requested) {
		log_error("stopped by a signal");
		return EXIT_RECORDS;
	}
	return failed ? EXIT_RECORDS : EXIT_OK;
}
