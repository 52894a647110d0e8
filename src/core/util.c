/* util.c — logging, checked allocation, number parsing, file helpers. */
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *util_progname = "lmnas";

void util_init(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
	if (argv0)
		util_progname = slash ? slash + 1 : argv0;
}

static void vlog(const char *tag, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", util_progname, tag);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("error: ", fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
	exit(EXIT_USAGE);
}

int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

void *xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (!p)
		die("out of memory (%zu x %zu bytes)", count, size);
	return p;
}

void *xcalloc_huge(size_t count, size_t size)
{
	const size_t huge = (size_t)2 << 20;
	if (size && count > SIZE_MAX / size)
		die("out of memory (%zu x %zu bytes)", count, size);
	size_t bytes = count * size;
	if (bytes < huge)
		return xcalloc(count, size);
	size_t len = (bytes + huge - 1) / huge * huge;
	void *p;
	if (posix_memalign(&p, huge, len))
		die("out of memory (%zu x %zu bytes)", count, size);
	madvise(p, len, MADV_HUGEPAGE); /* advice: without huge pages it still works */
	memset(p, 0, len);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		die("out of memory (%zu bytes)", n);
	return q;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

/* Splits "12.5KiB" into 12.5 and "KiB"; the number must be finite and non-negative. */
static int split_number(const char *s, double *value, const char **suffix)
{
	char *end;
	if (!s || !*s)
		return -1;
	errno = 0;
	*value = strtod(s, &end);
	if (end == s || errno || !isfinite(*value) || *value < 0)
		return -1;
	*suffix = end;
	return 0;
}

int parse_count(const char *s, double *out)
{
	double v;
	const char *suf;
	if (split_number(s, &v, &suf))
		return -1;
	if (!*suf)
		*out = v;
	else if (!strcmp(suf, "k") || !strcmp(suf, "K"))
		*out = v * 1e3;
	else if (!strcmp(suf, "M"))
		*out = v * 1e6;
	else if (!strcmp(suf, "G"))
		*out = v * 1e9;
	else
		return -1;
	return 0;
}

int parse_bytes(const char *s, double *out)
{
	static const struct { const char *suffix; double scale; } units[] = {
		{"", 1}, {"B", 1}, {"K", 1024}, {"KiB", 1024}, {"k", 1024}, {"kB", 1000}, {"KB", 1000},
		{"M", 1048576}, {"MiB", 1048576}, {"MB", 1e6}, {"G", 1073741824.0}, {"GiB", 1073741824.0},
	};
	double v;
	const char *suf;
	if (split_number(s, &v, &suf))
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (!strcmp(suf, units[i].suffix)) {
			*out = v * units[i].scale;
			return 0;
		}
	return -1;
}

int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;
	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end || errno || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;
	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (*end || errno || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

char *fmt_count(double v, char *buf, size_t n)
{
	if (v >= 1e9)
		snprintf(buf, n, "%.1fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, n, "%.1fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, n, "%.1fk", v / 1e3);
	else
		snprintf(buf, n, "%.0f", v);
	return buf;
}

char *fmt_bytes(double v, char *buf, size_t n)
{
	if (v >= 1073741824.0)
		snprintf(buf, n, "%.1fGiB", v / 1073741824.0);
	else if (v >= 1048576)
		snprintf(buf, n, "%.1fMiB", v / 1048576);
	else if (v >= 1024)
		snprintf(buf, n, "%.1fKiB", v / 1024);
	else
		snprintf(buf, n, "%.0fB", v);
	return buf;
}

double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

char *read_file(const char *path, size_t max_bytes, size_t *len, const char **err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t used = 0, cap = 0;
	if (!f) {
		*err = strerror(errno);
		return NULL;
	}
	for (;;) {
		if (used + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = xrealloc(buf, cap);
		}
		size_t got = fread(buf + used, 1, cap - used - 1, f);
		used += got;
		if (used > max_bytes) {
			*err = "file too large";
			free(buf);
			fclose(f);
			return NULL;
		}
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		*err = "read error";
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[used] = '\0';
	if (len)
		*len = used;
	return buf;
}

/* The number after key in a /proc-style file ("MemAvailable:   123 kB"), or -1. */
static double proc_value(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	char line[256];
	double v = -1;
	size_t kl = strlen(key);
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, key, kl)) {
			v = strtod(line + kl, NULL);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

/* The process's virtual size in bytes (/proc/self/statm), or 0. */
static double virtual_size(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long pages = 0;
	if (f) {
		if (fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return (double)pages * (double)sysconf(_SC_PAGESIZE);
}

double memory_available(const char **what)
{
	double best = INFINITY;
	*what = "unlimited";
	double avail = proc_value("/proc/meminfo", "MemAvailable:"),
	       swap = proc_value("/proc/meminfo", "SwapFree:");
	if (avail >= 0) {
		best = 1024 * (avail + (swap > 0 ? swap : 0));
		*what = "available memory (MemAvailable + SwapFree)";
	}
	static const struct { int res; const char *name; } limits[] = {
		{RLIMIT_AS, "address-space limit (ulimit -v) less what is mapped"},
		{RLIMIT_DATA, "data limit (ulimit -d) less what is mapped"},
	};
	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		struct rlimit rl;
		if (getrlimit(limits[i].res, &rl) || rl.rlim_cur == RLIM_INFINITY)
			continue;
		double left = (double)rl.rlim_cur - virtual_size();
		left = left > 0 ? left : 0;
		if (left < best) {
			best = left;
			*what = limits[i].name;
		}
	}
	return best;
}

enum { STALE_SECONDS = 600 };

void remove_stale_tmp(const char *path)
{
	char dir[4096], prefix[4096];
	const char *slash = strrchr(path, '/');
	if (slash)
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) ? (int)(slash - path) : 1, path);
	else
		snprintf(dir, sizeof dir, ".");
	snprintf(prefix, sizeof prefix, "%s.tmp.", slash ? slash + 1 : path);
	size_t plen = strlen(prefix);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *pid = e->d_name + plen;
		char *end;
		if (strncmp(e->d_name, prefix, plen) || !*pid || *pid < '0' || *pid > '9')
			continue;
		long p = strtol(pid, &end, 10);
		if (*end || p <= 0 || p == (long)getpid())
			continue;
		/* Another writer that is still alive owns its file; one on another host sharing
		 * the folder is not visible here, but it renames its file within seconds. */
		if (kill((pid_t)p, 0) == 0 || errno != ESRCH)
			continue;
		char full[8200];
		struct stat sb;
		snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
		if (lstat(full, &sb) || !S_ISREG(sb.st_mode) || time(NULL) - sb.st_mtime < STALE_SECONDS)
			continue;
		if (unlink(full) == 0)
			log_info("removed %s (left by process %ld, which is gone)", full, p);
	}
	closedir(d);
}

int write_file_atomic(const char *path, const void *data, size_t len)
{
	size_t n = strlen(path) + 32;
	char *tmp = xmalloc(n);
	snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	const char *p = data;
	size_t left = len;
	while (left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		left -= (size_t)w;
	}
	if (fsync(fd) || close(fd)) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path))
		goto fail_closed;
	free(tmp);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
fail_closed:
	{
		int saved = errno;
		unlink(tmp);
		free(tmp);
		errno = saved;
	}
	return -1;
}

void data_dir(char *out, size_t n, const char *sub)
{
	const char *env = getenv("LMNAS_DATA");
	char dir[PATH_MAX + 32] = "data";
	if (env && *env) {
		snprintf(dir, sizeof dir, "%s", env);
	} else {
		char exe[PATH_MAX];
		ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
		struct stat st;
		if (len > 0) {
			exe[len] = '\0';
			snprintf(dir, sizeof dir, "%s/../data", dirname(exe));
			if (stat(dir, &st) || !S_ISDIR(st.st_mode))
				snprintf(dir, sizeof dir, "data");
		}
	}
	if (sub)
		snprintf(out, n, "%s/%s", dir, sub);
	else
		snprintf(out, n, "%s", dir);
}
