/* emit.c — C code generation for an int8 model (see emit.h). */
#include "int8/emit.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cost/cost.h"
#include "int8/int8_dsp.h" /* lmq_dw_grouped, lmq_dwg_layout */
#include "core/util.h"

char *emit_sanitize(const char *name, char *out, size_t outlen)
{
	size_t j = 0;
	if (outlen < 3) {
		if (outlen)
			out[0] = 0;
		return out;
	}
	if (!isalpha((unsigned char)name[0]) && name[0] != '_') {
		out[j++] = 'm';
		out[j++] = '_';
	}
	for (size_t i = 0; name[i] && j + 1 < outlen; i++) {
		unsigned char c = (unsigned char)name[i];
		out[j++] = (char)(isalnum(c) && c < 128 ? tolower(c) : '_');
	}
	out[j] = 0;
	return out;
}

/* ---- the output folder, whole or not at all ---- */

/* Removes the staging folders "prefix.PID" (and "prefix.PID.old") of processes that are gone:
 * an emit-c killed while writing. */
static void remove_stale(const char *prefix)
{
	const char *slash = strrchr(prefix, '/');
	const char *base = slash ? slash + 1 : prefix;
	char parent[4096];
	snprintf(parent, sizeof parent, "%.*s", slash ? (int)(slash - prefix) + 1 : 1,
		 slash ? prefix : ".");
	DIR *d = opendir(parent);
	if (!d)
		return;
	size_t blen = strlen(base);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, base, blen) || e->d_name[blen] != '.')
			continue;
		char *end;
		long pid = strtol(e->d_name + blen + 1, &end, 10);
		if (pid > 0 && end != e->d_name + blen + 1 && (!*end || !strcmp(end, ".old")) &&
		    kill((pid_t)pid, 0) && errno == ESRCH) {
			char path[8192];
			snprintf(path, sizeof path, "%s%s%s", slash ? "" : "./",
				 slash ? parent : "", e->d_name);
			emit_remove_tree(path);
		}
	}
	closedir(d);
}

int emit_stage_dir(const char *dir, char *tmp, size_t n, char *err, size_t errlen)
{
	size_t len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	if ((size_t)snprintf(tmp, n, "%.*s.tmp", (int)len, dir) >= n - 24)
		return fail(err, errlen, "%s: path too long", dir);
	remove_stale(tmp);
	snprintf(tmp + strlen(tmp), 24, ".%ld", (long)getpid());
	emit_remove_tree(tmp); /* left by an earlier process with our pid */
	if (mkdir(tmp, 0777))
		return fail(err, errlen, "%s: %s", tmp, strerror(errno));
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

void emit_remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int emit_commit_dir(const char *tmp, const char *dir, char *err, size_t errlen)
{
	if (rename(tmp, dir) == 0)
		return 0;
	if (errno != EEXIST && errno != ENOTEMPTY)
		return fail(err, errlen, "%s: %s", dir, strerror(errno));
	/* dir exists: swap the two atomically, then remove the old one (now at tmp) */
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) == 0) {
		emit_remove_tree(tmp);
		return 0;
	}
	/* a file system without the exchange: move the old folder aside first */
	char old[4096];
	snprintf(old, sizeof old, "%s.old", tmp);
	if (rename(dir, old))
		return fail(err, errlen, "%s: %s", dir, strerror(errno));
	if (rename(tmp, dir)) {
		int saved = errno;
		rename(old, dir);
		return fail(err, errlen, "%s: %s", dir, strerror(saved));
	}
	emit_remove_tree(old);
	return 0;
}

/* ---- text helpers ---- */

