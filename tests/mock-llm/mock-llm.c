/* mock-llm — a tiny OpenAI-compatible chat server on 127.0.0.1 for the tests, with scripted
 * answers (one JSON object per line of the script, used in order, one per request):
 *
 *   {"content": "..."}                      200, a chat completion whose message is that text
 *   {"status": 500}                         that status with a small JSON error body
 *   {"delay_ms": 3000, "content": "..."}    answers after a delay (to trip client timeouts)
 *   {"raw": "..."}                          200 with that body as is
 *
 * and these extras, with any of the above:
 *   "finish_reason": "length"     the completion's finish_reason (default "stop")
 *   "echo_auth": true             the request's Authorization header echoed: in the error body,
 *                                 or appended to the content ("(you sent: ...)")
 *   "retry_after": "2"            a Retry-After header with that value
 *   "retry_after_date_in": N      a Retry-After header holding the HTTP date N seconds from now
 *   "bad_utf8": true              ill-formed UTF-8 bytes appended to the content
 *
 * When the script is used up every request gets 503. Each request body is appended as one line
 * to --log; with --headers-log, each request's Authorization header (or "none") to that file.
 * The server exits after --lifetime seconds (default 60) or --max-requests requests.
 *
 *   mock-llm --script FILE --port-file FILE --log FILE [--lifetime S] [--max-requests N]
 */
#include <arpa/inet.h>
#include <cJSON.h>
#include <ctype.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQ (1 << 22)

static void die(const char *msg)
{
	fprintf(stderr, "mock-llm: %s\n", msg);
	exit(2);
}

static const char *headers_log;
static char last_auth[2048]; /* the last request's Authorization header, or "" */

/* Keeps the request's Authorization header and appends it (or "none") to --headers-log, so a test
 * can see that the key was sent. */
static void log_auth(const char *headers, const char *end)
{
	last_auth[0] = '\0';
	for (const char *p = headers; p && p < end;) {
		const char *eol = strstr(p, "\r\n");
		if (!strncasecmp(p, "Authorization:", 14) && eol)
			snprintf(last_auth, sizeof last_auth, "%.*s", (int)(eol - p), p);
		p = eol ? eol + 2 : NULL;
	}
	FILE *f = headers_log ? fopen(headers_log, "a") : NULL;
	if (!f)
		return;
	fprintf(f, "%s\n", last_auth[0] ? last_auth : "none");
	fclose(f);
}

static char *read_request(int fd, size_t *body_len, char **body)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);
	char *hdr_end = NULL;
	while (!hdr_end) {
		if (len == cap) {
			if (cap >= MAX_REQ)
				goto fail;
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n <= 0)
			goto fail;
		len += (size_t)n;
		buf[len] = '\0';
		hdr_end = strstr(buf, "\r\n\r\n");
	}
	size_t hlen = (size_t)(hdr_end - buf) + 4, clen = 0;
	for (char *p = buf; p < hdr_end; p = strstr(p, "\r\n") + 2) {
		if (!strncasecmp(p, "Content-Length:", 15))
			clen = strtoul(p + 15, NULL, 10);
		if (!strncasecmp(p, "Expect: 100-continue", 20)) {
			const char *cont = "HTTP/1.1 100 Continue\r\n\r\n";
			if (write(fd, cont, strlen(cont)) < 0)
				goto fail;
		}
	}
	log_auth(buf, hdr_end);
	if (clen > MAX_REQ)
		goto fail;
	if (hlen + clen > cap) {
		cap = hlen + clen;
		buf = realloc(buf, cap + 1);
	}
	while (len < hlen + clen) {
		ssize_t n = read(fd, buf + len, hlen + clen - len);
		if (n <= 0)
			goto fail;
		len += (size_t)n;
	}
	buf[hlen + clen] = '\0';
	*body = buf + hlen;
	*body_len = clen;
	return buf;
fail:
	free(buf);
	return NULL;
}

static void respond(int fd, int status, const char *body, const char *extra_headers)
{
	char head[512];
	snprintf(head, sizeof head,
		 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		 "%sConnection: close\r\n\r\n",
		 status, status == 200 ? "OK" : "Error", strlen(body), extra_headers);
	if (write(fd, head, strlen(head)) < 0 || write(fd, body, strlen(body)) < 0)
		fprintf(stderr, "mock-llm: the client went away\n");
}

static char *completion(const char *content, const char *finish_reason)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "id", "mock-1");
	cJSON_AddStringToObject(doc, "object", "chat.completion");
	cJSON_AddStringToObject(doc, "model", "mock");
	cJSON *choices = cJSON_AddArrayToObject(doc, "choices");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddNumberToObject(c, "index", 0);
	cJSON *m = cJSON_AddObjectToObject(c, "message");
	cJSON_AddStringToObject(m, "role", "assistant");
	cJSON_AddStringToObject(m, "content", content);
	cJSON_AddStringToObject(c, "finish_reason", finish_reason);
	cJSON_AddItemToArray(choices, c);
	char *s = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return s;
}

/* {"error": {"message": "scripted failure"}}, with the Authorization header when echoed. */
static char *error_body(const char *auth)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(doc, "error");
	cJSON_AddStringToObject(e, "message", auth ? "invalid key" : "scripted failure");
	if (auth)
		cJSON_AddStringToObject(e, "received", auth);
	char *s = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return s;
}

