/* util.h — small helpers shared by every program: logging, checked allocation, number parsing. */
#ifndef LMNAS_UTIL_H
#define LMNAS_UTIL_H
#include <stddef.h>
#include <stdint.h>

/* Exit codes (DESIGN.md): 0 all well, 1 some records failed, 2 usage or I/O error. */
enum { EXIT_OK = 0, EXIT_RECORDS = 1, EXIT_USAGE = 2 };

/* The program name used in messages; set once from argv[0] by util_init. */
extern const char *util_progname;
void util_init(const char *argv0);

/* Messages on stderr, prefixed with the program name. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the message and exits with status 2. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Formats the message into err[errlen] and returns -1: `return fail(err, errlen, "...", ...);`
 * for functions that report errors to their caller. */
int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Allocation that dies (status 2) on failure. xcalloc zero-fills. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
/* xcalloc for large buffers that are streamed over again and again (a network's activations):
 * from 2 MiB up, aligned to 2 MiB and with transparent huge pages asked for (madvise), so that
 * walking them costs a TLB entry per 2 MiB instead of per 4 KiB (in a virtual machine a TLB miss
 * walks two page tables). Where the kernel gives none, ordinary pages. Free with free(). */
void *xcalloc_huge(size_t count, size_t size);
char *xstrdup(const char *s);

/* "350M", "1.5G", "20000" -> count (decimal suffixes k, M, G). Returns 0 on success. */
int parse_count(const char *s, double *out);
/* "320KiB", "320K", "2MiB", "65536" -> bytes (K/KiB = 1024, M/MiB = 1024², kB = 1000, MB = 10⁶). */
int parse_bytes(const char *s, double *out);
/* A whole number in [lo, hi]. Returns 0 on success. */
int parse_int(const char *s, long lo, long hi, long *out);
/* A real number in [lo, hi]. */
int parse_double(const char *s, double lo, double hi, double *out);

/* Human forms for messages: 412300000 -> "412.3M", 327680 -> "320.0KiB". Return buf. */
char *fmt_count(double v, char *buf, size_t n);
char *fmt_bytes(double v, char *buf, size_t n);

/* Monotonic wall-clock seconds. */
double now_seconds(void);

/* Bytes this process can still allocate and touch: the least of the machine's available memory
 * (MemAvailable + SwapFree) and the address-space and data limits less what is already mapped;
 * INFINITY when nothing is known. *what names the limit that applies. */
double memory_available(const char **what);

/* Reads a whole file into a NUL-terminated buffer (refuses files over max_bytes).
 * Returns NULL and sets *err to a static message on failure. */
char *read_file(const char *path, size_t max_bytes, size_t *len, const char **err);

/* Writes data to path atomically: a temporary file in the same folder, fsync, rename.
 * Returns 0 on success, -1 with errno set. */
int write_file_atomic(const char *path, const void *data, size_t len);
/* Removes path's temporary files (path.tmp.PID), what a killed write_file_atomic leaves: those
 * whose writer process no longer exists here and that were last written over 10 minutes ago (a
 * writer on another host sharing the folder finishes well before). */
void remove_stale_tmp(const char *path);
/* The data/ folder (search space, prompts, emit-c's templates): $LMNAS_DATA, else data/ next to
 * the executable's bin/, else ./data; with sub, that folder's sub-folder or file. */
void data_dir(char *out, size_t n, const char *sub);
#endif
