/* check.h — the shared architecture check used by check-cost and gen-arch, so both take the same
 * options and give the same verdicts (check-cost(1), lmnas-record(5)).
 *
 * check_record adds to a record holding "arch":
 *   "id"    the arch's canonical hash (arch_id)
 *   "cost"  {macs, params, flash_bytes, peak_sram_bytes, peak_op, arena_bytes, arena_op,
 *            stack_bytes, sram_bytes, m7_instructions, m7_ms,
 *            resolution: [h, w], classes}
 *   "check" {ok, violations: [{metric, value, limit, message[, field]}]}
 * Resolution and classes come from the record's top-level "resolution" (N, [h, w] or "HxW") and
 * "classes" keys when present, else from the options. */
#ifndef LMNAS_CHECK_H
#define LMNAS_CHECK_H
#include <stddef.h>
#include <cJSON.h>

#include "core/options.h"
#include "core/space.h"

#define CHECK_ID_LEN 24

struct check_opts {
	int res_h, res_w, classes;   /* defaults 160x160 and 100 classes, the paper's setting */
	double macs_min, macs_max;   /* 0 = no limit */
	double sram_max, flash_max;  /* bytes, 0 = no limit; sram_max applies to cost.sram_bytes */
	int patch_layers;            /* layers row-streamed (cost_compute_exec): 0, N, STREAM_AUTO */
	double train_us_max;         /* estimated training us per image (train_time.h), 0 = no limit */
	double mcu_mhz;              /* clock of cost.m7_ms (default 216) */
	double latency_max;          /* cost.m7_ms limit, 0 = no limit */
	int ternary;                 /* --weight-format ternary: flash of sparse ternary convs */
	const char *int8_ops;        /* --int8-ops: with ternary, the convs that stay int8, or NULL */
	const struct space *space;   /* NULL = no space check */
	/* the seen-id set for --seen: sorted, for bsearch */
	char (*seen)[CHECK_ID_LEN];
	size_t nseen;
	struct space *own_space;     /* loaded by --space, freed by check_opts_free */
	const char *space_path;      /* the file --space loaded, or NULL */
};

void check_opts_init(struct check_opts *o);
void check_opts_free(struct check_opts *o);

/* The shared options (--resolution --classes --macs-min --macs-max --sram-max --flash-max
 * --train-us-max --mcu-mhz --latency-max --weight-format --exec --patch-layers --space --seen):
 * check-cost and gen-arch both parse this table (options.h, with
 * base a struct check_opts), so their options match. A new limit is one line there. */
extern const struct opt check_opt_table[];

/* Applies one of them ("--macs-max", "60M"): 1 if it was one, 0 if not, -1 (after a message)
 * if its value is bad. */
int check_opts_parse(struct check_opts *o, const char *opt, const char *val);

/* Loads path as the search space (--space). Returns 0, or -1 with err. */
int check_opts_load_space(struct check_opts *o, const char *path, char *err, size_t errlen);

/* Adds ids to the seen set (a JSONL history: each record's "id", or the id of its "arch"). */
int check_opts_load_seen(struct check_opts *o, const char *path);
int check_seen(const struct check_opts *o, const char *id);

/* Adds "id", "cost" and "check" to rec (which holds "arch"). Returns 1 accepted, 0 rejected with
 * violations in rec.check; an arch that does not parse is rejected with a violation naming the
 * problem (metric "arch"). Never allocates in proportion to untrusted numbers before validation. */
int check_record(cJSON *rec, const struct check_opts *o);
#endif
