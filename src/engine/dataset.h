/* dataset.h — image datasets in memory and float batches for training and evaluation.
 *
 * Formats (DESIGN.md "Data"):
 *   fashion-mnist  a folder with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (IDX; gzip is
 *                  optional, read through zlib). Default folder: the Debian package's.
 *   cifar10        a folder with data_batch_1..5.bin (train) and test_batch.bin (test): records of
 *                  1 label byte + 3072 bytes (R plane, G plane, B plane, 32×32 each).
 *   cifar100       a folder with train.bin / test.bin: records of coarse label, fine label, 3072
 *                  bytes; the fine label (100 classes) is used.
 *                  For both CIFARs the folder may also be the parent of the extracted
 *                  cifar-10-batches-bin / cifar-100-binary folder.
 *   safetensors    one file: `images` F32 [N,C,H,W] used as is (already normalised), or U8
 *                  [N,H,W,C] / [N,H,W] pixels (normalised with their own mean/std, or the
 *                  model's), optional `labels` of an integer dtype [N]. The split is ignored
 *                  (the file is the split).
 *   folder         a folder with one sub-folder per class (ImageFolder), PNG/JPEG images of any
 *                  size, grey or colour; classes sorted by name. The split is ignored.
 *   csv            a CSV file of `path,label` lines (paths relative to the CSV's folder; an
 *                  optional "path,label" header); labels are class names sorted by name, or
 *                  numbers 0..K-1 used as they are. The split is ignored.
 *                  Both (image_set.c): area-resized to one stored size, mean/std computed from
 *                  the pixels (dataset_load_images).
 *
 * Every size is validated against the file before anything is allocated from it. */
#ifndef LMNAS_DATASET_H
#define LMNAS_DATASET_H
#include <stddef.h>
#include <stdint.h>

struct augment; /* augment.h */
struct prng;     /* prng.h */

enum dataset_kind { DS_FASHION_MNIST, DS_CIFAR10, DS_CIFAR100, DS_SAFETENSORS, DS_FOLDER, DS_CSV };
enum dataset_split { SPLIT_TRAIN, SPLIT_TEST };

/* "fashion-mnist" | "cifar10" | "cifar100" | "safetensors" | "folder" | "csv" -> kind. Returns 0, or -1. */
int dataset_kind_parse(const char *name, enum dataset_kind *out);
const char *dataset_kind_name(enum dataset_kind k);
/* The Debian path for fashion-mnist, else NULL (the user must give --data). */
const char *dataset_default_path(enum dataset_kind k);

struct dataset {
	int n, h, w, c;        /* stored images, NHWC */
	int classes;           /* 10 / 100; safetensors: max label + 1 (or 0 without labels) */
	uint8_t *u8;           /* [n][h][w][c] raw pixels (IDX, CIFAR), or NULL */
	float *f32;            /* [n][h][w][c] already normalised (safetensors dataset), or NULL */
	int32_t *labels;       /* [n], or NULL when the file has none */
	float mean[3], std[3]; /* per-channel normalisation applied to u8: (x/255 - mean) / std.
				* Grey datasets repeat channel 0's values; safetensors: 0 and 1;
				* folder/csv: computed from the training split's pixels. */
	char **class_names;    /* [classes] folder/csv, else NULL */
	const char *resize;    /* how files were brought to h×w at load ("area"), or NULL */
};

/* Loads one split. path NULL means dataset_default_path(k). Returns 0, or -1 with a message
 * naming the file and the problem in err (d is then empty and needs no dataset_free). */
int dataset_load(enum dataset_kind k, const char *path, enum dataset_split split,
		 struct dataset *d, char *err, size_t errlen);
void dataset_free(struct dataset *d);

/* An image-file dataset (k = DS_FOLDER or DS_CSV) stored at h×w (0×0: the first image's size).
 * like NULL: a training split — classes from its labels, mean/std from its pixels (and c: 3
 * when any image is colour, else 1). like a loaded training split: this split takes its
 * classes (a label it lacks is an error), size, channels and mean/std. A malformed image fails
 * with the file named. Returns 0, or -1 with the message in err (d then empty). */
int dataset_load_images(enum dataset_kind k, const char *path, int h, int w,
			const struct dataset *like, struct dataset *d, char *err, size_t errlen);
/* The metadata a model carries about its data (DESIGN.md "Data"), as malloc'd JSON text:
 * normalisation {"mean":[...],"std":[...]} with one entry per stored channel (at most 3; the
 * device computes (x/255 - mean) / std), and class names ["ant",...] (NULL when unnamed). */
char *dataset_norm_json(const struct dataset *d);
char *dataset_class_names_json(const struct dataset *d);
/* The one loader for running a trained model (evaluate, quantize, emit-c): the split of kind k
 * at path (NULL: the default path) for a model whose input is h×w, with the model's metadata
 * (either may be NULL): norm_json its "normalisation", which replaces the dataset's mean/std for
 * uint8 images, and names_json its "class_names", which label a folder/csv split (without them
 * a folder/csv split is labelled and normalised from its own files, as a training split is).
 * Returns 0, or -1 with err. */
int dataset_load_for_model(enum dataset_kind k, const char *path, enum dataset_split split,
			   const char *norm_json, const char *names_json, int h, int w,
			   struct dataset *d, char *err, size_t errlen);
/* The first n images (limit > 0: at most limit) of d as normalised floats *nhwc [n][h][w][c]
 * (dataset_batch's resize and channel mapping) and *labels [n] (NULL when d has none). */
void dataset_floats(const struct dataset *d, int h, int w, int c, int limit, int *n,
		    float **nhwc, int32_t **labels);
/* d->mean/std from d->u8: per channel over every pixel, /255 (a channel of 1 repeats 0's). */
void dataset_compute_norm(struct dataset *d);

/* One float batch out: [count][out_h][out_w][out_c], for images idx[0..count).
 * Per image: the augmentation (aug NULL = none; on uint8 pixels at the stored size for u8
 * datasets, crop/flip only for f32 datasets), then normalisation, then a bilinear resize as
 * PyTorch's interpolate(mode="bilinear", align_corners=False, antialias=False) — i.e.
 * torchvision Resize on tensors without antialias. Channels: out_c == c copies; a grey image
 * (c == 1) is replicated to out_c channels; c == 3 with out_c == 1 takes the luma
 * 0.299 R + 0.587 G + 0.114 B of the normalised channels.
 * labels (may be NULL): [count] the images' labels, -1 when the dataset has none.
 * rng may be NULL when aug is NULL. Thread-safe for distinct out/labels/rng. */
void dataset_batch(const struct dataset *d, const int *idx, int count, int out_h, int out_w,
		   int out_c, const struct augment *aug, struct prng *rng, float *out, int32_t *labels);


/* The validation split carved from a training set of n images, fixed by seed: a seeded
 * permutation of 0..n-1; the first round(n·val_frac) go to validation, the rest to training.
 * train_limit > 0 then keeps only the first train_limit training images of that permutation (a
 * random subset; the validation set does not depend on the limit). Both lists are sorted
 * ascending. Returns 0, or -1 when val_frac is outside [0, 1) or nothing is left to train on. */
struct index_split {
	int *train, ntrain; /* [ntrain] */
	int *val, nval;     /* [nval] (NULL when nval == 0) */
};
int dataset_split_val(int n, double val_frac, long train_limit, uint64_t seed,
		      struct index_split *s);
void index_split_free(struct index_split *s);
#endif
