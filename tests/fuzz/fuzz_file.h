/* fuzz_file.h — for the libFuzzer targets whose parser reads files (safetensors, datasets): a
 * private folder and one call that writes an input to a file in it. The folder is made once per
 * process in $LMNAS_FUZZ_DIR (pipelines/fuzz.sh gives one per target and removes it), else in
 * /dev/shm (so inputs never touch the disk) or /tmp, and removed when the process exits normally. */
#ifndef LMNAS_FUZZ_FILE_H
#define LMNAS_FUZZ_FILE_H
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char fuzz_dir_path[512];

static int fuzz_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void fuzz_dir_remove(void)
{
	nftw(fuzz_dir_path, fuzz_remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* The folder ("BASE/lmnas-fuzz.XXXXXX"); aborts if it cannot be made. */
static const char *fuzz_dir(void)
{
	if (!fuzz_dir_path[0]) {
		struct stat st;
		const char *base = getenv("LMNAS_FUZZ_DIR");
		if (!base || !*base)
			base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
		snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/lmnas-fuzz.XXXXXX", base);
		if (!mkdtemp(fuzz_dir_path))
			abort();
		atexit(fuzz_dir_remove);
	}
	return fuzz_dir_path;
}

/* Writes data[0..size) to fuzz_dir()/sub/name (sub made if needed) and puts that path in path. */
static void fuzz_write(const char *sub, const char *name, const void *data, size_t size,
		       char *path, size_t pathlen)
{
	snprintf(path, pathlen, "%s/%s", fuzz_dir(), sub);
	mkdir(path, 0700);
	snprintf(path, pathlen, "%s/%s/%s", fuzz_dir(), sub, name);
	FILE *f = fopen(path, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f))
		abort();
}
#endif
