/* fuzz_answer.c — libFuzzer target for a model's answer, untrusted text: llm_extract_json (the
 * JSON object in prose, fences or reasoning) and then the arch parser on what it found (the arch
 * itself, or its "arch" key), as gen-arch --strategy llm does.
 *
 * Built and run by pipelines/fuzz.sh (make fuzz). The input is the answer's text. */
#include "core/arch.h"
#include "search/llm.h"
#include "core/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	util_init("fuzz_answer");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char err[1024];
	cJSON *doc = llm_extract_json(text, err, sizeof err);
	if (doc) {
		const cJSON *obj = cJSON_GetObjectItemCaseSensitive(doc, "arch");
		struct arch a;
		if (arch_parse(obj ? obj : doc, &a, err, sizeof err) == 0) {
			cJSON *back = arch_to_json(&a);
			char id[17];
			arch_id(&a, id);
			cJSON_Delete(back);
		}
		cJSON_Delete(doc);
	}
	free(text);
	return 0;
}