/* The scripted content with the extras: the echoed header, ill-formed UTF-8. */
static char *content_text(const cJSON *entry, const char *content, bool echo)
{
	size_t n = strlen(content) + strlen(last_auth) + 64;
	char *out = malloc(n);
	snprintf(out, n, "%s", content);
	if (echo)
		snprintf(out + strlen(out), n - strlen(out), " (you sent: %s)", last_auth);
	if (cJSON_IsTrue(cJSON_GetObjectItem(entry, "bad_utf8")))
		snprintf(out + strlen(out), n - strlen(out), " bad\xff\xfe bytes \xe2\x82 end\xc3");
	return out;
}

/* "Retry-After: ...\r\n" from "retry_after" (as is) or "retry_after_date_in" (an HTTP date). */
static void retry_after_header(const cJSON *entry, char *out, size_t n)
{
	const cJSON *ra = cJSON_GetObjectItem(entry, "retry_after");
	const cJSON *in = cJSON_GetObjectItem(entry, "retry_after_date_in");
	if (cJSON_IsString(ra)) {
		snprintf(out, n, "Retry-After: %s\r\n", ra->valuestring);
	} else if (cJSON_IsNumber(in)) {
		time_t t = time(NULL) + (time_t)in->valuedouble;
		struct tm tm;
		gmtime_r(&t, &tm);
		char date[64];
		strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		snprintf(out, n, "Retry-After: %s\r\n", date);
	}
}

int main(int argc, char **argv)
{
	const char *script = NULL, *port_file = NULL, *log_path = NULL;
	int lifetime = 60, max_requests = 1000;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--script"))
			script = argv[i + 1];
		else if (!strcmp(argv[i], "--port-file"))
			port_file = argv[i + 1];
		else if (!strcmp(argv[i], "--log"))
			log_path = argv[i + 1];
		else if (!strcmp(argv[i], "--lifetime"))
			lifetime = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--headers-log"))
			headers_log = argv[i + 1];
		else if (!strcmp(argv[i], "--max-requests"))
			max_requests = atoi(argv[i + 1]);
		else
			die("unknown option");
	}
	if (!script || !port_file || !log_path)
		die("usage: mock-llm --script FILE --port-file FILE --log FILE [--lifetime S]");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN);
	alarm((unsigned)lifetime);
	FILE *sf = fopen(script, "r");
	if (!sf)
		die("cannot open the script");

	int s = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in addr = { 0 };
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	if (bind(s, (struct sockaddr *)&addr, sizeof addr) || listen(s, 16))
		die("cannot listen on 127.0.0.1");
	socklen_t alen = sizeof addr;
	getsockname(s, (struct sockaddr *)&addr, &alen);
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
	FILE *pf = fopen(tmp, "w");
	if (!pf)
		die("cannot write the port file");
	fprintf(pf, "%d\n", ntohs(addr.sin_port));
	fclose(pf);
	rename(tmp, port_file);

	char line[1 << 16];
	for (int served = 0; served < max_requests; served++) {
		int fd = accept(s, NULL, NULL);
		if (fd < 0)
			continue;
		size_t blen = 0;
		char *body = NULL;
		char *req = read_request(fd, &blen, &body);
		if (!req) {
			close(fd);
			continue;
		}
		FILE *lf = fopen(log_path, "a");
		if (lf) {
			fwrite(body, 1, blen, lf);
			fputc('\n', lf);
			fclose(lf);
		}
		free(req);
		cJSON *entry = NULL;
		while (!entry && fgets(line, sizeof line, sf)) {
			entry = cJSON_Parse(line);
		}
		if (!entry) {
			respond(fd, 503, "{\"error\":\"script exhausted\"}", "");
			close(fd);
			continue;
		}
		const cJSON *st = cJSON_GetObjectItem(entry, "status");
		const cJSON *delay = cJSON_GetObjectItem(entry, "delay_ms");
		const cJSON *content = cJSON_GetObjectItem(entry, "content");
		const cJSON *raw = cJSON_GetObjectItem(entry, "raw");
		if (cJSON_IsNumber(delay) && fork() != 0) {
			/* A child answers late; the server goes on serving the retries. */
			cJSON_Delete(entry);
			close(fd);
			continue;
		}
		if (cJSON_IsNumber(delay)) {
			struct timespec ts = { delay->valueint / 1000, (delay->valueint % 1000) * 1000000L };
			nanosleep(&ts, NULL);
		}
		int status = cJSON_IsNumber(st) ? st->valueint : 200;
		char extra[256] = "";
		retry_after_header(entry, extra, sizeof extra);
		bool echo = cJSON_IsTrue(cJSON_GetObjectItem(entry, "echo_auth"));
		if (status != 200) {
			char *b = error_body(echo ? last_auth : NULL);
			respond(fd, status, b, extra);
			free(b);
		} else if (cJSON_IsString(raw)) {
			respond(fd, 200, raw->valuestring, extra);
		} else {
			char *text = content_text(entry, cJSON_IsString(content) ? content->valuestring : "",
						  echo);
			const cJSON *fr = cJSON_GetObjectItem(entry, "finish_reason");
			char *c = completion(text, cJSON_IsString(fr) ? fr->valuestring : "stop");
			respond(fd, 200, c, extra);
			free(c);
			free(text);
		}
		close(fd);
		if (cJSON_IsNumber(delay))
			_exit(0);
		cJSON_Delete(entry);
	}
	return 0;
}
