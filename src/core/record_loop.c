/* record_loop.c — stdin loops for one-job programs (see record_loop.h). */
#include "core/record_loop.h"
#include "core/record.h"
#include "core/util.h"

#include <stdio.h>
#include <unistd.h>

/* The job into a fresh record {key: ...}; returns the exit status. */
static int run_alone(const char *key, record_job job, void *ctx)
{
	char err[1024];
	cJSON *rec = cJSON_CreateObject();
	if (job(ctx, record_stage(rec, key), err, sizeof err)) {
		log_error("%s", err);
		cJSON_Delete(rec);
		return EXIT_USAGE;
	}
	record_write(stdout, rec);
	cJSON_Delete(rec);
	return EXIT_OK;
}

int record_loop_run(const char *key, record_job job, void *ctx)
{
	int status = EXIT_OK, nrec = 0;
	char err[1024];
	if (!isatty(STDIN_FILENO)) {
		struct record_reader rr;
		record_reader_init(&rr, stdin, "stdin");
		cJSON *rec;
		int r;
		while ((r = record_next(&rr, &rec)) != 0) {
			if (r < 0) {
				status = EXIT_RECORDS;
				continue;
			}
			nrec++;
			if (job(ctx, record_stage(rec, key), err, sizeof err)) {
				log_error("%s", err);
				record_stage_error(rec, key, "%s", err);
				status = EXIT_RECORDS;
			}
			if (record_write(stdout, rec))
				status = EXIT_USAGE;
			cJSON_Delete(rec);
		}
		record_reader_free(&rr);
	}
	if (nrec == 0 && status == EXIT_OK)
		return run_alone(key, job, ctx);
	return status;
}

/* Replaces rec[key] by a copy of value, added last, and writes rec; dies when output fails. */
static void write_stamped(cJSON *rec, const char *key, const cJSON *value)
{
	cJSON_DeleteItemFromObjectCaseSensitive(rec, key);
	cJSON_AddItemToObject(rec, key, cJSON_Duplicate(value, 1));
	if (record_write(stdout, rec))
		die("cannot write to stdout");
}

int record_loop_stamp(const char *key, const cJSON *value)
{
	int written = 0, failed = 0, rc;
	if (!isatty(STDIN_FILENO)) {
		struct record_reader r;
		record_reader_init(&r, stdin, "stdin");
		cJSON *rec;
		while ((rc = record_next(&r, &rec)) != 0) {
			if (rc < 0) {
				failed = 1;
				continue;
			}
			write_stamped(rec, key, value);
			cJSON_Delete(rec);
			written++;
		}
		record_reader_free(&r);
	}
	if (!written) {
		cJSON *rec = cJSON_CreateObject();
		write_stamped(rec, key, value);
		cJSON_Delete(rec);
	}
	return failed;
}
