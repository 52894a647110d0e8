/* llm.c — OpenAI-compatible chat client over libcurl (see llm.h). */
#include "search/llm.h"
#include "core/utf8.h"
#include "core/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Answers larger than this are cut off (a chat answer is a few kilobytes). */
#define LLM_MAX_ANSWER (4u << 20)
/* What the key becomes wherever the server sends it back. */
#define REDACTED "[redacted]"
/* Bytes of an error answer quoted in a message. */
#define SNIPPET 200

static const char *api_key(void)
{
	const char *k = getenv("LMNAS_API_KEY");
	return k && *k ? k : NULL;
}

/* A copy of s (to free) that is safe to write: every occurrence of the key replaced by
 * [redacted], then ill-formed UTF-8 replaced by U+FFFD. */
static char *safe_text(const char *s)
{
	const char *key = api_key();
	size_t kl = key ? strlen(key) : 0, count = 0;
	for (const char *p = s; kl && (p = strstr(p, key)); p += kl)
		count++;
	char *scrubbed = xmalloc(strlen(s) + count * strlen(REDACTED) + 1), *o = scrubbed;
	const char *p = s, *q;
	while (count && (q = strstr(p, key))) {
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, REDACTED, strlen(REDACTED));
		o += strlen(REDACTED);
		p = q + kl;
	}
	strcpy(o, p);
	char *out = utf8_clean(scrubbed, strlen(scrubbed));
	free(scrubbed);
	return out;
}

/* safe_text in place in buf[cap], cut on a character boundary. */
static void safe_buf(char *buf, size_t cap)
{
	char *s = safe_text(buf);
	size_t n = strlen(s);
	if (n >= cap)
		n = utf8_cut(s, cap - 1);
	memcpy(buf, s, n);
	buf[n] = '\0';
	free(s);
}

/* safe_text on every string and key of a tree. */
static void safe_tree(cJSON *node)
{
	for (; node; node = node->next) {
		if (cJSON_IsString(node) && node->valuestring) {
			char *v = safe_text(node->valuestring);
			cJSON_SetValuestring(node, v);
			free(v);
		}
		if (node->string && !(node->type & cJSON_StringIsConst)) {
			char *k = safe_text(node->string);
			cJSON_free(node->string);
			node->string = cJSON_malloc(strlen(k) + 1);
			if (!node->string)
				die("out of memory");
			strcpy(node->string, k);
			free(k);
		}
		safe_tree(node->child);
	}
}

/* The start of an error answer, for a message: a JSON body printed again from its tree (so that
 * escapes cannot hide the key), made safe, then cut to SNIPPET bytes. */
static void body_snippet(const char *body, char *out, size_t n)
{
	cJSON *doc = cJSON_Parse(body);
	char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
	cJSON_Delete(doc);
	char *safe = safe_text(text ? text : body);
	free(text);
	size_t len = strlen(safe), max = n - 1 < SNIPPET ? n - 1 : SNIPPET;
	if (len > max)
		len = utf8_cut(safe, max);
	memcpy(out, safe, len);
	out[len] = '\0';
	free(safe);
}

void llm_opts_init(struct llm_opts *o)
{
	memset(o, 0, sizeof *o);
	o->base_url = "http://127.0.0.1:8080";
	o->model = "default";
	o->temperature = 1.5;
	o->min_p = 0.1;
	o->timeout_s = 120;
	o->http_retries = 3;
	o->backoff_s = 1;
	o->use_schema = true;
}

int llm_open(struct llm_client *c, const struct llm_opts *o, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->o = *o;
	const char *b = o->base_url;
	if (strncmp(b, "http://", 7) && strncmp(b, "https://", 8)) {
		snprintf(err, errlen, "LLM URL '%s' must start with http:// or https://", b);
		return -1;
	}
	size_t len = strlen(b);
	while (len > 0 && b[len - 1] == '/')
		len--;
	int has_v1 = len >= 3 && !strncmp(b + len - 3, "/v1", 3);
	if (len + 32 > sizeof c->url) {
		snprintf(err, errlen, "LLM URL is too long");
		return -1;
	}
	snprintf(c->url, sizeof c->url, "%.*s%s/chat/completions", (int)len, b, has_v1 ? "" : "/v1");
	static int global_done;
	if (!global_done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		global_done = 1;
	}
	c->curl = curl_easy_init();
	if (!c->curl) {
		snprintf(err, errlen, "cannot start libcurl");
		return -1;
	}
	return 0;
}

