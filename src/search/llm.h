/* llm.h — a small client for OpenAI-compatible chat completions (POST <base>/v1/chat/completions),
 * which llama.cpp's server, Ollama and vLLM serve (gen-arch(1)).
 *
 * - The key, if any, comes from LMNAS_API_KEY and is sent as a bearer token; it is never printed
 *   or written to the transcript: wherever a server sends it back (a 401 body that echoes the
 *   Authorization header) it becomes [redacted] in the answer, the errors and the transcript.
 * - Sampling defaults are the paper's: temperature 1.5, min_p 0.1.
 * - A JSON schema for the answer goes in response_format; a server that answers 400 to it is asked
 *   again without, and the client remembers that for the rest of the run.
 * - HTTP 5xx/429 answers, timeouts and connection errors are retried with exponential backoff;
 *   after a 429 or 503 with Retry-After (seconds or an HTTP date) the client waits as asked, or
 *   gives up at once when that is longer than the timeout.
 * - Every request and answer is appended as one JSON line to <transcripts>/llm.jsonl.
 * - Everything handed back or written is valid UTF-8 (ill-formed bytes become U+FFFD). */
#ifndef LMNAS_LLM_H
#define LMNAS_LLM_H
#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>

struct llm_opts {
	const char *base_url;       /* "http://127.0.0.1:8080" (a trailing /v1 is accepted) */
	const char *model;          /* "default" */
	double temperature;         /* 1.5 */
	double min_p;               /* 0.1 */
	double timeout_s;           /* whole request, 120 */
	int http_retries;           /* further tries after an HTTP error or timeout, 3 */
	double backoff_s;           /* first wait, doubled each time, 1 */
	const char *transcripts;    /* folder for llm.jsonl, or NULL */
	bool use_schema;            /* send response_format (true) */
};

struct llm_client {
	struct llm_opts o;
	char url[1024];
	bool schema_refused;        /* the server answered 400 to response_format once */
	int requests;               /* requests sent, for the transcript */
	char finish_reason[32];     /* of the last answer: "stop", "length" (cut off), or "" */
	void *curl;                 /* CURL * */
};

void llm_opts_init(struct llm_opts *o);
/* Returns 0, or -1 with a reason (bad URL) in err. */
int llm_open(struct llm_client *c, const struct llm_opts *o, char *err, size_t errlen);
void llm_close(struct llm_client *c);

/* Sends messages (a JSON array of {role, content}) and returns the answer text in *content (to
 * free). schema may be NULL. Returns 0, or -1 after the last retry with the reason in err. */
int llm_chat(struct llm_client *c, const cJSON *messages, const cJSON *schema, char **content,
	     char *err, size_t errlen);

/* The JSON object of an answer (llm_answer.c): the last complete top-level {...} outside
 * reasoning (<think>...</think> and the like), amid prose or in a ``` fence, with the slips of
 * hand-written JSON accepted (comments, trailing commas, 'single quotes', unquoted keys). Linear
 * in the length of the text. Returns NULL with a reason for the model in err. */
cJSON *llm_extract_json(const char *text, char *err, size_t errlen);
#endif
