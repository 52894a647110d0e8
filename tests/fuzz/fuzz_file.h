/* fuzz_file.h — for the libFuzzer targets whose parser reads files (safetensors, datasets): a
 * private folder (in /dev/shm when it exists, so inputs never touch the disk) and one call that
 * writes an input to a file in it. */
#ifndef LMNAS_FUZZ_FILE_H
#define LMNAS_FUZZ_FILE_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The folder, made once per process ("/dev/shm/lmnas-fuzz.XXXXXX"); aborts if it cannot be. */
static const char *fuzz_dir(void)
{
	static char dir[64];
	if (!dir[0]) {
		struct stat st;
		const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
		snprintf(dir, sizeof dir, "%s/lmnas-fuzz.XXXXXX", base);
		if (!mkdtemp(dir))
			abort();
	}
	return dir;
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