void llm_close(struct llm_client *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
}

struct buf {
	char *data;
	size_t len;
	int truncated;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *user)
{
	struct buf *b = user;
	size_t n = size * nmemb;
	if (b->len + n > LLM_MAX_ANSWER) {
		b->truncated = 1;
		return 0; /* aborts the transfer */
	}
	b->data = xrealloc(b->data, b->len + n + 1);
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Appends one line to <transcripts>/llm.jsonl with a single write (O_APPEND). */
static void transcript(struct llm_client *c, const cJSON *request, long status, const char *answer,
		       const char *error, double seconds)
{
	if (!c->o.transcripts)
		return;
	char path[1024];
	snprintf(path, sizeof path, "%s/llm.jsonl", c->o.transcripts);
	cJSON *t = cJSON_CreateObject();
	cJSON_AddNumberToObject(t, "time", (double)time(NULL));
	cJSON_AddNumberToObject(t, "request_no", c->requests);
	cJSON_AddStringToObject(t, "url", c->url);
	cJSON_AddItemToObject(t, "request", cJSON_Duplicate(request, 1));
	cJSON_AddNumberToObject(t, "http_status", (double)status);
	cJSON_AddNumberToObject(t, "seconds", seconds);
	if (answer) {
		cJSON *parsed = cJSON_Parse(answer);
		if (parsed)
			cJSON_AddItemToObject(t, "answer", parsed);
		else
			cJSON_AddStringToObject(t, "answer_text", answer);
	}
	if (error)
		cJSON_AddStringToObject(t, "error", error);
	safe_tree(t);
	char *line = cJSON_PrintUnformatted(t);
	cJSON_Delete(t);
	size_t len = strlen(line);
	line = xrealloc(line, len + 2);
	line[len++] = '\n';
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0 || write(fd, line, len) != (ssize_t)len)
		log_error("cannot append to %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(line);
}

static cJSON *build_request(const struct llm_client *c, const cJSON *messages, const cJSON *schema,
			    bool with_schema)
{
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "model", c->o.model);
	cJSON_AddItemToObject(req, "messages", cJSON_Duplicate(messages, 1));
	cJSON_AddNumberToObject(req, "temperature", c->o.temperature);
	cJSON_AddNumberToObject(req, "min_p", c->o.min_p);
	cJSON_AddBoolToObject(req, "stream", 0);
	if (with_schema && schema) {
		cJSON *rf = cJSON_AddObjectToObject(req, "response_format");
		cJSON_AddStringToObject(rf, "type", "json_schema");
		cJSON *js = cJSON_AddObjectToObject(rf, "json_schema");
		cJSON_AddStringToObject(js, "name", "answer");
		cJSON_AddItemToObject(js, "schema", cJSON_Duplicate(schema, 1));
	}
	return req;
}

struct reply {
	long status;      /* HTTP status, 0 for a transport error */
	long retry_after; /* seconds the server asked to wait (Retry-After), 0 when it did not */
	struct buf body;
};

/* One POST. Sets r->status (0 for a transport error, with the reason in err). */
static void post(struct llm_client *c, const char *body, struct reply *r, char *err, size_t errlen)
{
	CURL *h = c->curl;
	curl_easy_reset(h);
	struct curl_slist *hdr = NULL;
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Expect:");
	const char *key = api_key();
	char auth[1100];
	if (key) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
		hdr = curl_slist_append(hdr, auth);
		memset(auth, 0, sizeof auth);
	}
	curl_easy_setopt(h, CURLOPT_URL, c->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(c->o.timeout_s * 1000));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->o.timeout_s * 1000));
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "lmnas-gen-arch/1");
	CURLcode rc = curl_easy_perform(h);
	curl_slist_free_all(hdr);
	r->status = 0;
	r->retry_after = 0;
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", r->body.truncated ? "answer too large" : curl_easy_strerror(rc));
		return;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_off_t wait = 0; /* both forms, seconds and HTTP-date; 0 when absent or past */
	if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &wait) == CURLE_OK && wait > 0)
		r->retry_after = wait > 86400 * 365 ? 86400 * 365 : (long)wait;
}

