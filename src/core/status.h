/* status.h — what a search record's state is: the one definition that pareto, feedback and the
 * pipelines (pipelines/settings.sh's jq mirror, kept equal by tests/cli/status.sh) count by, and
 * that lmnas-record(5) documents.
 *
 *   rejected   gen-arch could not make it (gen.error), or check-cost looked and did not accept it
 *              (a "check" key whose ok is not true)
 *   failed     not rejected, and the stage that measures accuracy failed (that stage's error,
 *              e.g. mini.error for mini.val_acc)
 *   evaluated  neither, and the accuracy is a number
 *   pending    none of these yet (accepted, not trained)
 */
#ifndef LMNAS_STATUS_H
#define LMNAS_STATUS_H
#include <cJSON.h>

enum record_status { STATUS_PENDING, STATUS_REJECTED, STATUS_FAILED, STATUS_EVALUATED };

/* acc_path: the accuracy that evaluates a record ("mini.val_acc"); its stage's error fails it. */
enum record_status record_status(const cJSON *rec, const char *acc_path);

/* "pending", "rejected", "failed", "evaluated" */
const char *record_status_name(enum record_status s);
#endif
