/* fuzz_check.c — libFuzzer target for the record reader, the arch parser and the shared check
 * (check-cost's whole path: record_next -> record_normalize -> check_record with limits, a search
 * space and a seen set -> the planner and its self-check).
 *
 * Built and run by pipelines/fuzz.sh (make fuzz):
 *   clang -fsanitize=fuzzer,address,undefined ... tests/fuzz/fuzz_check.c src/...
 * The input is a stream of lines, as check-cost reads on stdin. */
#include "cost/check.h"
#include "core/record.h"
#include "core/space.h"
#include "core/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char space_json[] =
	"{\"stages\":5,\"block_fields\":{"
	"\"output_channels\":{\"values\":[16,24,32,48,64,96,128,160]},"
	"\"kernel_size\":{\"values\":[3,5,7]},\"stride\":{\"values\":[1,2]},"
	"\"expansion_factor\":{\"values\":[3,4,6]},\"use_se\":{\"values\":[true,false]},"
	"\"se_ratio\":{\"values\":[0.25,0.5]},\"conv_type\":{\"values\":[\"depthwise\",\"mbconv\"]},"
	"\"skip_op\":{\"values\":[\"identity\",\"residual\"]},"
	"\"activation\":{\"values\":[\"relu6\",\"leakyrelu\",\"swish\"]},"
	"\"num_layers\":{\"values\":[1,2,3,4,6]}}}";

static struct check_opts opts;
static struct space space;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	util_init("fuzz_check");
	check_opts_init(&opts);
	cJSON *s = cJSON_Parse(space_json);
	char err[256];
	if (space_from_json(s, &space, err, sizeof err))
		abort();
	cJSON_Delete(s);
	opts.space = &space;
	opts.macs_max = 50e6;
	opts.sram_max = 256 * 1024;
	opts.flash_max = 512 * 1024;
	opts.seen = xcalloc(1, sizeof *opts.seen);
	snprintf(opts.seen[0], CHECK_ID_LEN, "%s", "92e01e0c42ccc194");
	opts.nseen = 1;
	/* Every malformed line is reported on stderr: pipelines/fuzz.sh runs with -close_fd_mask=2. */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	struct record_reader r;
	record_reader_init(&r, f, "fuzz");
	cJSON *rec;
	int rc, n = 0;
	while (n++ < 64 && (rc = record_next(&r, &rec)) != 0) {
		if (rc < 0)
			continue;
		int ok = check_record(rec, &opts);
		const cJSON *check = cJSON_GetObjectItemCaseSensitive(rec, "check");
		/* Invariant: check.ok agrees with the return value and the violations list. */
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(check, "violations");
		if (ok != cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(check, "ok")) ||
		    ok != (cJSON_GetArraySize(v) == 0))
			abort();
		char *text = cJSON_PrintUnformatted(rec);
		free(text);
		cJSON_Delete(rec);
	}
	record_reader_free(&r);
	fclose(f);
	return 0;
}