/* choices[0].message.content of a chat completion, made safe (a null content is an empty
 * answer); its finish_reason goes to c->finish_reason. */
static char *answer_content(struct llm_client *c, const char *body, char *err, size_t errlen)
{
	c->finish_reason[0] = '\0';
	cJSON *doc = cJSON_Parse(body);
	if (!doc) {
		snprintf(err, errlen, "the server's answer is not JSON");
		return NULL;
	}
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(doc, "choices");
	const cJSON *first = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(first, "message");
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
	const cJSON *finish = cJSON_GetObjectItemCaseSensitive(first, "finish_reason");
	if (cJSON_IsString(finish))
		snprintf(c->finish_reason, sizeof c->finish_reason, "%s", finish->valuestring);
	char *out = NULL;
	if (cJSON_IsString(content))
		out = safe_text(content->valuestring);
	else if (cJSON_IsNull(content))
		out = xstrdup("");
	else
		snprintf(err, errlen, "the server's answer has no choices[0].message.content");
	cJSON_Delete(doc);
	return out;
}

static void sleep_seconds(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* The message for a failed request: the transport error already in why, or the HTTP status
 * with the start of the server's answer. */
static void failure_text(const struct llm_client *c, const struct reply *r, char *why, size_t n)
{
	if (r->status == 0)
		return;
	char snippet[SNIPPET + 1] = "";
	if (r->body.data)
		body_snippet(r->body.data, snippet, sizeof snippet);
	snprintf(why, n, "HTTP %ld from %s%s%s%s", r->status, c->url, snippet[0] ? ": " : "", snippet,
		 r->status == 401 || r->status == 403 ? " (the key was refused: see LMNAS_API_KEY)"
						      : "");
}

int llm_chat(struct llm_client *c, const cJSON *messages, const cJSON *schema, char **content,
	     char *err, size_t errlen)
{
	*content = NULL;
	double wait = c->o.backoff_s;
	for (int attempt = 0; attempt <= c->o.http_retries; attempt++) {
		bool with_schema = c->o.use_schema && schema && !c->schema_refused;
		cJSON *req = build_request(c, messages, schema, with_schema);
		char *body = cJSON_PrintUnformatted(req);
		struct reply r = { 0 };
		char why[1400] = "";
		c->requests++;
		double t0 = now_seconds();
		post(c, body, &r, why, sizeof why);
		double secs = now_seconds() - t0;
		free(body);
		if (r.status == 200) {
			*content = answer_content(c, r.body.data ? r.body.data : "", why, sizeof why);
			transcript(c, req, r.status, r.body.data, *content ? NULL : why, secs);
			cJSON_Delete(req);
			free(r.body.data);
			if (*content)
				return 0;
			snprintf(err, errlen, "%s", why);
			return -1;
		}
		failure_text(c, &r, why, sizeof why);
		safe_buf(why, sizeof why);
		transcript(c, req, r.status, r.body.data, why, secs);
		cJSON_Delete(req);
		free(r.body.data);
		if (r.status == 400 && with_schema) {
			log_info("the server refused response_format (HTTP 400); asking without a schema");
			c->schema_refused = true;
			attempt--; /* the fallback is not a retry */
			continue;
		}
		bool retryable = r.status == 0 || r.status == 408 || r.status == 429 || r.status >= 500;
		snprintf(err, errlen, "%s", why);
		if (!retryable || attempt == c->o.http_retries)
			return -1;
		double pause = wait;
		const char *reason = "";
		if ((r.status == 429 || r.status == 503) && r.retry_after > 0) {
			if (r.retry_after > c->o.timeout_s) {
				snprintf(err, errlen, "%s; the server asks to wait %ld s (Retry-After), "
						      "more than the %g s timeout", why, r.retry_after,
					 c->o.timeout_s);
				return -1;
			}
			pause = (double)r.retry_after;
			reason = " as the server asked (Retry-After)";
		}
		log_info("%s; retrying in %.1f s%s (%d of %d)", why, pause, reason, attempt + 1,
			 c->o.http_retries);
		sleep_seconds(pause);
		wait *= 2;
	}
	return -1;
}
