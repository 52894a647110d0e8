/* options.c — the option tables' parser and --help printer (see options.h). */
#include "core/options.h"
#include "core/util.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HELP_COLUMN 22 /* where the help text starts in --help */

const struct opt *options_find(const struct opt *table, const char *name)
{
	for (const struct opt *o = table; o->name || o->help; o++)
		if (o->name && !strcmp(o->name, name))
			return o;
	return NULL;
}

static void *field(const struct opt *o, void *base)
{
	return (char *)base + o->at;
}

/* A whole number in [lo, hi] into *out. */
static int whole(const struct opt *o, const char *v, long *out, char *err, size_t errlen)
{
	if (parse_int(v, (long)o->lo, (long)o->hi, out))
		return fail(err, errlen, "'%s' is not a whole number in [%ld, %ld]", v, (long)o->lo,
			    (long)o->hi);
	return 0;
}

static int real(const struct opt *o, const char *v, double *out, char *err, size_t errlen)
{
	if (parse_double(v, o->lo, o->hi, out))
		return fail(err, errlen, "'%s' is not a number in [%g, %g]", v, o->lo, o->hi);
	return 0;
}

static int count(const struct opt *o, const char *v, double *out, char *err, size_t errlen)
{
	double d;
	char a[32], b[32];
	if (parse_count(v, &d))
		return fail(err, errlen, "'%s' is not a count such as 350M or 1.5G", v);
	if (d < o->lo || d > o->hi)
		return fail(err, errlen, "'%s' is outside [%s, %s]", v, fmt_count(o->lo, a, sizeof a),
			    fmt_count(o->hi, b, sizeof b));
	*out = d;
	return 0;
}

static int bytes(const struct opt *o, const char *v, double *out, char *err, size_t errlen)
{
	double d;
	char a[32], b[32];
	if (parse_bytes(v, &d))
		return fail(err, errlen, "'%s' is not a size such as 320KiB, 2MiB or 65536", v);
	if (d < o->lo || d > o->hi)
		return fail(err, errlen, "'%s' is outside [%s, %s]", v, fmt_bytes(o->lo, a, sizeof a),
			    fmt_bytes(o->hi, b, sizeof b));
	*out = d;
	return 0;
}

/* Stores value into the field of o (in base). Returns 0, or -1 with err. */
static int apply(const struct opt *o, void *base, const char *v, char *err, size_t errlen)
{
	void *p = field(o, base);
	long l;
	double d;
	switch (o->kind) {
	case OPT_FLAG: *(int *)p = 1; return 0;
	case OPT_UNSET: *(int *)p = 0; return 0;
	case OPT_STRING: *(const char **)p = v; return 0;
	case OPT_CALL: return o->set(base, v, err, errlen);
	case OPT_INT:
	case OPT_LONG:
	case OPT_U64:
		if (whole(o, v, &l, err, errlen))
			return -1;
		if (o->kind == OPT_INT)
			*(int *)p = (int)l;
		else if (o->kind == OPT_LONG)
			*(long *)p = l;
		else
			*(uint64_t *)p = (uint64_t)l;
		return 0;
	case OPT_DOUBLE:
	case OPT_FLOAT:
		if (real(o, v, &d, err, errlen))
			return -1;
		if (o->kind == OPT_DOUBLE)
			*(double *)p = d;
		else
			*(float *)p = (float)d;
		return 0;
	case OPT_COUNT: return count(o, v, (double *)p, err, errlen);
	case OPT_BYTES: return bytes(o, v, (double *)p, err, errlen);
	default: return fail(err, errlen, "cannot be set");
	}
}

int options_set(const struct opt *table, void *base, const char *name, const char *value,
		char *err, size_t errlen)
{
	const struct opt *o = options_find(table, name);
	if (!o)
		return 0;
	if (o->arg && !value)
		return fail(err, errlen, "--%s needs a value", name);
	if (apply(o, base, value, err, errlen)) {
		char why[512];
		snprintf(why, sizeof why, "%s", err);
		return fail(err, errlen, "--%s: %s", name, why);
	}
	return 1;
}

/* ---- --help ---- */

