/* augment.h — training-time image augmentations.
 *
 * Per image, in torchvision's usual CIFAR order: random crop with zero padding, random
 * horizontal flip, then AutoAugment with torchvision's CIFAR10 policy. They work on uint8 pixels
 * [h][w][c] at the stored size, before normalisation (dataset_batch calls them). MixUp works on
 * a whole normalised float batch.
 *
 * AutoAugment follows torchvision.transforms.AutoAugment(AutoAugmentPolicy.CIFAR10) on uint8
 * tensors (interpolation NEAREST, fill None = 0): one of the 25 sub-policies uniformly, each of its
 * two operations applied when a uniform draw is <= its probability, a signed magnitude negated
 * with probability 1/2, magnitudes from torchvision's _augmentation_space with 10 bins for the
 * image's own size. The arithmetic is torchvision's tensor path (float32 blends truncated to
 * uint8, torch.round for the sharpness blur, integer equalize, grid_sample nearest with PyTorch's
 * pixel-centre convention). The random numbers come from struct prng, not torch's generator.
 *
 * Grey images (c == 1) take torchvision's 1-channel tensor path: Color (saturation) leaves the
 * image unchanged, Contrast blends towards the mean of the image itself; every other operation
 * works per channel exactly as for RGB. */
#ifndef LMNAS_AUGMENT_H
#define LMNAS_AUGMENT_H
#include <stddef.h>
#include <stdint.h>

struct prng;

struct augment {
	int crop_pad;    /* > 0: pad each side with this many zero pixels, crop back to h×w at a
			  * uniform random offset (torchvision RandomCrop(size, padding=crop_pad)) */
	int hflip;       /* 1: mirror left-right with probability 0.5 */
	int autoaugment; /* 1: AutoAugment, CIFAR10 policy (uint8 images only) */
	double erase_p;  /* > 0: random erasing with this probability (augment_erase) */
};

/* img: [h][w][c] uint8 (c is 1 or 3 for AutoAugment), changed in place. */
void augment_u8(const struct augment *a, uint8_t *img, int h, int w, int c, struct prng *rng);
/* img: [h][w][c] float (already normalised: the crop pads with 0). Crop and flip only;
 * AutoAugment needs uint8 pixels and is skipped. */
void augment_f32(const struct augment *a, float *img, int h, int w, int c, struct prng *rng);

/* Random erasing (Zhong et al. 2020; torchvision RandomErasing(p, scale=(0.02, 0.33),
 * ratio=(0.3, 3.3), value=0)): with probability a->erase_p, up to 10 tries to draw a rectangle of
 * a uniform 2-33% of the area and a log-uniform aspect that fits, set to 0 (the mean, as img is
 * normalised). img: [h][w][c] float. Draws nothing when erase_p is 0. */
void augment_erase(const struct augment *a, float *img, int h, int w, int c, struct prng *rng);

/* ---- AutoAugment operations, exposed for tests. img: [h][w][c] uint8, in place. ---- */
enum aa_op {
	AA_SHEAR_X, AA_SHEAR_Y, AA_TRANSLATE_X, AA_TRANSLATE_Y, AA_ROTATE, AA_BRIGHTNESS, AA_COLOR,
	AA_CONTRAST, AA_SHARPNESS, AA_POSTERIZE, AA_SOLARIZE, AA_AUTOCONTRAST, AA_EQUALIZE,
	AA_INVERT, AA_NOPS
};
const char *aa_op_name(enum aa_op op);
/* The op with torchvision's magnitude argument (already signed): shear factor, pixels, degrees,
 * blend factor minus 1, posterize bits, solarize threshold; ignored by the last three. */
void aa_apply(enum aa_op op, float magnitude, uint8_t *img, int h, int w, int c);
/* torchvision's magnitude for bin (0..9) of op on a w×h image (unsigned; float32 linspace). */
float aa_magnitude(enum aa_op op, int bin, int h, int w);
/* Applies one sub-policy (0..24) of the CIFAR10 policy with the given draws: probs[2] uniform in
 * [0,1), signs[2] in {0, 1} (0 negates a signed magnitude, as torchvision). */
void aa_subpolicy(int id, const float probs[2], const int signs[2], uint8_t *img, int h, int w,
		  int c);
/* One full AutoAugment draw: sub-policy, two probabilities, two signs. */
void aa_random(uint8_t *img, int h, int w, int c, struct prng *rng);

/* MixUp on a normalised batch x: [count][per_image]. lambda ~ Beta(alpha, alpha) once for the
 * batch and a random permutation p of the batch: x[i] = lambda·x[i] + (1 − lambda)·x[p[i]],
 * labels_b[i] = labels[p[i]]. The loss is lambda·CE(labels) + (1 − lambda)·CE(labels_b).
 * Returns lambda. */
float mixup_batch(float *x, int count, size_t per_image, const int32_t *labels, int32_t *labels_b,
		  double alpha, struct prng *rng);
#endif
