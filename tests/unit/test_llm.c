/* test_llm.c — the tolerant answer parser, UTF-8 cleaning and the prompt templates. */
#include "search/llm.h"
#include "search/prompt.h"
#include "t.h"
#include "core/utf8.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* input_channels of the extracted object, or -1. */
static int channels_of(const char *text, char *err, size_t errlen)
{
	cJSON *doc = llm_extract_json(text, err, errlen);
	const cJSON *c = cJSON_GetObjectItem(doc, "input_channels");
	int n = cJSON_IsNumber(c) ? c->valueint : -1;
	cJSON_Delete(doc);
	return n;
}

static void test_reasoning(void)
{
	char err[256] = "";
	T_CHECK(channels_of("<think>A first idea: {\"input_channels\": 1, \"blocks\": []}. No, wider."
			    "</think>\n{\"input_channels\": 3, \"blocks\": [{\"a\": 1}]}",
			    err, sizeof err) == 3,
		"a draft inside <think> is not the answer (%s)", err);
	T_CHECK(channels_of("Drafting {\"input_channels\": 1} ...\n</think>\n{\"input_channels\": 3}",
			    err, sizeof err) == 3,
		"a </think> whose <think> the template opened ends the reasoning");
	T_CHECK(channels_of("<THINKING>{\"input_channels\": 1}</THINKING> [THINK]{\"input_channels\": 2}"
			    "[/THINK] {\"input_channels\": 3}", err, sizeof err) == 3,
		"<thinking> and [THINK] blocks too, in any case");
	T_CHECK(channels_of("<think>Let me try {\"input_channels\": 1, \"blocks\": []} and then",
			    err, sizeof err) == -1 && strstr(err, "only reasoning"),
		"an unclosed <think> hides its draft: the answer holds only reasoning (%s)", err);
}

static void test_last_object(void)
{
	char err[256] = "";
	T_CHECK(channels_of("First {\"input_channels\": 1}, better: {\"input_channels\": 3}", err,
			    sizeof err) == 3,
		"the last complete top-level object wins");
	T_CHECK(channels_of("From {see http://example.com/x} I took {\"input_channels\": 3}", err,
			    sizeof err) == 3,
		"the // of a URL in braced prose is not a comment");
	T_CHECK(channels_of("{\"input_channels\": 3} where {channels} is a placeholder", err,
			    sizeof err) == 3,
		"an earlier object when the last one is not JSON");
	T_CHECK(channels_of("Draft {\"input_channels\": 1}. Final: {\"input_channels\": 3, \"blocks\": [",
			    err, sizeof err) == -1 && strstr(err, "not finished"),
		"a cut-off last object is an error, not a fall back to the draft (%s)", err);
	T_CHECK(channels_of("{\"input_channels\": 3, \"blocks\": [1 2]}", err, sizeof err) == -1 &&
			strstr(err, "does not parse near '2]}'"),
		"a broken object names where it breaks (%s)", err);
}

static void test_json5(void)
{
	char err[256] = "";
	const char *commented = "```json\n{\n  \"input_channels\": 1, // grey images\n"
				"  /* five blocks */ \"blocks\": [\n"
				"    {\"output_channels\": 16}, // more to come\n  ],\n}\n```";
	T_CHECK(channels_of(commented, err, sizeof err) == 1,
		"comments and trailing commas are accepted, not an inner block taken (%s)", err);
	T_CHECK(blocks_of("{input_channels: 1, 'blocks': ['it\\'s \"x\"', {$k_2: 'y'}]}") == 2,
		"single-quoted strings and unquoted keys");
	cJSON *doc = llm_extract_json("{'s': 'it\\'s \"q\" \\n'}", err, sizeof err);
	const cJSON *str = cJSON_GetObjectItem(doc, "s");
	T_CHECK(cJSON_IsString(str) && !strcmp(str->valuestring, "it's \"q\" \n"),
		"a single-quoted string keeps its quotes and escapes");
	cJSON_Delete(doc);
	doc = llm_extract_json("{\"u\": \"http://x/*y*/ // z, }\", \"v\": [true, null, 1e5]}", err,
			       sizeof err);
	char *back = doc ? cJSON_PrintUnformatted(doc) : NULL;
	T_CHECK(back && !strcmp(back, "{\"u\":\"http://x/*y*/ // z, }\",\"v\":[true,null,100000]}"),
		"strict JSON comes through unchanged: comment marks and commas inside strings (%s)",
		back ? back : err);
	free(back);
	cJSON_Delete(doc);
}

/* This thread's CPU time (CLOCK_THREAD_CPUTIME_ID): the parser's own work, which other programs
 * on a loaded machine (make -j, a parallel test run) do not stretch. */
static struct timespec cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t;
}

/* CPU seconds of this thread since t0 (a cpu_now) */
static double cpu_seconds_since(const struct timespec *t0)
{
	struct timespec t1 = cpu_now();
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

static void too_slow(int sig)
{
	(void)sig;
	static const char msg[] = "not ok - a 4 MiB answer of braces took more than 20 s (quadratic)\n";
	if (write(1, msg, sizeof msg - 1) < 0)
		_exit(1);
	_exit(1);
}

/* 4 MiB answers of braces: the parser is linear (the old one rescanned from every '{': 63 s for
 * 200 kB, hours for 4 MiB). An alarm turns a hang into a failure. */
static void test_linear(void)
{
	size_t n = 4u << 20;
	char *s = malloc(n + 1), err[256];
	const char *shape[] = { "nested {{{...}}}", "unclosed {{{...", "repeated {}{}...",
				"repeated {\"a\": {} }" };
	signal(SIGALRM, too_slow);
	alarm(20);
	for (int k = 0; k < 4; k++) {
		for (size_t i = 0; i < n; i++)
			s[i] = k == 0 ? (i < n / 2 ? '{' : '}') : k == 1 ? '{' : k == 2 ? "{}"[i % 2]
										   : "{\"a\": {} }"[i % 10];
		s[n] = '\0';
		struct timespec t0 = cpu_now();
		cJSON *doc = llm_extract_json(s, err, sizeof err);
		double secs = cpu_seconds_since(&t0);
		cJSON_Delete(doc);
		T_CHECK(secs < 2, "4 MiB answer, %s: %.3f s of CPU (< 2 s)", shape[k], secs);
	}
	alarm(0);
	free(s);
}

static void test_utf8(void)
{
	const char *good = "plain, caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x98\x80";
	char *c = utf8_clean(good, strlen(good));
	T_CHECK(!strcmp(c, good), "valid UTF-8 is unchanged (2-, 3- and 4-byte characters)");
	free(c);
	const char *bad = "a\xFF" "b\xC0\xAF" "c\xED\xA0\x80" "d\xF4\x90\x80\x80" "e\xE2\x82";
	c = utf8_clean(bad, strlen(bad));
#define R "\xEF\xBF\xBD" /* U+FFFD */
	const char *want = "a" R "b" R R "c" R R R "d" R R R R "e" R;
#undef R
	T_CHECK(!strcmp(c, want),
		"stray, overlong, surrogate, above U+10FFFF and cut-off sequences become U+FFFD");
	free(c);
	T_CHECK(utf8_cut("ab\xE2\x82\xAC", 3) == 2 && utf8_cut("ab\xE2\x82\xAC", 5) == 5,
		"a snippet is cut between characters");
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
	test_reasoning();
	test_last_object();
	test_json5();
	test_linear();
	test_utf8();
	test_prompt();
	return t_done();
}
