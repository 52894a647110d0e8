/* status.c — a search record's state. See status.h. */
#include "core/status.h"
#include "core/record.h"

#include <stdio.h>
#include <string.h>

/* An error is a stage's "error" that is there and not null. */
static int has_error(const cJSON *rec, const char *path)
{
	const cJSON *e = record_get(rec, path);
	return e && !cJSON_IsNull(e);
}

static int is_rejected(const cJSON *rec)
{
	if (has_error(rec, "gen.error"))
		return 1;
	return cJSON_GetObjectItemCaseSensitive(rec, "check") && !cJSON_IsTrue(record_get(rec, "check.ok"));
}

/* The error of acc_path's stage: "mini.val_acc" -> "mini.error". */
static int stage_failed(const cJSON *rec, const char *acc_path)
{
	const char *dot = strchr(acc_path, '.');
	char path[96];
	int len = dot ? (int)(dot - acc_path) : (int)strlen(acc_path);
	snprintf(path, sizeof path, "%.*s.error", len, acc_path);
	return has_error(rec, path);
}

enum record_status record_status(const cJSON *rec, const char *acc_path)
{
	if (is_rejected(rec))
		return STATUS_REJECTED;
	if (stage_failed(rec, acc_path))
		return STATUS_FAILED;
	if (cJSON_IsNumber(record_get(rec, acc_path)))
		return STATUS_EVALUATED;
	return STATUS_PENDING;
}

const char *record_status_name(enum record_status s)
{
	static const char *const names[] = {"pending", "rejected", "failed", "evaluated"};
	return names[s];
}