/* One row of a nested initialiser: "{ ... },". */
static void put_row(FILE *f, const int8_t *v, size_t n)
{
	fputs("{", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%d,", i % 24 ? "" : "\n\t", v[i]);
	fputs("\n},\n", f);
}

static void put_i8(FILE *f, const char *decl, const int8_t *v, size_t n)
{
	fprintf(f, "%s[%zu] LMNAS_PARAM = {", decl, n ? n : 1);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%d,", i % 24 ? "" : "\n\t", v[i]);
	if (!n)
		fputs("0", f);
	fputs("\n};\n", f);
}

static void put_i32(FILE *f, const char *decl, const int32_t *v, size_t n)
{
	fprintf(f, "%s[%zu] LMNAS_PARAM = {", decl, n);
	for (size_t i = 0; i < n; i++) {
		if (v[i] == INT32_MIN)
			fprintf(f, "%s(-2147483647 - 1),", i % 8 ? "" : "\n\t");
		else
			fprintf(f, "%s%ld,", i % 8 ? "" : "\n\t", (long)v[i]);
	}
	fputs("\n};\n", f);
}

static void put_i16(FILE *f, const char *decl, const int16_t *v, size_t n)
{
	fprintf(f, "%s[%zu] LMNAS_PARAM = {", decl, n);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%d,", i % 12 ? "" : "\n\t", v[i]);
	fputs("\n};\n", f);
}

static void put_u8(FILE *f, const char *decl, const uint8_t *v, size_t n)
{
	fprintf(f, "%s[%zu] LMNAS_PARAM = {", decl, n);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%u,", i % 24 ? "" : "\n\t", v[i]);
	fputs("\n};\n", f);
}

static int save(const char *dir, const char *file, char *buf, size_t len, char *err,
		size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	if (write_file_atomic(path, buf, len)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- NAME.h ---- */

/* "{a, b, c}" of n floats. */
static void put_floats(FILE *f, const float *v, int n)
{
	fputs("{", f);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%.9gf", i ? ", " : "", (double)v[i]);
	fputs("}", f);
}

/* The preparation of a camera image and the class names, as comments and macros. */
static void write_input_macros(FILE *f, const struct qmodel *m, const struct emit_input *in,
			       const char *up)
{
	if (in && in->norm_channels > 0) {
		fprintf(f, "\n/* Normalisation (%s):\n * for each of the %d channel(s) of the camera image,"
			" x = (pixel / 255 - MEAN[c]) / STD[c];\n * %s */\n", in->norm_from,
			in->norm_channels, in->norm_channels == m->net.in_ch ? "one channel each." :
			in->norm_channels == 1 ? "the grey x is repeated in every input channel." :
			"the input is the luma 0.299 R + 0.587 G + 0.114 B of the normalised channels.");
		fprintf(f, "#define %s_HAS_NORMALISATION 1\n#define %s_NORM_CHANNELS %d\n", up, up,
			in->norm_channels);
		fprintf(f, "#define %s_INPUT_MEAN ", up);
		put_floats(f, in->mean, in->norm_channels);
		fprintf(f, "\n#define %s_INPUT_STD ", up);
		put_floats(f, in->std, in->norm_channels);
		fputs("\n", f);
	} else {
		fprintf(f, "\n/* Normalisation unknown: the input is the image as normalised in the data"
			" quantize was given\n * (a safetensors file of float images is used as is). */\n"
			"#define %s_HAS_NORMALISATION 0\n", up);
	}
	if (in && in->class_names) {
		fprintf(f, "#define %s_HAS_CLASS_NAMES 1\n#define %s_CLASS_NAMES {", up, up);
		for (int c = 0; c < m->net.classes; c++)
			fprintf(f, "%s\"%s\"", c ? ", " : "", in->class_names[c]);
		fputs("}\n", f);
	} else {
		fprintf(f, "#define %s_HAS_CLASS_NAMES 0\n", up);
	}
}

static void write_header(FILE *f, const struct qmodel *m, const struct emit_opts *o,
			 const char *name, const char *up)
{
	const struct qtensor *ti = &m->t[m->input], *tl = &m->t[m->logits];
	fprintf(f,
		"/* %s.h — int8 neural network generated by lmnas emit-c.\n"
		" *\n"
		" * Entry points: both run the network once and return the predicted class (index of the\n"
		" * largest logit), or -1 when the arena is missing or too small.\n"
		" *   %s_run(input, logits)  on the static arena (not reentrant: one at a time)\n"
		" *   %s_run_with_arena(arena, arena_bytes, input, logits)  on the caller's arena of at\n"
		" *       least %s_ARENA_BYTES bytes (one arena per concurrent inference)\n"
		" *   input:  int8 [%d][%d][%d] (H, W, C; NHWC), the normalised image x quantised as\n"
		" *           q = clamp(round(x / %s_INPUT_SCALE) + %s_INPUT_ZERO_POINT, -128, 127)\n"
		" *   logits: int8 [%d], real value %s_OUTPUT_SCALE * (q - %s_OUTPUT_ZERO_POINT);\n"
		" *           may be NULL when only the class is wanted.\n"
		" * Memory: an arena of %s_ARENA_BYTES bytes (no malloc) and %s_STACK_BYTES of\n"
		" * stack reserved (the budget check-cost counts); weights are const (flash). No I/O, no\n"
		" * floating point. Options when compiling %s.c (-D...): LMNAS_ARENA_SECTION=\".name\" and\n"
		" * LMNAS_WEIGHT_SECTION=\".name\" place the static arena / the weights in a linker\n"
		" * section; LMNAS_ARENA_ALIGN (default 8) and LMNAS_WEIGHT_ALIGN (default 4) align them;\n"
		" * LMNAS_NO_STATIC_ARENA leaves out the static arena and %s_run. See README.md. */\n"
		"#ifndef %s_H\n#define %s_H\n#include <stddef.h>\n#include <stdint.h>\n\n"
		"#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
		name, name, name, up, m->net.in_h, m->net.in_w, m->net.in_ch, up, up, m->net.classes,
		up, up, up, up, name, name, up, up);
	fprintf(f, "#define %s_INPUT_H %d\n#define %s_INPUT_W %d\n#define %s_INPUT_C %d\n", up,
		m->net.in_h, up, m->net.in_w, up, m->net.in_ch);
	fprintf(f, "#define %s_INPUT_SIZE %zu\n#define %s_CLASSES %d\n", up, ti->size, up,
		m->net.classes);
	fprintf(f, "#define %s_INPUT_SCALE %.9gf\n#define %s_INPUT_ZERO_POINT %ld\n", up,
		(double)ti->scale, up, (long)ti->zp);
	fprintf(f, "#define %s_OUTPUT_SCALE %.9gf\n#define %s_OUTPUT_ZERO_POINT %ld\n", up,
		(double)tl->scale, up, (long)tl->zp);
	fprintf(f, "#define %s_ARENA_BYTES %zu\n#define %s_STACK_BYTES %zu\n", up, m->arena_bytes,
		up, o->stack_bytes);
	write_input_macros(f, m, o->input, up);
	fprintf(f, "\nint %s_run(const int8_t *input, int8_t *logits);\n"
		"int %s_run_with_arena(int8_t *arena, size_t arena_bytes, const int8_t *input,\n"
		"\t\tint8_t *logits);\n\n#ifdef __cplusplus\n}\n#endif\n#endif\n", name, name);
}

/* ---- NAME.c ---- */

/* "lutI" of a conv applying a table, "0" otherwise. */
static const char *lut_name(const struct qop *o, int i)
{
	static char name[32];
	snprintf(name, sizeof name, "lut%d", i);
	return o->lut ? name : "0";
}

static void write_lut(FILE *f, const struct qop *o, int i)
{
	char decl[64];
	if (!o->lut)
		return;
	snprintf(decl, sizeof decl, "static const int8_t lut%d", i);
	put_i8(f, decl, o->lut, 256);
}

/* A ternary conv: packed weights, 16-bit biases and multipliers, struct lmq_rq3. */
static void write_ternary_params(FILE *f, const struct qop *o, int i, const struct qmodel *m)
{
	char decl[64];
	size_t nw = (size_t)o->cout * o->cin * o->k * o->k;
	snprintf(decl, sizeof decl, "static const uint8_t w%d", i);
	put_u8(f, decl, o->w3, (nw + 4) / 5);
	snprintf(decl, sizeof decl, "static const int16_t b%d", i);
	put_i16(f, decl, o->bias16, o->cout);
	snprintf(decl, sizeof decl, "static const int16_t m%d", i);
	put_i16(f, decl, o->mult16, o->cout);
	snprintf(decl, sizeof decl, "static const int8_t s%d", i);
	put_i8(f, decl, o->shift, o->cout);
	write_lut(f, o, i);
	fprintf(f, "static const struct lmq_rq3 rq%d = {b%d, m%d, s%d, %s, %d, %ld, %ld, %ld};\n",
		i, i, i, i, lut_name(o, i), o->bshift,
		(long)quant_requant_zp(m, o), (long)o->lo, (long)o->hi);
}

/* The kernel an int8 op calls: int8_dsp.h's macro (DSP kernels on cores that have them, plain
 * elsewhere), or in a ternary model the plain kernel: its few int8 ops (the first conv, the
 * classifier, SE scales, adds) are a small part of its time, and the DSP kernels would add about
 * 7 kB to its code (cost.c, kernel_sizes, counts the same). */
static const char *int8_kernel(const struct qmodel *m, const char *plain, const char *dsp_macro)
{
	for (int i = 0; i < m->nops; i++)
		if (m->ops[i].w3)
			return plain;
	return dsp_macro;
}

/* Whether depthwise op i runs int8_dsp.h's grouped kernel (LMQ_DWG; its weights in
 * lmq_dwg_layout when the DSP kernels are in): int8, a small output (lmq_dw_grouped), not
 * streamed (the row kernels read lmq_dw's layout), in a model on the DSP kernels. */
static int dw_grouped(const struct qmodel *m, const struct qop *o, int i)
{
	return o->kind == QOP_DW && !o->w3 && !(m->st.stream_of && m->st.stream_of[i] >= 0) &&
	       lmq_dw_grouped(o->oh, o->ow) && int8_kernel(m, "plain", "dsp")[0] == 'd';
}

/* The weights of depthwise op i: both layouts, lmq_dwg_layout's where LMQ_DW_GROUPED. */
static void put_dw_grouped(FILE *f, const char *decl, const struct qop *o, size_t nw)
{
	int8_t *g = xmalloc(nw);
	lmq_dwg_layout(o->w, o->cout, o->k, g);
	fputs("#if LMQ_DW_GROUPED /* int8_dsp.h's lmq_dwg_dsp: channels by four, tap-major */\n", f);
	put_i8(f, decl, g, nw);
	fputs("#else\n", f);
	put_i8(f, decl, o->w, nw);
	fputs("#endif\n", f);
	free(g);
}

static void write_params(FILE *f, const struct qop *o, int i, const struct qmodel *m)
{
	char decl[64];
	if (o->kind == QOP_PW || o->kind == QOP_DW) {
		size_t nw = (size_t)o->cout * o->cin * o->k * o->k;
		fprintf(f, "\n/* %s: %s %dx%d, %d -> %d channels */\n", o->name,
			o->kind == QOP_DW ? "depthwise" : "pointwise", o->k, o->k,
			o->kind == QOP_DW ? o->cout : o->cin, o->cout);
		if (o->w3) {
			write_ternary_params(f, o, i, m);
			return;
		}
		snprintf(decl, sizeof decl, "static const int8_t w%d", i);
		if (dw_grouped(m, o, i))
			put_dw_grouped(f, decl, o, nw);
		else
			put_i8(f, decl, o->w, nw);
		snprintf(decl, sizeof decl, "static const int32_t b%d", i);
		put_i32(f, decl, o->bias, o->cout);
		snprintf(decl, sizeof decl, "static const int32_t m%d", i);
		put_i32(f, decl, o->mult, o->cout);
		snprintf(decl, sizeof decl, "static const int8_t s%d", i);
		put_i8(f, decl, o->shift, o->cout);
		write_lut(f, o, i);
		fprintf(f, "static const struct lmq_rq rq%d = {b%d, m%d, s%d, %ld, %ld, %ld, %s};\n",
			i, i, i, i, (long)quant_requant_zp(m, o), (long)o->lo,
			(long)o->hi, lut_name(o, i));
	} else if (o->kind == QOP_ADD) {
		fprintf(f, "\n/* %s */\n", o->name);
		snprintf(decl, sizeof decl, "static const int32_t em%d", i);
		put_i32(f, decl, o->emult, 3);
		snprintf(decl, sizeof decl, "static const int8_t es%d", i);
		put_i8(f, decl, o->eshift, 3);
	}
}

static void write_call(FILE *f, const struct qop *o, int i, const struct qmodel *m)
{
	const struct qtensor *ti = &m->t[o->in], *to = &m->t[o->out];
	fprintf(f, "\t/* %d: %s */\n", i, o->name);
	switch (o->kind) {
	case QOP_PW:
		fprintf(f, "\t%s(A + %zu, %d, %d, %ld, w%d, %d, &rq%d, A + %zu);\n",
			o->w3 ? "lmq_pw_t3" : int8_kernel(m, "lmq_pw", "LMQ_PW"), ti->offset, o->np, o->cin, (long)ti->zp, i,
			o->cout, i, to->offset);
		break;
	case QOP_DW:
		fprintf(f, "\t%s(A + %zu, %d, %d, %d, %ld, w%d, %d, %d, %d, %d, %d, &rq%d, "
			"A + %zu, ", o->w3 ? "lmq_dw_t3" : dw_grouped(m, o, i) ? "LMQ_DWG" : int8_kernel(m, "lmq_dw", "LMQ_DW"), ti->offset, o->h, o->wd, o->cout, (long)ti->zp, i, o->k,
			o->stride, o->pad, o->oh, o->ow, i, to->offset);
		if (o->scratch >= 0)
			fprintf(f, "A + %zu);\n", m->t[o->scratch].offset);
		else
			fputs("0);\n", f);
		break;
	case QOP_GAP:
		fprintf(f, "\tlmq_gap(A + %zu, %d, %d, A + %zu);\n", ti->offset, o->np, o->cout,
			to->offset);
		break;
	case QOP_SCALE:
		fprintf(f, "\t%s(A + %zu, %d, %d, %ld, A + %zu, %ld, %ld, %d, %ld, A + %zu);\n",
			int8_kernel(m, "lmq_scale", "LMQ_SCALE"), ti->offset, o->np, o->cout, (long)ti->zp, m->t[o->in2].offset,
			(long)m->t[o->in2].zp, (long)o->emult[0], o->eshift[0], (long)to->zp,
			to->offset);
		break;
	case QOP_ADD:
		fprintf(f, "\t%s(A + %zu, %ld, A + %zu, %ld, %d, em%d, es%d, %ld, A + %zu);\n",
			int8_kernel(m, "lmq_add", "LMQ_ADD"), ti->offset, (long)ti->zp, m->t[o->in2].offset, (long)m->t[o->in2].zp, o->np,
			i, i, (long)to->zp, to->offset);
		break;
	}
	fprintf(f, "\tLMNAS_OP_DONE(%d);\n", i);
}

/* "lmq_row(A + offset, r_, ring, row bytes)": row r_ of tensor t in its ring (cost/stream.h). */
static void put_row_of(FILE *f, const struct qmodel *m, int t)
{
	const struct qtensor *x = &m->t[t];
	fprintf(f, "lmq_row(A + %zu, r_, %d, %zu)", x->offset, x->ring, x->size / x->rows);
}

/* The call making output row r_ of streamed op i (patch.c's step, as C). */
static void write_row_call(FILE *f, const struct qop *o, int i, const struct qmodel *m)
{
	const struct qtensor *ti = &m->t[o->in], *to = &m->t[o->out];
	int np = o->np / to->rows;
	fprintf(f, "\t\t\tcase %d: /* %s */\n\t\t\t\t", i - m->st.first[m->st.stream_of[i]],
		o->name);
	switch (o->kind) {
	case QOP_PW:
		fprintf(f, "%s(", o->w3 ? "lmq_pw_t3" : int8_kernel(m, "lmq_pw", "LMQ_PW"));
		put_row_of(f, m, o->in);
		fprintf(f, ", %d, %d, %ld, w%d, %d, &rq%d, ", np, o->cin, (long)ti->zp, i, o->cout, i);
		break;
	case QOP_DW:
		fprintf(f, "lmq_dw_row%s(A + %zu, %d, %d, %d, %d, %ld, w%d, %d, %d, %d, r_, %d, &rq%d, ",
			o->w3 ? "_t3" : "", ti->offset, o->h, ti->ring, o->wd, o->cout, (long)ti->zp, i, o->k, o->stride,
			o->pad, o->ow, i);
		break;
	default: /* QOP_ADD: the only other streamed op */
		fprintf(f, "%s(", int8_kernel(m, "lmq_add", "LMQ_ADD"));
		put_row_of(f, m, o->in);
		fprintf(f, ", %ld, ", (long)ti->zp);
		put_row_of(f, m, o->in2);
		fprintf(f, ", %ld, %d, em%d, es%d, %ld, ", (long)m->t[o->in2].zp, np, i, i,
			(long)to->zp);
		break;
	}
	put_row_of(f, m, o->out);
	fputs(");\n\t\t\t\tbreak;\n", f);
}

/* Stream sid: its steps, each one output row of one op (the table steps<sid> numbers them
 * from the stream's first op), in the order of cost/stream.c's schedule. */
static void write_stream(FILE *f, const struct qmodel *m, int sid)
{
	const struct streams *s = &m->st;
	int a = s->first[sid], b = s->last[sid];
	int n = s->step_begin[sid + 1] - s->step_begin[sid];
	fprintf(f, "\t/* %d..%d: row-streamed, %d steps of one output row each */\n\t{\n"
		"\t\tint32_t s_, r_, row_[%d] = {0};\n\t\tfor (s_ = 0; s_ < %d; s_++) {\n"
		"\t\t\tr_ = row_[steps%d[s_]]++;\n\t\t\tswitch (steps%d[s_]) {\n",
		a, b, n, b - a + 1, n, sid, sid);
	for (int i = a; i <= b; i++)
		write_row_call(f, &m->ops[i], i, m);
	fputs("\t\t\t}\n\t\t}\n\t}\n", f);
}

/* The step tables of the streams. */
static void write_steps(FILE *f, const struct qmodel *m)
{
	const struct streams *s = &m->st;
	for (int sid = 0; sid < s->nstreams; sid++) {
		int n = s->step_begin[sid + 1] - s->step_begin[sid];
		fprintf(f, "\n/* stream %d: the op (from %s) of each row step */\n"
			"static const uint8_t steps%d[%d] LMNAS_PARAM = {", sid,
			m->ops[s->first[sid]].name, sid, n);
		for (int k = 0; k < n; k++)
			fprintf(f, "%s%d,", k % 32 ? "" : "\n\t",
				s->steps[s->step_begin[sid] + k] - s->first[sid]);
		fputs("\n};\n", f);
	}
}

/* The build options of NAME.c (documented in NAME.h): alignment and linker sections. */
static const char source_options[] =
	"#ifndef LMNAS_ARENA_ALIGN\n#define LMNAS_ARENA_ALIGN 8\n#endif\n"
	"#ifndef LMNAS_WEIGHT_ALIGN\n#define LMNAS_WEIGHT_ALIGN 4\n#endif\n"
	"#if defined(__GNUC__)\n#define LMNAS_ALIGNED(n) __attribute__((aligned(n)))\n"
	"#define LMNAS_SECTION(s) __attribute__((section(s)))\n"
	"#else\n#define LMNAS_ALIGNED(n)\n#define LMNAS_SECTION(s)\n#endif\n"
	"#ifdef LMNAS_ARENA_SECTION\n"
	"#define LMNAS_ARENA LMNAS_ALIGNED(LMNAS_ARENA_ALIGN) LMNAS_SECTION(LMNAS_ARENA_SECTION)\n"
	"#else\n#define LMNAS_ARENA LMNAS_ALIGNED(LMNAS_ARENA_ALIGN)\n#endif\n"
	"#ifdef LMNAS_WEIGHT_SECTION\n"
	"#define LMNAS_PARAM LMNAS_ALIGNED(LMNAS_WEIGHT_ALIGN) LMNAS_SECTION(LMNAS_WEIGHT_SECTION)\n"
	"#else\n#define LMNAS_PARAM LMNAS_ALIGNED(LMNAS_WEIGHT_ALIGN)\n#endif\n"
	"/* LMNAS_PROFILE: lmnas_op_done(i) after each op (make m7-count; m7_count.h) */\n"
	"#ifdef LMNAS_PROFILE\nvoid lmnas_op_done(int op);\n#define LMNAS_OP_DONE(i) lmnas_op_done(i)\n"
	"#else\n#define LMNAS_OP_DONE(i) ((void)0)\n#endif\n\n";

/* The network on an arena A, then the two entry points. */
static void write_entry_points(FILE *f, const struct qmodel *m, const char *name, const char *up)
{
	fprintf(f, "\n/* The network on arena A of at least %s_ARENA_BYTES bytes. */\n"
		"static int run_network(int8_t *A, const int8_t *input, int8_t *logits)\n{\n"
		"\tint32_t i, best = 0;\n", up);
	fprintf(f, "\tfor (i = 0; i < %s_INPUT_SIZE; i++)\n\t\tA[%zu + i] = input[i];\n"
		"\tLMNAS_OP_DONE(-1);\n", up, m->t[m->input].offset);
	for (int i = 0; i < m->nops; i++) {
		int sid = m->st.stream_of ? m->st.stream_of[i] : -1;
		if (sid < 0) {
			write_call(f, &m->ops[i], i, m);
		} else if (i == m->st.first[sid]) {
			write_stream(f, m, sid);
			/* the instruction count (m7_count.h) books a whole stream to its last op */
			fprintf(f, "\tLMNAS_OP_DONE(%d);\n", m->st.last[sid]);
		}
	}
	size_t lo = m->t[m->logits].offset;
	fprintf(f, "\tfor (i = 0; i < %s_CLASSES; i++) {\n"
		"\t\tif (logits)\n\t\t\tlogits[i] = A[%zu + i];\n"
		"\t\tif (A[%zu + i] > A[%zu + best])\n\t\t\tbest = i;\n\t}\n\treturn (int)best;\n}\n",
		up, lo, lo, lo);
	fprintf(f, "\nint %s_run_with_arena(int8_t *arena_, size_t arena_bytes, const int8_t *input,\n"
		"\t\tint8_t *logits)\n{\n\tif (!arena_ || arena_bytes < %s_ARENA_BYTES)\n"
		"\t\treturn -1;\n\treturn run_network(arena_, input, logits);\n}\n", name, up);
	fprintf(f, "\n#ifndef LMNAS_NO_STATIC_ARENA\nint %s_run(const int8_t *input, int8_t *logits)\n"
		"{\n\treturn run_network(arena, input, logits);\n}\n#endif\n", name);
}

static void write_source(FILE *f, const struct qmodel *m, const char *name, const char *up)
{
	fprintf(f, "/* %s.c — generated by lmnas emit-c; see %s.h. Arena plan: %zu bytes, peak at"
		" %s. */\n#include \"%s.h\"\n#include \"int8_ref.h\"\n#include \"int8_dsp.h\"\n\n", name, name,
		m->arena_bytes, m->peak_op, name);
	fputs(source_options, f);
	fprintf(f, "#ifndef LMNAS_NO_STATIC_ARENA\n"
		"static int8_t arena[%s_ARENA_BYTES] LMNAS_ARENA;\n#endif\n", up);
	for (int i = 0; i < m->nops; i++)
		write_params(f, &m->ops[i], i, m);
	write_steps(f, m);
	write_entry_points(f, m, name, up);
}

/* The instruction counting of make m7-count (m7_count.h): the op names for LMNAS_PROFILE, which
 * runs only the first vector. */
static void write_count_parts(FILE *f, const struct qmodel *m)
{
	fprintf(f, "#define NOPS %d\n#ifdef LMNAS_COUNT\n#include \"m7_count.h\"\n#endif\n"
		"#ifdef LMNAS_PROFILE\n#define RUN_VECTORS (NVEC < 1 ? NVEC : 1)\n"
		"static const char *const op_names[NOPS] = {\n", m->nops);
	for (int i = 0; i < m->nops; i++) {
		fputs("\t\"", f);
		for (const char *c = m->ops[i].name; *c; c++) /* C-string safe */
			fputc(isalnum((unsigned char)*c) || *c == '.' ? *c : '_', f);
		fputs("\",\n", f);
	}
	fputs("};\n#else\n#define RUN_VECTORS NVEC\n#endif\n\n", f);
}

/* ---- the test harness ---- */

static void write_test(FILE *f, const struct qmodel *m, const struct emit_opts *o,
		       const char *up)
{
	size_t isz = m->t[m->input].size;
	int nv = o->nvec > 0 ? o->nvec : 0;
	fprintf(f, "/* %s_test.c — generated by lmnas emit-c: runs %d test vectors and compares the\n"
		" * int8 logits with the host reference inference. Host: stdio. Cortex-M7: semihosting. */\n"
		"#include \"%s.h\"\n", o->name, nv, o->name);
	fputs("#ifdef LMNAS_SEMIHOSTING\n"
	      "static void out(const char *s)\n{\n"
	      "\tregister int r0 __asm__(\"r0\") = 0x04; /* SYS_WRITE0 */\n"
	      "\tregister const char *r1 __asm__(\"r1\") = s;\n"
	      "\t__asm__ volatile(\"bkpt 0xAB\" : \"+r\"(r0) : \"r\"(r1) : \"memory\");\n}\n"
	      "#else\n#include <stdio.h>\nstatic void out(const char *s)\n{\n\tfputs(s, stdout);\n}\n"
	      "#endif\n\n"
	      "static void out_int(long v)\n{\n\tchar b[24];\n\tint i = 22;\n\tint neg = v < 0;\n"
	      "\tunsigned long u = neg ? 0UL - (unsigned long)v : (unsigned long)v;\n"
	      "\tb[23] = 0;\n\tdo {\n\t\tb[i--] = (char)('0' + u % 10);\n\t\tu /= 10;\n"
	      "\t} while (u);\n\tif (neg)\n\t\tb[i--] = '-';\n\tout(b + i + 1);\n}\n\n", f);
	fprintf(f, "#define NVEC %d\n", nv);
	int8_t zero = 0;
	char decl[80];
	snprintf(decl, sizeof decl, "static const int8_t vec_in[%d]", nv ? nv : 1);
	fprintf(f, "%s", decl);
	fprintf(f, "[%zu] = {\n", isz);
	for (int v = 0; v < (nv ? nv : 1); v++) {
		put_row(f, nv ? o->vec_in + (size_t)v * isz : &zero, nv ? isz : 1);
	}
	fputs("};\n", f);
	snprintf(decl, sizeof decl, "static const int8_t vec_out[%d]", nv ? nv : 1);
	fprintf(f, "%s[%d] = {\n", decl, m->net.classes);
	for (int v = 0; v < (nv ? nv : 1); v++) {
		put_row(f, nv ? o->vec_out + (size_t)v * m->net.classes : &zero,
			nv ? (size_t)m->net.classes : 1);
	}
	fputs("};\n\n", f);
	write_count_parts(f, m);
	fprintf(f, "int main(void)\n{\n\tint8_t logits[%s_CLASSES]; /* on the stack: SRAM is the arena */\n"
		"\tint v, c, match = 0;\n"
		"#ifdef LMNAS_COUNT\n\tuint32_t insns;\n\tcount_init();\n#endif\n"
		"#ifdef LMNAS_PROFILE\n\tcount_profile_init();\n#endif\n"
		"\tif (NVEC == 0) /* still link (and run) the model once, so the arena is placed */\n"
		"\t\t%s_run(vec_in[0], logits);\n"
		"\tfor (v = 0; v < RUN_VECTORS; v++) {\n\t\tint same = 1;\n"
		"#ifdef LMNAS_COUNT\n\t\tint cls = count_run(%s_run, vec_in[v], logits, &insns);\n"
		"#else\n\t\tint cls = %s_run(vec_in[v], logits);\n#endif\n"
		"\t\tfor (c = 0; c < %s_CLASSES; c++)\n\t\t\tsame &= logits[c] == vec_out[v][c];\n"
		"\t\tmatch += same;\n\t\tout(\"vector \");\n\t\tout_int(v);\n\t\tout(\": class \");\n"
		"\t\tout_int(cls);\n\t\tout(same ? \" match\\n\" : \" MISMATCH\\n\");\n"
		"#ifdef LMNAS_COUNT\n\t\tout(\"instructions \");\n\t\tout_int((long)insns);\n"
		"\t\tout(\"\\n\");\n#endif\n"
		"#ifdef LMNAS_PROFILE\n\t\tcount_ops(op_names, NOPS, out, out_int);\n#endif\n\t}\n"
		"\tout_int(match);\n\tout(\"/\");\n\tout_int(RUN_VECTORS);\n"
		"\tout(\" test vectors match\\n\");\n"
		"\treturn match == RUN_VECTORS ? 0 : 1;\n}\n", up, o->name, o->name, o->name, up);
}

/* ---- the static files: templates under data/emit ---- */

struct tvar {
	const char *key; /* KEY of an @KEY@ placeholder */
	char val[160];
};

/* Copies template `file` of o->templates to f with each @KEY@ replaced by its value. An @KEY@
 * (capitals and underscores) that vars does not define is an error: the template and this
 * emitter must agree. Returns 0, or -1 with err. */
static int put_template(FILE *f, const struct emit_opts *o, const char *file,
			const struct tvar *vars, int nvars, char *err, size_t errlen)
{
	char path[4096];
	const char *msg;
	size_t len;
	snprintf(path, sizeof path, "%s/%s", o->templates, file);
	char *t = read_file(path, 1 << 20, &len, &msg);
	if (!t)
		return fail(err, errlen, "%s: %s", path, msg);
	int rc = 0;
	for (size_t i = 0; i < len && !rc; i++) {
		size_t k = i + 1;
		while (k < len && (isupper((unsigned char)t[k]) || t[k] == '_'))
			k++;
		if (t[i] != '@' || k == i + 1 || k >= len || t[k] != '@') {
			fputc(t[i], f);
			continue;
		}
		int v = 0;
		while (v < nvars && (strlen(vars[v].key) != k - i - 1 ||
				     strncmp(vars[v].key, t + i + 1, k - i - 1)))
			v++;
		if (v == nvars)
			rc = fail(err, errlen, "%s: unknown placeholder %.*s", path, (int)(k - i + 1),
				  t + i);
		else
			fputs(vars[v].val, f);
		i = k;
	}
	free(t);
	return rc;
}

/* Writes template `file` into o->dir under the same name. */
static int write_template(const struct emit_opts *o, const char *file, const struct tvar *vars,
			  int nvars, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		die("emit: out of memory");
	int rc = put_template(f, o, file, vars, nvars, err, errlen);
	fclose(f);
	rc = rc ? rc : save(o->dir, file, buf, len, err, errlen);
	free(buf);
	return rc;
}

/* The static files: startup_m7.c; m7.ld, whose RAM is the --sram-max budget and whose stack
 * (placed first, so an overflow runs off the start of RAM instead of into the arena) is
 * --stack: stack + arena rounded up to 4 bytes, check-cost's cost.sram_bytes, must fit; the
 * Makefile; CMakeLists.txt. */
static int write_static(const struct emit_opts *o, char *err, size_t errlen)
{
	struct tvar v[3] = {{"NAME", ""}, {"SRAM_MAX", ""}, {"STACK_BYTES", ""}};
	snprintf(v[0].val, sizeof v[0].val, "%s", o->name);
	snprintf(v[1].val, sizeof v[1].val, "%zu", o->sram_max);
	snprintf(v[2].val, sizeof v[2].val, "%zu", o->stack_bytes);
	const char *files[] = {"m7.ld", "startup_m7.c", "Makefile", "CMakeLists.txt", "m7_count.h"};
	int rc = 0;
	for (int i = 0; i < 5 && !rc; i++)
		rc = write_template(o, files[i], v, 3, err, errlen);
	return rc;
}

static int write_via(const char *dir, const char *file, char *err, size_t errlen,
		     void (*fn)(FILE *, const struct qmodel *, const struct emit_opts *,
				const char *, const char *),
		     const struct qmodel *m, const struct emit_opts *o, const char *up)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		die("emit: out of memory");
	fn(f, m, o, o->name, up);
	fclose(f);
	int rc = save(dir, file, buf, len, err, errlen);
	free(buf);
	return rc;
}

static void w_header(FILE *f, const struct qmodel *m, const struct emit_opts *o, const char *n,
		     const char *up)
{
	write_header(f, m, o, n, up);
}
static void w_source(FILE *f, const struct qmodel *m, const struct emit_opts *o, const char *n,
		     const char *up)
{
	(void)o;
	write_source(f, m, n, up);
}
static void w_test(FILE *f, const struct qmodel *m, const struct emit_opts *o, const char *n,
		   const char *up)
{
	(void)n;
	write_test(f, m, o, up);
}

/* Copies the kernel header `file` (int8_ref.h, int8_dsp.h) from the folder of o->kernels. */
static int copy_kernels(const struct emit_opts *o, const char *file, char *err, size_t errlen)
{
	char path[4096];
	const char *slash = strrchr(o->kernels, '/'), *msg;
	snprintf(path, sizeof path, "%.*s%s", slash ? (int)(slash - o->kernels) + 1 : 0, o->kernels,
		 file);
	size_t len;
	char *k = read_file(path, 1 << 20, &len, &msg);
	if (!k)
		return fail(err, errlen, "%s: %s", path, msg);
	int rc = save(o->dir, file, k, len, err, errlen);
	free(k);
	return rc;
}

int emit_write(const struct qmodel *m, const struct emit_opts *o, char *err, size_t errlen)
{
	char up[128], file[200];
	size_t i;
	for (i = 0; o->name[i] && i + 1 < sizeof up; i++)
		up[i] = (char)toupper((unsigned char)o->name[i]);
	up[i] = 0;
	if (mkdir(o->dir, 0777) && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", o->dir, strerror(errno));
		return -1;
	}
	int rc = copy_kernels(o, "int8_ref.h", err, errlen);
	rc = rc ? rc : copy_kernels(o, "int8_dsp.h", err, errlen);
	snprintf(file, sizeof file, "%s.h", o->name);
	rc = rc ? rc : write_via(o->dir, file, err, errlen, w_header, m, o, up);
	snprintf(file, sizeof file, "%s.c", o->name);
	rc = rc ? rc : write_via(o->dir, file, err, errlen, w_source, m, o, up);
	snprintf(file, sizeof file, "%s_test.c", o->name);
	rc = rc ? rc : write_via(o->dir, file, err, errlen, w_test, m, o, up);
	rc = rc ? rc : write_static(o, err, errlen);
	return rc;
}

int emit_write_readme(const struct qmodel *m, const struct emit_opts *o, long flash_bytes,
		      char *err, size_t errlen)
{
	enum { NV = 11 };
	struct tvar v[NV] = {{"NAME", ""}, {"UPNAME", ""}, {"ARENA_BYTES", ""},
			     {"STACK_BYTES", ""}, {"SRAM_BYTES", ""}, {"SRAM_MAX", ""},
			     {"FLASH", ""}, {"INPUT_H", ""}, {"INPUT_W", ""}, {"INPUT_C", ""},
			     {"CLASSES", ""}};
	size_t i;
	snprintf(v[0].val, sizeof v[0].val, "%s", o->name);
	for (i = 0; o->name[i] && i + 1 < sizeof v[1].val; i++)
		v[1].val[i] = (char)toupper((unsigned char)o->name[i]);
	v[1].val[i] = 0;
	snprintf(v[2].val, sizeof v[2].val, "%zu", m->arena_bytes);
	snprintf(v[3].val, sizeof v[3].val, "%zu", o->stack_bytes);
	snprintf(v[4].val, sizeof v[4].val, "%lld",
		 (long long)cost_sram_bytes((int64_t)m->arena_bytes, (int64_t)o->stack_bytes));
	snprintf(v[5].val, sizeof v[5].val, "%zu", o->sram_max);
	if (flash_bytes >= 0)
		snprintf(v[6].val, sizeof v[6].val, "%ld bytes (measured: text + data of %s.c "
			 "built for Cortex-M7, arm-none-eabi-size)", flash_bytes, o->name);
	else
		snprintf(v[6].val, sizeof v[6].val, "about %zu bytes (check-cost's formula; the "
			 "model was not built)", quant_flash_bytes(m));
	snprintf(v[7].val, sizeof v[7].val, "%d", m->net.in_h);
	snprintf(v[8].val, sizeof v[8].val, "%d", m->net.in_w);
	snprintf(v[9].val, sizeof v[9].val, "%d", m->net.in_ch);
	snprintf(v[10].val, sizeof v[10].val, "%d", m->net.classes);
	return write_template(o, "README.md", v, NV, err, errlen);
}
