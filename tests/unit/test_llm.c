/* test_llm.c — the tolerant answer parser and the prompt templates. */
#include "llm.h"
#include "prompt.h"
#include "t.h"

#include <stdlib.h>
#include <string.h>

static int blocks_of(const char *text)
{
	char err[256];
	cJSON *doc = llm_extract_json(text, err, sizeof err);
	int n = doc ? cJSON_GetArraySize(cJSON_GetObjectItem(doc, "blocks")) : -1;
	cJSON_Delete(doc);
	return n;
}

static void test_extract(void)
{
	T_CHECK(blocks_of("{\"blocks\":[1,2]}") == 2, "a bare object");
	T_CHECK(blocks_of("```json\n{\"blocks\":[1]}\n```") == 1, "inside a code fence");
	T_CHECK(blocks_of("Here is my design:\n{\"blocks\":[1,2,3]}\nIt is small.") == 3,
		"prose before and after");
	T_CHECK(blocks_of("Note {not json} then {\"blocks\":[{\"a\":\"}\"}]}") == 1,
		"skips a brace pair that is not JSON; braces inside strings do not count");
	char err[256] = "";
	T_CHECK(llm_extract_json("no object at all", err, sizeof err) == NULL &&
			strstr(err, "no JSON object"),
		"no object: a reason for the model");
	T_CHECK(llm_extract_json("{\"blocks\": [1, 2", err, sizeof err) == NULL,
		"an unfinished object is refused");
	T_CHECK(llm_extract_json(NULL, err, sizeof err) == NULL, "a missing answer is refused");
}

static void test_prompt(void)
{
	const char *keys[] = { "a", "bb" };
	const char *vals[] = { "1", "two" };
	char *s = prompt_render("x{{a}}y{{bb}}z{{c}}{{", keys, vals, 2);
	T_CHECK(!strcmp(s, "x1ytwoz{{c}}{{"), "placeholders filled, unknown ones kept (%s)", s);
	free(s);
	struct prompt_ctx c = { .dataset = "Fashion-MNIST", .res_h = 28, .res_w = 28, .in_ch = 1,
				.classes = 10, .macs_max = 30e6, .sram_max = 65536 };
	char *k = prompt_constraints(&c);
	T_CHECK(strstr(k, "at most 30.0M") && strstr(k, "at most 64.0KiB") && !strstr(k, "flash"),
		"constraints name the given budgets only");
	free(k);
	cJSON *fb = cJSON_Parse("{\"counts\":{\"evaluated\":3,\"rejected\":1,\"failed\":0},"
				"\"front\":[{\"id\":\"abc\",\"val_acc\":0.9,\"macs\":1e6,\"params\":2e4,"
				"\"arch\":{\"blocks\":[]}}],\"suggestions\":[\"Try swish.\"],"
				"\"rejections\":[{\"messages\":[\"MACs too high.\"]}]}");
	char *f = prompt_feedback_text(fb);
	T_CHECK(strstr(f, "abc: accuracy 90.00%, MACs 1.0M") && strstr(f, "- Try swish.") &&
			strstr(f, "- MACs too high.") && strstr(f, "arch: {\"blocks\":[]}"),
		"feedback text carries front, suggestions and rejection messages");
	free(f);
	c.feedback = fb;
	char *g = prompt_generate("{{dataset}} {{resolution}} {{classes}}\n{{feedback}}", &c);
	T_CHECK(!strncmp(g, "Fashion-MNIST 28x28 10\nSo far: 3 designs", 39), "generate fills the task");
	free(g);
	cJSON_Delete(fb);
}

int main(void)
{
	test_extract();
	test_prompt();
	return t_done();
}
