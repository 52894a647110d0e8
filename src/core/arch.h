/* arch.h — the architecture: parsing, validation, canonical form and id, and its expansion into
 * layers with shapes (DESIGN.md "Architecture semantics"; the reference is the authors' PyTorch
 * model, LLMGenModel).
 *
 * Parsing validates every number against hard limits before anything is sized from it, so an
 * untrusted arch (an LLM answer) can never make a later stage allocate in proportion to it. */
#ifndef LMNAS_ARCH_H
#define LMNAS_ARCH_H
#include <stdbool.h>
#include <stdint.h>
#include <cJSON.h>

/* Hard limits of the model (not of the search space: data/search-space.json narrows these). */
#define ARCH_MAX_BLOCKS     16
#define ARCH_MAX_LAYERS     32    /* per block */
#define ARCH_MAX_CHANNELS   4096  /* output channels, and input channels times expansion */
#define ARCH_MAX_IN_CH      64
#define ARCH_MAX_KERNEL     15
#define ARCH_MAX_STRIDE     4
#define ARCH_MAX_EXPANSION  32
#define ARCH_MAX_RESOLUTION 4096
#define ARCH_MAX_CLASSES    100000
#define ARCH_MAX_TOTAL_LAYERS (ARCH_MAX_BLOCKS * ARCH_MAX_LAYERS)

enum act { ACT_RELU6, ACT_LEAKYRELU, ACT_SWISH };
#define LEAKY_SLOPE 0.01f /* LeakyReLU's negative slope, as PyTorch's default */
enum conv_type { CONV_DEPTHWISE, CONV_MBCONV };
enum skip_op { SKIP_IDENTITY, SKIP_RESIDUAL };

struct block {
	int out_ch;      /* output_channels */
	int num_layers;
	int kernel;      /* odd */
	int stride;      /* of the first layer; the others have stride 1 */
	int expansion;   /* mbconv only; ignored by depthwise */
	bool use_se;
	double se_ratio; /* SE is built when use_se && se_ratio > 0 */
	enum conv_type conv;
	enum skip_op skip;
	enum act act;
};

struct arch {
	int input_channels;
	int nblocks;
	struct block blocks[ARCH_MAX_BLOCKS];
};

/* One layer (an InvertedResidualBlock of the reference) with everything derived from the arch. */
struct arch_layer {
	int block, index;        /* PyTorch names: layers.<block>.layers.<index> */
	enum conv_type conv;
	enum act act;
	int cin, cout;
	int hidden;              /* channels of the depthwise conv: cin*E (mbconv) or cin (depthwise) */
	int kernel, stride, pad; /* of the depthwise conv; pad = kernel/2 */
	int in_h, in_w;          /* input spatial size */
	int out_h, out_w;        /* output spatial size: (in + 2*pad - kernel)/stride + 1 */
	bool se;                 /* SE present */
	int se_ch;               /* max(1, floor(hidden * se_ratio)) when se */
	bool residual;           /* skip == residual && stride == 1 */
	bool proj;               /* residual && cin != cout: BN(pw 1x1(x)) on the skip path */
};

/* Expanded network: the layers in order, then the head (GAP -> dropout -> Linear). */
struct arch_net {
	int in_h, in_w, in_ch;
	int nlayers;
	struct arch_layer layers[ARCH_MAX_TOTAL_LAYERS];
	int feat_ch; /* channels into the classifier */
	int out_h, out_w; /* spatial size before the global pool */
	int classes;
};

const char *act_name(enum act a);
const char *conv_type_name(enum conv_type c);
const char *skip_op_name(enum skip_op s);

/* Parses and validates an arch object. On failure returns -1 and writes a one-sentence reason
 * naming the field ("blocks[2].kernel_size is 4; it must be odd") into err. */
int arch_parse(const cJSON *obj, struct arch *a, char *err, size_t errlen);

/* The arch as JSON in the paper's format (every field, fixed key order). */
cJSON *arch_to_json(const struct arch *a);

/* Canonical form: fields that do not change the network are normalised (SE off => use_se false,
 * se_ratio 0; depthwise => expansion 1), so equal networks print equal. */
void arch_canonical(const struct arch *a, struct arch *canon);

/* The id: 16 hex digits of FNV-1a 64 over the canonical JSON text. out needs 17 bytes. */
void arch_id(const struct arch *a, char out[17]);

/* Expands the arch at a resolution and class count into layers with shapes. Returns 0, or -1 with
 * a reason in err (a spatial size that collapses, a hidden width over the limit). */
int arch_expand(const struct arch *a, int in_h, int in_w, int classes, struct arch_net *net,
		char *err, size_t errlen);

/* Parses "160" or "160x120" (HxW). Returns 0 on success. */
int parse_resolution(const char *s, int *h, int *w);
#endif
