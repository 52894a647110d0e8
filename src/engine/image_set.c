/* image_set.c — the image-file datasets: a folder with one sub-folder per class (ImageFolder) or
 * a CSV of path,label; each PNG/JPEG decoded (image.c), area-resized to one stored size, grey
 * images repeated to colour when the set mixes both. Normalisation from the pixels (training
 * split) or from the split it is loaded like. */
#include "engine/dataset.h"
#include "engine/image.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_FILES 10000000
#define MAX_NAME_CLASSES 100000

/* The images to read: path and class name of each. */
struct file_list {
	char **path, **label;
	int n, cap;
};

static void list_add(struct file_list *l, const char *path, const char *label)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->path = xrealloc(l->path, (size_t)l->cap * sizeof *l->path);
		l->label = xrealloc(l->label, (size_t)l->cap * sizeof *l->label);
	}
	l->path[l->n] = xstrdup(path);
	l->label[l->n++] = xstrdup(label);
}

static void list_free(struct file_list *l)
{
	for (int i = 0; i < l->n; i++) {
		free(l->path[i]);
		free(l->label[i]);
	}
	free(l->path);
	free(l->label);
	memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_image_name(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") ||
		       !strcasecmp(dot, ".jpeg"));
}

/* The entries of dir (not starting with '.'), sorted; dirs_only picks sub-folders, else image
 * files by name. Returns the count (names malloc'd in *out), or -1 with err. */
static int sorted_entries(const char *dir, int dirs_only, char ***out, char *err, size_t errlen)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return fail(err, errlen, "%s: %s", dir, strerror(errno));
	char **names = NULL;
	int n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(dp))) {
		if (e->d_name[0] == '.')
			continue;
		char p[8192];
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (stat(p, &st))
			continue;
		if (dirs_only ? !S_ISDIR(st.st_mode) : !(S_ISREG(st.st_mode) && is_image_name(e->d_name)))
			continue;
		if (n == MAX_FILES)
			break;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = xrealloc(names, (size_t)cap * sizeof *names);
		}
		names[n++] = xstrdup(e->d_name);
	}
	closedir(dp);
	if (n)
		qsort(names, (size_t)n, sizeof *names, cmp_str);
	*out = names;
	return n;
}

static void free_names(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ImageFolder: dir/CLASS/IMAGE.{png,jpg,jpeg}. */
static int list_folder(const char *dir, struct file_list *l, char *err, size_t errlen)
{
	char **classes, **files;
	int nc = sorted_entries(dir, 1, &classes, err, errlen);
	if (nc < 0)
		return -1;
	if (nc == 0)
		return fail(err, errlen, "%s: no class sub-folders (want DIR/CLASS/IMAGE.png)", dir);
	for (int c = 0; c < nc; c++) {
		char sub[8192];
		snprintf(sub, sizeof sub, "%s/%s", dir, classes[c]);
		int nf = sorted_entries(sub, 0, &files, err, errlen);
		if (nf < 0) {
			free_names(classes, nc);
			return -1;
		}
		for (int f = 0; f < nf; f++) {
			char p[16384];
			snprintf(p, sizeof p, "%s/%s", sub, files[f]);
			list_add(l, p, classes[c]);
		}
		free_names(files, nf);
	}
	free_names(classes, nc);
	return 0;
}

/* CSV: lines "path,label" (the last comma splits; paths relative to the CSV's folder; an
 * optional header "path,label"; blank lines ignored). */
static int list_csv(const char *csv, struct file_list *l, char *err, size_t errlen)
{
	FILE *f = fopen(csv, "r");
	if (!f)
		return fail(err, errlen, "%s: %s", csv, strerror(errno));
	char base[4096];
	snprintf(base, sizeof base, "%s", csv);
	char *slash = strrchr(base, '/');
	if (slash)
		slash[1] = 0;
	else
		base[0] = 0;
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		line[strcspn(line, "\r\n")] = 0;
		if (!line[0] || (lineno == 1 && !strcmp(line, "path,label")))
			continue;
		char *comma = strrchr(line, ',');
		if (!comma || comma == line || !comma[1]) {
			rc = fail(err, errlen, "%s:%d: want path,label", csv, lineno);
			break;
		}
		*comma = 0;
		if (l->n == MAX_FILES) {
			rc = fail(err, errlen, "%s: more than %d images", csv, MAX_FILES);
			break;
		}
		char p[16384];
		snprintf(p, sizeof p, "%s%s", line[0] == '/' ? "" : base, line);
		list_add(l, p, comma + 1);
	}
	free(line);
	fclose(f);
	if (!rc && !l->n)
		rc = fail(err, errlen, "%s: no images listed", csv);
	return rc;
}

