/* record.c — reading and writing newline-delimited JSON records. */
#include "core/record.h"
#include "core/arch.h"
#include "core/util.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void record_reader_init(struct record_reader *r, FILE *f, const char *name)
{
	memset(r, 0, sizeof *r);
	r->f = f;
	r->name = name;
}

void record_reader_free(struct record_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
}

/* Reads one line into r->buf (without the newline). Returns its length, -1 at EOF,
 * -2 when the line is longer than RECORD_MAX_LINE (the rest of it is consumed). */
static long read_line(struct record_reader *r)
{
	size_t len = 0;
	int c, too_long = 0;
	while ((c = getc(r->f)) != EOF && c != '\n') {
		if (len >= RECORD_MAX_LINE) {
			too_long = 1;
			continue;
		}
		if (len + 2 > r->cap) {
			r->cap = r->cap ? r->cap * 2 : 4096;
			r->buf = xrealloc(r->buf, r->cap);
		}
		r->buf[len++] = (char)c;
	}
	if (c == EOF && len == 0 && !too_long)
		return -1;
	if (!r->buf)
		r->buf = xmalloc(r->cap = 4096);
	r->buf[len] = '\0';
	return too_long ? -2 : (long)len;
}

static int blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r')
			return 0;
	return 1;
}

int record_next(struct record_reader *r, cJSON **out)
{
	*out = NULL;
	for (;;) {
		long n = read_line(r);
		if (n == -1)
			return 0;
		r->line++;
		if (n == -2) {
			log_error("%s:%ld: line longer than %u bytes, skipped", r->name, r->line,
				  RECORD_MAX_LINE);
			return -1;
		}
		if (blank(r->buf))
			continue;
		const char *end = NULL;
		cJSON *doc = cJSON_ParseWithOpts(r->buf, &end, 1);
		if (!doc) {
			long col = end ? (long)(end - r->buf) + 1 : 0;
			log_error("%s:%ld: not JSON (column %ld), skipped", r->name, r->line, col);
			return -1;
		}
		if (!cJSON_IsObject(doc)) {
			log_error("%s:%ld: a record must be a JSON object, skipped", r->name, r->line);
			cJSON_Delete(doc);
			return -1;
		}
		*out = record_normalize(doc);
		return 1;
	}
}

int record_read_all(FILE *f, const char *name, struct record_list *list)
{
	struct record_reader r;
	record_reader_init(&r, f, name);
	int bad = 0, st;
	cJSON *rec;
	while ((st = record_next(&r, &rec)) != 0) {
		if (st < 0) {
			bad++;
			continue;
		}
		if (list->n == list->cap) {
			list->cap = list->cap ? list->cap * 2 : 256;
			list->recs = xrealloc(list->recs, sizeof(cJSON *) * (size_t)list->cap);
		}
		list->recs[list->n++] = rec;
	}
	record_reader_free(&r);
	return bad;
}

int record_read_inputs(char **files, int nfiles, struct record_list *list)
{
	if (nfiles == 0)
		return record_read_all(stdin, "stdin", list);
	int bad = 0;
	for (int i = 0; i < nfiles; i++) {
		FILE *f = fopen(files[i], "r");
		if (!f)
			die("cannot open %s", files[i]);
		bad += record_read_all(f, files[i], list);
		fclose(f);
	}
	return bad;
}

void record_list_free(struct record_list *list)
{
	for (int i = 0; i < list->n; i++)
		cJSON_Delete(list->recs[i]);
	free(list->recs);
	memset(list, 0, sizeof *list);
}

cJSON *record_normalize(cJSON *doc)
{
	if (cJSON_IsObject(doc) && !cJSON_GetObjectItemCaseSensitive(doc, "arch") &&
	    cJSON_GetObjectItemCaseSensitive(doc, "blocks")) {
		cJSON *rec = cJSON_CreateObject();
		cJSON_AddItemToObject(rec, "arch", doc);
		return rec;
	}
	return doc;
}

cJSON *record_load_document(const char *path)
{
	const char *err;
	char *text = read_file(path, RECORD_MAX_LINE, NULL, &err);
	if (!text) {
		log_error("%s: %s", path, err);
		return NULL;
	}
	const char *end = NULL;
	cJSON *doc = cJSON_ParseWithOpts(text, &end, 1);
	if (!doc) {
		long line = 1;
		for (const char *p = text; end && p < end; p++)
			line += *p == '\n';
		log_error("%s:%ld: not a JSON document", path, line);
	} else if (!cJSON_IsObject(doc)) {
		log_error("%s: expected a JSON object", path);
		cJSON_Delete(doc);
		doc = NULL;
	}
	free(text);
	return doc ? record_normalize(doc) : NULL;
}

