/* options.h — one table of options per program: it drives the parsing of argv and the option
 * list of --help; tests/cli/options.sh checks that list against the man page (man/man1/PROG.1),
 * so the three cannot drift.
 *
 * A table is an array of struct opt ending with {0}. Each entry says where its value goes as an
 * offset into a struct (offsetof), so tables are static const and a shared set (the check
 * options of check.h, the training options of train.h) serves several programs. A program hands
 * options_parse a list of groups {table, base}: base is the struct that table's offsets point
 * into (one group per struct).
 *
 * ADDING AN OPTION is one line in the table of the struct that holds its value:
 *
 *   {"epochs", "N", OPT_INT, offsetof(struct train_opts, epochs), 1, 100000, "epochs to train"},
 *
 * name (given as --epochs), the value's name in --help (NULL for a flag), the kind, where the
 * value goes, the accepted range (numbers; ignored otherwise) and the help text ('\n' starts a
 * continuation line). Optional trailing fields: OPT_SHOW_DEFAULT (--help appends the field's
 * value as it is before parsing: " (default 30)"), a setter for OPT_CALL, a one-letter alias.
 * An entry with name NULL and help "text:" is a heading in --help. Then add the option to the
 * man page's OPTIONS list (tests/cli/options.sh fails until you do).
 *
 * The parser accepts --name=value and --name value (a flag takes no value), "--" ends the
 * options, "-" is an operand; operands are kept in order. An unknown option exits 2 with
 * "PROGRAM: unknown option --x (try --help)"; a bad value exits 2 naming the option and the
 * value ("PROGRAM: --epochs: 'x' is not a whole number in [1, 100000]"). Sizes use util.h's
 * parse_bytes, counts parse_count: one parser each. */
#ifndef LMNAS_OPTIONS_H
#define LMNAS_OPTIONS_H
#include <stddef.h>
#include <stdio.h>

/* A table line leaves the trailing fields it does not need (flags, set, alias) to be zero: that is
 * the point of the one-line entries, so -Wextra's warning about it is off where tables live. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

enum opt_kind {
	OPT_NONE,   /* a heading (name NULL) or the end of the table */
	OPT_FLAG,   /* int = 1 */
	OPT_UNSET,  /* int = 0 (--no-...) */
	OPT_INT,    /* int in [lo, hi] */
	OPT_LONG,   /* long in [lo, hi] */
	OPT_U64,    /* uint64_t in [lo, hi] */
	OPT_DOUBLE, /* double in [lo, hi] */
	OPT_FLOAT,  /* float in [lo, hi] */
	OPT_COUNT,  /* double: "350M", "1.5G" (parse_count), in [lo, hi] */
	OPT_BYTES,  /* double: "320KiB", "2MiB" (parse_bytes), in [lo, hi] */
	OPT_STRING, /* const char *: the argument itself (argv outlives the program) */
	OPT_CALL,   /* set(base, value, err, errlen): anything else (a choice, a file to load) */
	OPT_HELP,   /* prints the usage on stdout and exits 0 */
};

enum { OPT_SHOW_DEFAULT = 1 };

/* Returns 0, or -1 with why the value is bad in err ("'x' is not step or cosine"). */
typedef int (*opt_setter)(void *base, const char *value, char *err, size_t errlen);

struct opt {
	const char *name;   /* "epochs" for --epochs; NULL: a heading (help) or the end */
	const char *arg;    /* the value's name in --help ("N", "FILE"); NULL: a flag */
	enum opt_kind kind;
	size_t at;          /* offsetof(the group's struct, the field) */
	double lo, hi;      /* numbers: the accepted range */
	const char *help;   /* the help text; lines after the first are indented under it */
	int flags;          /* OPT_SHOW_DEFAULT */
	opt_setter set;     /* OPT_CALL */
	char alias;         /* a one-letter alias: 'o' also accepts -o */
};

struct opt_group {
	const struct opt *table;
	void *base;           /* the struct the table's offsets point into */
	unsigned char *given; /* NULL, or one byte per table entry: set to 1 when given */
};

/* A program: what --help prints around the option list, and its groups (ending with a zero
 * group). */
struct opt_program {
	const char *about;  /* usage lines and description, before the options */
	const char *footer; /* after them, or NULL */
	int max_operands;   /* operands allowed: -1 any number */
	struct opt_group groups[8];
};

/* Parses argv[1..]; moves the operands to argv[1..n] (in order) and returns n. Exits 0 after
 * --help, 2 (with a message) on a usage error. */
int options_parse(const struct opt_program *p, int argc, char **argv);

/* Prints p->about, the option list of every group and p->footer. */
void options_usage(FILE *f, const struct opt_program *p);

/* Applies one option of a table by name (without "--"): 1 when it is in the table (value
 * applied), 0 when not, -1 with err when the value is bad or missing. */
int options_set(const struct opt *table, void *base, const char *name, const char *value,
		char *err, size_t errlen);

/* The table's entry named name, or NULL. */
const struct opt *options_find(const struct opt *table, const char *name);
#endif
