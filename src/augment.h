/* augment.h — training-time image augmentations.
 *
 * Per image, in torchvision's usual CIFAR order: random crop with zero padding, random
 * horizontal flip, then AutoAugment (torchvision's CIFAR10 policy). They work on uint8 pixels
 * [h][w][c] at the stored size, before normalisation (dataset_batch calls them). MixUp works on
 * a whole normalised float batch. */
#ifndef LMNAS_AUGMENT_H
#define LMNAS_AUGMENT_H
#include <stdint.h>

struct rng;

struct augment {
	int crop_pad; /* > 0: pad each side with this many zero pixels, crop back to h×w at a uniform
		       * random offset (torchvision RandomCrop(size, padding=crop_pad)); 0 = off */
	int hflip;    /* 1: mirror left-right with probability 0.5 */
};

/* img: [h][w][c] uint8, changed in place. */
void augment_u8(const struct augment *a, uint8_t *img, int h, int w, int c, struct rng *rng);
/* img: [h][w][c] float (already normalised: the crop pads with 0). Crop and flip only. */
void augment_f32(const struct augment *a, float *img, int h, int w, int c, struct rng *rng);
#endif