int record_save_document(const char *path, const cJSON *doc)
{
	char *text = cJSON_Print(doc);
	if (!text)
		die("out of memory printing a document");
	size_t len = strlen(text);
	text = xrealloc(text, len + 2);
	text[len++] = '\n';
	int bad;
	if (path)
		bad = write_file_atomic(path, text, len) != 0;
	else
		bad = fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0;
	free(text);
	return bad ? -1 : 0;
}

int record_write(FILE *f, const cJSON *rec)
{
	char *s = cJSON_PrintUnformatted(rec);
	if (!s)
		die("out of memory printing a record");
	int bad = fputs(s, f) == EOF || fputc('\n', f) == EOF || fflush(f) == EOF;
	free(s);
	return bad ? -1 : 0;
}

cJSON *record_stage(cJSON *rec, const char *key)
{
	cJSON *stage = cJSON_CreateObject();
	if (cJSON_GetObjectItemCaseSensitive(rec, key))
		cJSON_ReplaceItemInObjectCaseSensitive(rec, key, stage);
	else
		cJSON_AddItemToObject(rec, key, stage);
	return stage;
}

void record_stage_error(cJSON *rec, const char *key, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cJSON *stage = cJSON_GetObjectItemCaseSensitive(rec, key);
	if (!cJSON_IsObject(stage))
		stage = record_stage(rec, key);
	cJSON_DeleteItemFromObjectCaseSensitive(stage, "error");
	cJSON_AddStringToObject(stage, "error", msg);
}

const cJSON *record_get(const cJSON *rec, const char *path)
{
	char key[128];
	const cJSON *node = rec;
	while (node && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof key)
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		node = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, key) : NULL;
		path += n + (path[n] == '.');
	}
	return node;
}

double record_number(const cJSON *rec, const char *path, double fallback)
{
	const cJSON *n = record_get(rec, path);
	return cJSON_IsNumber(n) ? n->valuedouble : fallback;
}

const char *record_string(const cJSON *rec, const char *path)
{
	const cJSON *s = record_get(rec, path);
	return cJSON_IsString(s) ? s->valuestring : NULL;
}

static int whole_in(double v, double lo, double hi)
{
	return v >= lo && v <= hi && v == floor(v);
}

int record_settings(const cJSON *rec, int *h, int *w, int *classes, float *dropout,
			  char *err, size_t errlen)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(rec, "resolution");
	if (r) {
		double a = -1, b = -1;
		int hh, ww;
		if (cJSON_IsNumber(r)) {
			a = b = r->valuedouble;
		} else if (cJSON_IsArray(r) && cJSON_GetArraySize(r) == 2 &&
			   cJSON_IsNumber(r->child) && cJSON_IsNumber(r->child->next)) {
			a = r->child->valuedouble;
			b = r->child->next->valuedouble;
		} else if (cJSON_IsString(r) && !parse_resolution(r->valuestring, &hh, &ww)) {
			a = hh;
			b = ww;
		}
		if (!whole_in(a, 1, ARCH_MAX_RESOLUTION) || !whole_in(b, 1, ARCH_MAX_RESOLUTION))
			return fail(err, errlen, "the record's resolution must be N, [H, W] or \"HxW\" "
				    "with whole numbers in 1..%d", ARCH_MAX_RESOLUTION);
		*h = (int)a;
		*w = (int)b;
	}
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(rec, "classes");
	if (c) {
		if (!cJSON_IsNumber(c) || !whole_in(c->valuedouble, 1, ARCH_MAX_CLASSES))
			return fail(err, errlen, "the record's classes must be a whole number in 1..%d",
				    ARCH_MAX_CLASSES);
		*classes = (int)c->valuedouble;
	}
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(rec, "dropout");
	if (d && dropout) {
		if (!cJSON_IsNumber(d) || !(d->valuedouble >= 0 && d->valuedouble < 1))
			return fail(err, errlen, "the record's dropout must be a number in [0, 1)");
		*dropout = (float)d->valuedouble;
	}
	return 0;
}
