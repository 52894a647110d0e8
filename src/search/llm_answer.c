/* llm_answer.c — the JSON object in a model's answer (llm_extract_json, llm.h).
 *
 * Local models wrap the object in prose, code fences and reasoning, and make the slips of
 * hand-written JSON. The answer is read in three steps, each linear in its length:
 *  1. visible(): the text outside reasoning. <think>...</think> (and <thinking>, <reasoning>,
 *     [THINK]...[/THINK]) is removed; a closing tag before any opening one ends reasoning that the
 *     chat template opened, so everything before it goes; an opening tag never closed hides the
 *     rest (the answer was cut off while reasoning).
 *  2. last_objects(): one scan that tracks brace depth and, inside braces, strings, escapes and
 *     comments, and keeps the spans of the last complete top-level {...} objects.
 *  3. parse_last(): from the last object backwards, each is made strict JSON (to_strict_json:
 *     comments removed, trailing commas dropped, 'single-quoted' strings and unquoted keys
 *     double-quoted) and parsed; the first that parses is the answer. An object still open at the
 *     end (a cut-off answer) is an error: an earlier draft is not taken in its place. */
#include "search/llm.h"
#include "core/utf8.h"
#include "core/util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const tags[][2] = {
	{ "<think>", "</think>" },
	{ "<thinking>", "</thinking>" },
	{ "<reasoning>", "</reasoning>" },
	{ "[THINK]", "[/THINK]" },
};
#define N_TAGS (int)(sizeof tags / sizeof tags[0])

/* Index of the pair whose opening (side 0) or closing (side 1) tag starts at s, or -1; its length
 * in *len. Tags are matched without regard to case. */
static int tag_at(const char *s, int side, size_t *len)
{
	for (int k = 0; k < N_TAGS; k++) {
		size_t n = strlen(tags[k][side]);
		if (!strncasecmp(s, tags[k][side], n)) {
			*len = n;
			return k;
		}
	}
	return -1;
}

/* The text outside reasoning (to free); *unclosed when an opening tag is never closed. */
static char *visible(const char *text, bool *unclosed)
{
	size_t n = strlen(text), o = 0, start = 0, len = 0;
	char *out = xmalloc(n + 2);
	int inside = -1; /* the pair whose reasoning we are in */
	bool seen_tag = false;
	for (size_t i = 0; i < n; i++) {
		if (text[i] != '<' && text[i] != '[')
			continue;
		if (inside >= 0) {
			if (tag_at(text + i, 1, &len) == inside) {
				inside = -1;
				start = i + len;
				i += len - 1;
			}
			continue;
		}
		int k = tag_at(text + i, 0, &len);
		if (k >= 0) {
			memcpy(out + o, text + start, i - start);
			o += i - start;
			out[o++] = '\n';
			inside = k;
		} else if (!seen_tag && tag_at(text + i, 1, &len) >= 0) {
			o = 0; /* the template opened the reasoning: all before this tag is reasoning */
			start = i + len;
		} else {
			continue;
		}
		seen_tag = true;
		i += len - 1;
	}
	*unclosed = inside >= 0;
	if (!*unclosed) {
		memcpy(out + o, text + start, n - start);
		o += n - start;
	}
	out[o] = '\0';
	return out;
}

/* The last complete top-level objects are kept, up to this many. */
#define KEEP 16

/* A // comment starts at s[i] (s[i + 1] readable); not the // of a URL ("http://") in prose. */
static bool line_comment_at(const char *s, size_t i)
{
	return s[i] == '/' && s[i + 1] == '/' && (i == 0 || s[i - 1] != ':');
}

struct spans {
	size_t start[KEEP], end[KEEP]; /* ring: object j is at j % KEEP */
	size_t count;                  /* complete objects seen */
	bool open_at_end;              /* the text ends inside an object */
};

static void last_objects(const char *v, struct spans *sp)
{
	enum { CODE, STRING, LINE_COMMENT, BLOCK_COMMENT } st = CODE;
	size_t depth = 0, start = 0;
	memset(sp, 0, sizeof *sp);
	for (size_t i = 0; v[i]; i++) {
		char c = v[i];
		if (depth == 0) { /* prose: only an opening brace counts */
			if (c == '{') {
				depth = 1;
				start = i;
				st = CODE;
			}
			continue;
		}
		if (st == STRING) {
			if (c == '\\' && v[i + 1])
				i++;
			else if (c == '"')
				st = CODE;
		} else if (st == LINE_COMMENT) {
			if (c == '\n')
				st = CODE;
		} else if (st == BLOCK_COMMENT) {
			if (c == '*' && v[i + 1] == '/') {
				st = CODE;
				i++;
			}
		} else if (c == '"') {
			st = STRING;
		} else if (line_comment_at(v, i) || (c == '/' && v[i + 1] == '*')) {
			st = v[i + 1] == '/' ? LINE_COMMENT : BLOCK_COMMENT;
			i++;
		} else if (c == '{') {
			depth++;
		} else if (c == '}' && --depth == 0) {
			sp->start[sp->count % KEEP] = start;
			sp->end[sp->count % KEEP] = i + 1;
			sp->count++;
		}
	}
	sp->open_at_end = depth > 0;
}

static bool ident_char(char c, bool first)
{
	return isalpha((unsigned char)c) || c == '_' || c == '$' || (!first && isdigit((unsigned char)c));
}

