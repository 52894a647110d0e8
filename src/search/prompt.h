/* prompt.h — the generator's prompt, after the paper's: role, task, objective, constraints from
 * the command line, the search space, and the feedback of the search so far. The wording lives in
 * templates (data/prompts/{system,generate,retry,explain}.txt) with {{name}} placeholders. */
#ifndef LMNAS_PROMPT_H
#define LMNAS_PROMPT_H
#include <stddef.h>
#include <cJSON.h>

struct prompt_ctx {
	const char *dataset;          /* "Fashion-MNIST" */
	int res_h, res_w, in_ch, classes;
	double macs_min, macs_max;    /* 0 = none */
	double sram_max, flash_max;   /* bytes, 0 = none */
	const char *space_text;       /* the search-space file as text */
	const cJSON *feedback;        /* feedback(1) object, or NULL */
};

/* Reads <dir>/<name>.txt. Returns NULL with a reason in err. */
char *prompt_template(const char *dir, const char *name, char *err, size_t errlen);

/* Replaces every {{key}} of tmpl by its value (unknown placeholders stay). Returns a new string. */
char *prompt_render(const char *tmpl, const char *const *keys, const char *const *vals, int n);

/* The constraint lines ("- MACs at most 30.0M" ...). */
char *prompt_constraints(const struct prompt_ctx *c);

/* The feedback as text for the model: front (metrics and compact archs), trend, suggestions,
 * recent rejections with their messages. */
char *prompt_feedback_text(const cJSON *fb);

/* The first user message: the generate template filled from ctx. */
char *prompt_generate(const char *tmpl, const struct prompt_ctx *c);
#endif
