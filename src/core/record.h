/* record.h — newline-delimited JSON records (DESIGN.md "The record", lmnas-record(5)).
 *
 * Every program reads records from stdin (or from files, each one JSON document), adds its own key
 * and copies every other key through untouched. */
#ifndef LMNAS_RECORD_H
#define LMNAS_RECORD_H
#include <stdio.h>
#include <cJSON.h>

/* The longest line accepted; longer ones are reported and skipped. */
#define RECORD_MAX_LINE (16u << 20)

struct record_reader {
	FILE *f;
	const char *name; /* "stdin" or the file name, for messages */
	long line;        /* line number of the record just read (1-based) */
	char *buf;
	size_t cap;
};

void record_reader_init(struct record_reader *r, FILE *f, const char *name);
void record_reader_free(struct record_reader *r);

/* Reads the next non-blank line. Returns 1 and sets *out to a JSON object; 0 at end of input;
 * -1 for a line that is not a JSON object (a message naming name:line is logged, *out is NULL,
 * the caller goes on). */
int record_next(struct record_reader *r, cJSON **out);

/* Every record of an input, in order. */
struct record_list {
	cJSON **recs; /* [n], each owned by the list */
	int n, cap;
};

/* Appends every record of f (name is for messages) to list; malformed lines are reported with
 * their line number and skipped. Returns how many were skipped. */
int record_read_all(FILE *f, const char *name, struct record_list *list);
/* record_read_all over stdin when nfiles is 0, else over each file in turn; dies (status 2) when
 * a file cannot be opened. Returns how many lines were skipped in all. */
int record_read_inputs(char **files, int nfiles, struct record_list *list);
/* Deletes the records and the array; the list is empty again. */
void record_list_free(struct record_list *list);

/* Parses a whole file holding one JSON document (a record, or a bare arch such as the paper's
 * config files, which is wrapped as {"arch": ...}). Returns NULL after logging why. */
cJSON *record_load_document(const char *path);

/* Writes doc pretty-printed with a final newline: to path atomically (write_file_atomic), or to
 * stdout when path is NULL. Returns 0, or -1 on an output error. */
int record_save_document(const char *path, const cJSON *doc);

/* A bare arch ({"input_channels":..,"blocks":[..]}) becomes {"arch": doc}; a record is returned
 * as is. Takes ownership of doc. */
cJSON *record_normalize(cJSON *doc);

/* Writes rec as one line and flushes. Returns 0, or -1 on an output error. */
int record_write(FILE *f, const cJSON *rec);

/* Replaces rec[key] with a new empty object and returns it (a stage's own key is rewritten,
 * every other key is kept). */
cJSON *record_stage(cJSON *rec, const char *key);

/* Sets rec[key].error to the formatted message (creating rec[key] if needed). */
void record_stage_error(cJSON *rec, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Numbers from a record, with a default when absent or not a number. Path is dotted ("cost.macs"). */
double record_number(const cJSON *rec, const char *path, double fallback);
const char *record_string(const cJSON *rec, const char *path);
const cJSON *record_get(const cJSON *rec, const char *path);

/* The record's own "resolution" (N, [H, W] or "HxW"), "classes" and "dropout" where present
 * (lmnas-record(5)): they replace *h, *w, *classes and *dropout (dropout NULL: not read). The one
 * reader of these keys, for check-cost and the trainers. Returns 0, or -1 with a reason. */
int record_settings(const cJSON *rec, int *h, int *w, int *classes, float *dropout, char *err,
		    size_t errlen);
#endif