static int all_digits(const char *s)
{
	if (!*s || strlen(s) > 6)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* The class names of a training list: distinct labels sorted by name; when every label is a
 * number, "0" .. the largest (index = the number). */
static int class_names_of(const struct file_list *l, struct dataset *d, char *err,
			  size_t errlen)
{
	int numeric = 1, maxv = -1;
	for (int i = 0; i < l->n && numeric; i++) {
		numeric = all_digits(l->label[i]);
		if (numeric && atoi(l->label[i]) > maxv)
			maxv = atoi(l->label[i]);
	}
	if (numeric) {
		d->classes = maxv + 1;
		d->class_names = xmalloc((size_t)d->classes * sizeof *d->class_names);
		for (int c = 0; c < d->classes; c++) {
			char num[16];
			snprintf(num, sizeof num, "%d", c);
			d->class_names[c] = xstrdup(num);
		}
		return 0;
	}
	char **sorted = xmalloc((size_t)l->n * sizeof *sorted);
	memcpy(sorted, l->label, (size_t)l->n * sizeof *sorted);
	qsort(sorted, (size_t)l->n, sizeof *sorted, cmp_str);
	d->class_names = xmalloc((size_t)l->n * sizeof *d->class_names);
	for (int i = 0; i < l->n; i++)
		if (!i || strcmp(sorted[i], sorted[i - 1]))
			d->class_names[d->classes++] = xstrdup(sorted[i]);
	free(sorted);
	if (d->classes > MAX_NAME_CLASSES)
		return fail(err, errlen, "%d classes (at most %d)", d->classes, MAX_NAME_CLASSES);
	return 0;
}

static int class_index(char *const *names, int n, const char *label)
{
	for (int c = 0; c < n; c++)
		if (!strcmp(names[c], label))
			return c;
	return -1;
}

/* Decodes every image of l into d->u8 at d->h×d->w (0: the first image's size) with d->c
 * channels (0: 3 if any image is colour, else 1). */
static int decode_all(const struct file_list *l, struct dataset *d, char *err, size_t errlen)
{
	uint8_t **px = xcalloc((size_t)l->n, sizeof *px); /* [n] resized, own channels */
	int *ch = xcalloc((size_t)l->n, sizeof *ch), rc = 0, any_colour = 0;
	for (int i = 0; i < l->n && !rc; i++) {
		uint8_t *raw;
		int h, w, c;
		if (image_read(l->path[i], &raw, &h, &w, &c, err, errlen)) {
			rc = -1;
			break;
		}
		if (!d->h) {
			d->h = h;
			d->w = w;
		}
		px[i] = xmalloc((size_t)d->h * d->w * c);
		image_resize_area(raw, h, w, c, px[i], d->h, d->w);
		free(raw);
		ch[i] = c;
		any_colour |= c == 3;
	}
	if (!rc) {
		if (!d->c)
			d->c = any_colour ? 3 : 1;
		size_t npix = (size_t)d->h * d->w, per = npix * d->c;
		if ((size_t)l->n * per > (4ull << 30))
			rc = fail(err, errlen, "%d images of %dx%dx%d is too large", l->n, d->h, d->w, d->c);
		else
			d->u8 = xmalloc((size_t)l->n * per);
		for (int i = 0; i < l->n && !rc; i++) {
			uint8_t *dst = d->u8 + (size_t)i * per;
			for (size_t p = 0; p < npix; p++)
				for (int c = 0; c < d->c; c++) /* grey -> repeated; colour -> luma */
					dst[p * d->c + c] = ch[i] == d->c ? px[i][p * ch[i] + c]
						: ch[i] == 1 ? px[i][p]
						: (uint8_t)lrintf(0.299f * px[i][p * 3] + 0.587f * px[i][p * 3 + 1] +
								  0.114f * px[i][p * 3 + 2]);
		}
	}
	for (int i = 0; i < l->n; i++)
		free(px[i]);
	free(px);
	free(ch);
	return rc;
}

void dataset_compute_norm(struct dataset *d)
{
	size_t npix = (size_t)d->n * d->h * d->w;
	for (int c = 0; c < 3; c++) {
		int src = c < d->c ? c : 0;
		double s = 0, ss = 0;
		for (size_t p = 0; p < npix; p++) {
			double v = d->u8[p * d->c + src] / 255.0;
			s += v;
			ss += v * v;
		}
		double mean = npix ? s / npix : 0, var = npix ? ss / npix - mean * mean : 0;
		d->mean[c] = (float)mean;
		d->std[c] = var > 1e-12 ? (float)sqrt(var) : 1.0f; /* a flat channel is not scaled */
	}
}

int dataset_load_images(enum dataset_kind k, const char *path, int h, int w,
			const struct dataset *like, struct dataset *d, char *err, size_t errlen)
{
	memset(d, 0, sizeof *d);
	struct file_list l = {0};
	int rc = k == DS_CSV ? list_csv(path, &l, err, errlen) : list_folder(path, &l, err, errlen);
	if (!rc && !l.n)
		rc = fail(err, errlen, "%s: no PNG or JPEG images", path);
	if (!rc && like && !like->class_names)
		rc = fail(err, errlen, "%s: the training split has no class names to match", path);
	else if (!rc && like) {
		d->classes = like->classes;
		d->class_names = xmalloc((size_t)like->classes * sizeof *d->class_names);
		for (int c = 0; c < like->classes; c++)
			d->class_names[c] = xstrdup(like->class_names[c]);
		h = like->h, w = like->w, d->c = like->c;
	} else if (!rc) {
		rc = class_names_of(&l, d, err, errlen);
	}
	d->labels = xmalloc((size_t)(l.n ? l.n : 1) * sizeof *d->labels);
	for (int i = 0; i < l.n && !rc; i++) {
		d->labels[i] = class_index(d->class_names, d->classes, l.label[i]);
		if (d->labels[i] < 0)
			rc = fail(err, errlen, "%s: class '%s' is not one of the training set's %d", l.path[i],
				  l.label[i], d->classes);
	}
	d->n = l.n;
	d->h = h;
	d->w = w;
	if (!rc)
		rc = decode_all(&l, d, err, errlen);
	list_free(&l);
	if (rc) {
		dataset_free(d);
		return -1;
	}
	d->resize = "area";
	if (like) {
		memcpy(d->mean, like->mean, sizeof d->mean);
		memcpy(d->std, like->std, sizeof d->std);
	} else {
		dataset_compute_norm(d);
	}
	return 0;
}
