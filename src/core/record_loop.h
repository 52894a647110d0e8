/* record_loop.h — the stdin loops of programs that do one job per run and add its result to the
 * records passing through (quantize, emit-c, evaluate). Input records are read only when stdin
 * is not a terminal; without any, one fresh record is written, so the programs also work alone.
 * Malformed lines are reported with their line number (record_next) and skipped. */
#ifndef LMNAS_RECORD_LOOP_H
#define LMNAS_RECORD_LOOP_H
#include <stddef.h>
#include <cJSON.h>

/* Fills stage (the record's own key, emptied) or returns -1 with a reason in err. */
typedef int (*record_job)(void *ctx, cJSON *stage, char *err, size_t errlen);

/* Runs job once per input record into record_stage(rec, key); a failure is logged and becomes
 * key.error. With no input record and no malformed line, runs job once into a fresh record;
 * a failure there writes nothing. Returns the exit status: 0; 1 when a record failed or a line
 * was malformed; 2 when the lone job failed or (unless a later record failed) output failed. */
int record_loop_run(const char *key, record_job job, void *ctx);

/* Sets key to a copy of value in every input record (an old key is removed and the new one
 * added last), or writes one fresh record {key: value} when none was written. Dies (status 2)
 * when output fails. Returns 1 when a line was malformed, else 0. */
int record_loop_stamp(const char *key, const cJSON *value);
#endif