/* The field's value as --help shows it as a default, or "" when there is none to show. */
static void default_text(const struct opt *o, void *base, char *buf, size_t n)
{
	void *p = field(o, base);
	char tmp[32];
	buf[0] = 0;
	switch (o->kind) {
	case OPT_FLAG: if (*(int *)p) snprintf(buf, n, " (the default)"); break;
	case OPT_UNSET: if (!*(int *)p) snprintf(buf, n, " (the default)"); break;
	case OPT_INT: snprintf(buf, n, " (default %d)", *(int *)p); break;
	case OPT_LONG: snprintf(buf, n, " (default %ld)", *(long *)p); break;
	case OPT_U64: snprintf(buf, n, " (default %" PRIu64 ")", *(uint64_t *)p); break;
	case OPT_DOUBLE: snprintf(buf, n, " (default %g)", *(double *)p); break;
	case OPT_FLOAT: snprintf(buf, n, " (default %g)", *(float *)p); break;
	case OPT_COUNT: snprintf(buf, n, " (default %s)", fmt_count(*(double *)p, tmp, sizeof tmp)); break;
	case OPT_BYTES: snprintf(buf, n, " (default %s)", fmt_bytes(*(double *)p, tmp, sizeof tmp)); break;
	case OPT_STRING:
		if (*(const char **)p)
			snprintf(buf, n, " (default %s)", *(const char **)p);
		break;
	default: break;
	}
}

/* "  -o, --output FILE   help", continuation lines under the first. */
static void print_entry(FILE *f, const struct opt *o, void *base)
{
	if (!o->name) {
		fprintf(f, "%s\n", o->help);
		return;
	}
	char left[128], def[96] = "", alias[8] = "";
	if (o->alias)
		snprintf(alias, sizeof alias, "-%c, ", o->alias);
	int n = snprintf(left, sizeof left, "  %s--%s%s%s", alias, o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
	if (o->flags & OPT_SHOW_DEFAULT)
		default_text(o, base, def, sizeof def);
	if (n >= HELP_COLUMN)
		fprintf(f, "%s\n%*s", left, HELP_COLUMN, "");
	else
		fprintf(f, "%-*s", HELP_COLUMN, left);
	for (const char *h = o->help ? o->help : ""; *h; h++) {
		fputc(*h, f);
		if (*h == '\n' && h[1])
			fprintf(f, "%*s", HELP_COLUMN, "");
	}
	fprintf(f, "%s\n", def);
}

void options_usage(FILE *f, const struct opt_program *p)
{
	if (p->about)
		fputs(p->about, f);
	for (const struct opt_group *g = p->groups; g->table; g++)
		for (const struct opt *o = g->table; o->name || o->help; o++)
			print_entry(f, o, g->base);
	if (p->footer)
		fputs(p->footer, f);
}

/* ---- parsing ---- */

/* The entry for "--name" or "-c" (its group in *group), or NULL. */
static const struct opt *lookup(const struct opt_program *p, const char *name, char alias,
				const struct opt_group **group)
{
	for (const struct opt_group *g = p->groups; g->table; g++)
		for (const struct opt *o = g->table; o->name || o->help; o++)
			if (o->name && (alias ? o->alias == alias : !strcmp(o->name, name))) {
				*group = g;
				return o;
			}
	return NULL;
}

static void usage_error(const char *fmt, const char *a, const char *b)
{
	char msg[512];
	snprintf(msg, sizeof msg, fmt, a, b);
	die("%s (try --help)", msg);
}

/* Handles argv[*i], an option; advances *i past a separate value. */
static void parse_one(const struct opt_program *p, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *value = NULL, *eq = NULL;
	char name[64] = "", alias = 0;
	if (a[1] == '-') {
		eq = strchr(a + 2, '=');
		snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a - 2) : (int)strlen(a + 2), a + 2);
	} else if (a[2] == '\0') {
		alias = a[1];
	}
	const struct opt_group *g = NULL;
	const struct opt *o = name[0] || alias ? lookup(p, name, alias, &g) : NULL;
	if (!o)
		usage_error("unknown option %s%s", name[0] ? "--" : "", name[0] ? name : a);
	if (!o->arg && eq)
		usage_error("--%s takes no value%s", o->name, "");
	if (o->kind == OPT_HELP) {
		options_usage(stdout, p);
		exit(EXIT_OK);
	}
	if (o->arg) {
		if (eq)
			value = eq + 1;
		else if (*i + 1 < argc)
			value = argv[++*i];
		else
			usage_error("--%s needs a value%s", o->name, "");
	}
	char err[512];
	if (apply(o, g->base, value, err, sizeof err))
		die("--%s: %s", o->name, err);
	if (g->given)
		g->given[o - g->table] = 1;
}

int options_parse(const struct opt_program *p, int argc, char **argv)
{
	int nops = 0, i;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] == '-' && a[1])
			parse_one(p, argc, argv, &i);
		else
			argv[1 + nops++] = argv[i];
	}
	for (; i < argc; i++)
		argv[1 + nops++] = argv[i];
	if (p->max_operands >= 0 && nops > p->max_operands)
		usage_error("unexpected argument '%s'%s", argv[1 + p->max_operands], "");
	return nops;
}