/* The last character of out[0..o) that is not white space (0 when none), at *at. */
static char last_token(const char *out, size_t o, size_t *at)
{
	while (o > 0 && isspace((unsigned char)out[o - 1]))
		o--;
	*at = o ? o - 1 : 0;
	return o ? out[o - 1] : 0;
}

/* Copies the "..." string that starts at s[i]; returns the index of its closing quote. */
static size_t copy_string(const char *s, size_t n, size_t i, char *out, size_t *o)
{
	out[(*o)++] = s[i];
	for (i++; i < n; i++) {
		out[(*o)++] = s[i];
		if (s[i] == '\\' && i + 1 < n)
			out[(*o)++] = s[++i];
		else if (s[i] == '"')
			break;
	}
	return i;
}

/* Writes the '...' string that starts at s[i] as a "..." string; returns the index of its
 * closing quote. */
static size_t requote_string(const char *s, size_t n, size_t i, char *out, size_t *o)
{
	out[(*o)++] = '"';
	for (i++; i < n && s[i] != '\''; i++) {
		if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\'') {
			out[(*o)++] = s[++i];
		} else if (s[i] == '\\' && i + 1 < n) {
			out[(*o)++] = s[i++];
			out[(*o)++] = s[i];
		} else {
			if (s[i] == '"')
				out[(*o)++] = '\\';
			out[(*o)++] = s[i];
		}
	}
	out[(*o)++] = '"';
	return i;
}

/* s[0..n) with the JSON5-ish slips of hand-written JSON made strict (to free). Strict JSON comes
 * out unchanged. Every source character gives at most two. */
static char *to_strict_json(const char *s, size_t n)
{
	char *out = xmalloc(2 * n + 3);
	size_t o = 0, at;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '"') {
			i = copy_string(s, n, i, out, &o);
		} else if (c == '\'') {
			i = requote_string(s, n, i, out, &o);
		} else if (i + 1 < n && line_comment_at(s, i)) {
			while (i + 1 < n && s[i + 1] != '\n')
				i++;
			out[o++] = ' ';
		} else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
			size_t j = i + 2;
			while (j + 1 < n && !(s[j] == '*' && s[j + 1] == '/'))
				j++;
			i = j + 1; /* the '/' that ends the comment */
			out[o++] = ' ';
		} else if (c == '}' || c == ']') {
			if (last_token(out, o, &at) == ',')
				out[at] = ' '; /* a trailing comma */
			out[o++] = c;
		} else if (ident_char(c, true) && (i == 0 || !ident_char(s[i - 1], false))) {
			size_t j = i, k;
			while (j < n && ident_char(s[j], false))
				j++;
			for (k = j; k < n && isspace((unsigned char)s[k]); k++)
				;
			char prev = last_token(out, o, &at);
			bool key = k < n && s[k] == ':' && (prev == '{' || prev == ',');
			if (key)
				out[o++] = '"';
			memcpy(out + o, s + i, j - i);
			o += j - i;
			if (key)
				out[o++] = '"';
			i = j - 1;
		} else {
			out[o++] = c;
		}
	}
	out[o] = '\0';
	return out;
}

/* "does not parse near '...'" with a short snippet from where cJSON stopped. */
static void parse_error(const char *json, const char *stop, char *err, size_t errlen)
{
	if (!stop || stop < json)
		stop = json;
	size_t n = strnlen(stop, 40);
	char *snippet = utf8_clean(stop, n);
	if (n)
		snprintf(err, errlen, "the JSON object in the answer does not parse near '%s'", snippet);
	else
		snprintf(err, errlen, "the JSON object in the answer does not parse: it ends too early");
	free(snippet);
}

static cJSON *parse_last(const char *v, const struct spans *sp, char *err, size_t errlen)
{
	size_t tries = sp->count < KEEP ? sp->count : KEEP;
	for (size_t j = 0; j < tries; j++) {
		size_t k = (sp->count - 1 - j) % KEEP;
		char *json = to_strict_json(v + sp->start[k], sp->end[k] - sp->start[k]);
		const char *stop = NULL;
		cJSON *doc = cJSON_ParseWithOpts(json, &stop, 1);
		if (cJSON_IsObject(doc)) {
			free(json);
			return doc;
		}
		cJSON_Delete(doc);
		if (j == 0)
			parse_error(json, stop, err, errlen);
		free(json);
	}
	return NULL;
}

cJSON *llm_extract_json(const char *text, char *err, size_t errlen)
{
	if (!text || !*text) {
		snprintf(err, errlen, "the answer is empty");
		return NULL;
	}
	bool unclosed;
	char *v = visible(text, &unclosed);
	struct spans sp;
	last_objects(v, &sp);
	cJSON *doc = NULL;
	if (sp.open_at_end)
		snprintf(err, errlen, "the answer's last JSON object is not finished (a { is never closed)");
	else if (sp.count == 0 && unclosed)
		snprintf(err, errlen, "the answer holds only reasoning (a <think> block is never closed)");
	else if (sp.count == 0)
		snprintf(err, errlen, "the answer holds no JSON object (expected one object such as "
				      "{\"input_channels\": 1, \"blocks\": [...]})");
	else
		doc = parse_last(v, &sp, err, errlen);
	free(v);
	return doc;
}
