/* bench.h — training throughput: full training steps (forward, loss, backward, SGD update) of
 * an arch on random data, after a warm-up. Used by mini-train --benchmark. */
#ifndef LMNAS_BENCH_H
#define LMNAS_BENCH_H
#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>
#include "arch.h"

struct bench_opts {
	int steps, warmup;
	int batch, res_h, res_w, classes;
	int threads; /* 0: all cores */
	uint64_t seed;
};

/* Runs the benchmark and fills stage with images_per_s, step_ms, steps, batch, resolution,
 * classes, threads, seconds, params, activation_bytes, rss_kb_after_warmup, rss_kb_end.
 * Returns 0, or -1 with a reason in err (an arch that does not expand, a non-finite loss). */
int bench_run(const struct arch *a, const struct bench_opts *o, cJSON *stage, char *err,
	      size_t errlen);

/* Resident set size of this process in KiB (from /proc/self/statm), or -1. */
long rss_kib(void);
#endif
