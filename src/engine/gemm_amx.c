/* gemm_amx.c — bf16 GEMMs on AMX tiles with fp32 sums. See gemm_amx.h.
 *
 * The tiles: eight registers of 16 rows x 64 bytes. A product tile C (16 x 16 fp32) gains
 * A (16 rows x 32 bf16 along the sum) times B (16 rows of 16 column pairs: row kk holds
 * B[2kk][n], B[2kk + 1][n] side by side, "VNNI" order) per tdpbf16ps. Here tiles 0-3 hold a
 * 32 x 32 block of C, 4-5 two A tiles (32 rows), 6-7 two B tiles (32 columns).
 *
 * Both kernels pack B's rows in pairs (pack_b_pairs: the tiles' "VNNI" order, K rounded up to
 * 32 and N to 16 with zeros) and run every 32 x 32 block of C through tile_block.
 * gemm_amx_nn packs B once per call and A GEMM_AMX_ROWS rows at a time (rows of K rounded up to
 * 32; packing well ahead of the tile loads that read it), then sweeps each 32 rows' C across N:
 * a block that lies inside C is stored straight into it (loaded first when adding), one past N
 * or M goes through a buffer.
 * gemm_amx_tn sums over R in chunks of GEMM_AMX_RC pixels: each chunk packs Aᵀ (P rows of
 * pixels: pixel pairs of 16 columns, transposed 16 x 16 words at a time) and B, then every
 * block of C is loaded from an fp32 accumulator, gains the chunk and is stored back.
 *
 * Tiles are configured at the start of each call and released at its end (the kernel then need
 * not save them when the thread is switched out). Packing buffers are per thread and kept. */
#include "engine/gemm_amx.h"
#include "core/cpu.h"
#include "core/util.h"

#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AMX_TARGET "amx-tile,amx-bf16,avx512f,avx512bw,avx512bf16"
#define ARCH_REQ_XCOMP_PERM 0x1023 /* Linux's arch_prctl: ask for an extended state */
#define XFEATURE_XTILEDATA 18      /* the tile data */
#define GEMM_AMX_RC 512            /* pixels per chunk of gemm_amx_tn (16 steps of 32) */
#define GEMM_AMX_ROWS 256          /* rows of A packed at a time by gemm_amx_nn */

/* The tile configuration (ldtilecfg's 64 bytes): palette 1, every tile 16 rows x 64 bytes. */
struct tile_config {
	uint8_t palette, start_row, reserved[14];
	uint16_t bytes_per_row[16];
	uint8_t rows[16];
};

int gemm_amx_ready(void)
{
	static int ready = -1;
	if (ready >= 0)
		return ready;
	ready = cpu_features_detect().amx_bf16 &&
		syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
	return ready;
}

__attribute__((target(AMX_TARGET))) static void tiles_on(void)
{
	struct tile_config c;
	memset(&c, 0, sizeof c);
	c.palette = 1;
	for (int t = 0; t < 8; t++) {
		c.bytes_per_row[t] = 64;
		c.rows[t] = 16;
	}
	_tile_loadconfig(&c);
}

/* A buffer per thread that grows as needed, 64-byte aligned, kept for the thread's life. */
struct scratch {
	void *p;
	size_t bytes;
};
static _Thread_local struct scratch scratch_a, scratch_b, scratch_c;

static void *scratch_get(struct scratch *s, size_t bytes)
{
	if (s->bytes < bytes) {
		free(s->p);
		s->p = NULL;
		if (posix_memalign(&s->p, 64, bytes))
			die("out of memory (%zu bytes)", bytes);
		s->bytes = bytes;
	}
	return s->p;
}

static int round_up(int n, int to)
{
	return (n + to - 1) / to * to;
}

/* The lanes below n of a 16-lane vector. */
static __mmask16 lanes(int n)
{
	return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* 16 floats from p (lanes below n; zeros above) */
__attribute__((target(AMX_TARGET))) static __m512 load16(const float *p, int n)
{
	return _mm512_maskz_loadu_ps(lanes(n), p);
}

/* dst[0 .. 32) = bf16 of src[0 .. n), zeros from n on */
__attribute__((target(AMX_TARGET))) static void to_bf16_32(uint16_t *dst, const float *src, int n)
{
	__m512bh v = _mm512_cvtne2ps_pbh(load16(src + 16, n - 16), load16(src, n));
	_mm512_storeu_si512(dst, (__m512i)v);
}

/* Row-major src [rows][cols] (stride lds) into dst [n][kp] bf16, zero beyond rows and cols. */
__attribute__((target(AMX_TARGET))) static void pack_rows(uint16_t *dst, int kp, const float *src,
							   int lds, int n, int rows, int cols)
{
	for (int r = 0; r < n; r++)
		for (int k = 0; k < kp; k += 32)
			to_bf16_32(dst + (size_t)r * kp + k, src + (size_t)r * lds + k,
				   r < rows ? cols - k : 0);
}

/* The 16 x 16 matrix of 32-bit words in v, transposed into t: t[j] word i = v[i] word j. */
__attribute__((target(AMX_TARGET))) static void transpose16(__m512i t[16], const __m512i v[16])
{
	__m512i a[16], u[16];
	for (int i = 0; i < 16; i += 2) { /* pairs of rows, word by word */
		a[i] = _mm512_unpacklo_epi32(v[i], v[i + 1]);
		a[i + 1] = _mm512_unpackhi_epi32(v[i], v[i + 1]);
	}
	for (int i = 0; i < 16; i += 4) { /* four rows: u[i + c] has column c + 4q in lane q */
		u[i] = _mm512_unpacklo_epi64(a[i], a[i + 2]);
		u[i + 1] = _mm512_unpackhi_epi64(a[i], a[i + 2]);
		u[i + 2] = _mm512_unpacklo_epi64(a[i + 1], a[i + 3]);
		u[i + 3] = _mm512_unpackhi_epi64(a[i + 1], a[i + 3]);
	}
	for (int c = 0; c < 4; c++) { /* lane q of the four row groups: column c + 4q */
		__m512i x0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44);
		__m512i x1 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44);
		__m512i y0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xee);
		__m512i y1 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xee);
		t[c] = _mm512_shuffle_i32x4(x0, x1, 0x88);
		t[c + 4] = _mm512_shuffle_i32x4(x0, x1, 0xdd);
		t[c + 8] = _mm512_shuffle_i32x4(y0, y1, 0x88);
		t[c + 12] = _mm512_shuffle_i32x4(y0, y1, 0xdd);
	}
}

/* bf16 pairs of rows r and r + 1 of src (16 columns from 0, lanes below n): word q =
 * (src[r][q], src[r + 1][q]); rows at or past rows are zeros. */
__attribute__((target(AMX_TARGET))) static __m512i row_pairs(const float *src, int lds, int r,
							      int rows, int n)
{
	const __m512i mix = _mm512_setr_epi32(0x00100000, 0x00110001, 0x00120002, 0x00130003,
					      0x00140004, 0x00150005, 0x00160006, 0x00170007,
					      0x00180008, 0x00190009, 0x001a000a, 0x001b000b,
					      0x001c000c, 0x001d000d, 0x001e000e, 0x001f000f);
	__m512 e0 = r < rows ? load16(src + (size_t)r * lds, n) : _mm512_setzero_ps();
	__m512 e1 = r + 1 < rows ? load16(src + (size_t)(r + 1) * lds, n) : _mm512_setzero_ps();
	__m512i v = (__m512i)_mm512_cvtne2ps_pbh(e1, e0); /* e0's 16, then e1's */
	return _mm512_permutexvar_epi16(mix, v);
}

/* B's rows in pairs, the tiles' "VNNI" order: bv[s][kk][2q + e] = bf16(B[32s + 2kk + e][q]) for
 * q < qp, zeros past rows or Q; the B tile of step s and columns [16j, 16j + 16) starts at
 * bv[s][0][32j], rows 2·qp apart. */
__attribute__((target(AMX_TARGET))) static void pack_b_pairs(uint16_t *bv, const float *B,
							      int ldb, int rows, int Q, int qp,
							      int ks)
{
	for (int r = 0; r < 32 * ks; r += 2)
		for (int q = 0; q < qp; q += 16)
			_mm512_storeu_si512(bv + (size_t)(r / 2) * 2 * qp + 2 * q,
					    row_pairs(B + q, ldb, r, rows, Q - q));
}

/* Aᵀ's rows [0, pp) for pixels [0, rcp) of the chunk: at[p][r] = bf16(A[r][p]), zeros past
 * rows or P (A: the chunk's first pixel, stride lda). 32 pixels x 16 columns at a time: the
 * pixel pairs' words of 16 columns, transposed so that each column's 16 pairs lie in a row. */
__attribute__((target(AMX_TARGET))) static void pack_at(uint16_t *at, int rcp, const float *A,
							 int lda, int rows, int P, int pp)
{
	__m512i v[16], t[16];
	for (int r = 0; r < rcp; r += 32)
		for (int p0 = 0; p0 < pp; p0 += 16) {
			for (int i = 0; i < 16; i++)
				v[i] = row_pairs(A + p0, lda, r + 2 * i, rows, P - p0);
			transpose16(t, v);
			for (int j = 0; j < 16; j++)
				_mm512_storeu_si512(at + (size_t)(p0 + j) * rcp + r, t[j]);
		}
}

/* A 32 x 32 block of C (32 x 16 when nb is 1), c with row stride ldc floats, gains the product
 * of ks steps of 32 along the sum: A's 32 rows at a (row stride lda bf16, 32 more per step) and
 * B's pairs at b (the step's 16 pair rows, row stride ldb bf16: pack_b_pairs's layout). c is
 * loaded first when load, else the sums start from zero. */
__attribute__((target(AMX_TARGET))) static void tile_block(float *c, int ldc, int load,
							    const uint16_t *a, int lda,
							    const uint16_t *b, int ldb, int ks,
							    int nb)
{
	const size_t down = (size_t)16 * ldc;
	if (load) {
		_tile_loadd(0, c, ldc * 4);
		_tile_loadd(2, c + down, ldc * 4);
		if (nb == 2) {
			_tile_loadd(1, c + 16, ldc * 4);
			_tile_loadd(3, c + down + 16, ldc * 4);
		}
	} else {
		_tile_zero(0);
		_tile_zero(1);
		_tile_zero(2);
		_tile_zero(3);
	}
	for (int s = 0; s < ks; s++) {
		const uint16_t *as = a + 32 * s, *bs = b + (size_t)16 * ldb * s;
		_tile_loadd(4, as, lda * 2);
		_tile_loadd(5, as + (size_t)16 * lda, lda * 2);
		_tile_loadd(6, bs, ldb * 2);
		_tile_dpbf16ps(0, 4, 6);
		_tile_dpbf16ps(2, 5, 6);
		if (nb == 2) {
			_tile_loadd(7, bs + 32, ldb * 2);
			_tile_dpbf16ps(1, 4, 7);
			_tile_dpbf16ps(3, 5, 7);
		}
	}
	_tile_stored(0, c, ldc * 4);
	_tile_stored(2, c + down, ldc * 4);
	if (nb == 2) {
		_tile_stored(1, c + 16, ldc * 4);
		_tile_stored(3, c + down + 16, ldc * 4);
	}
}

/* C[r][0 .. n) (+)= cb[r][0 .. n) for r < rows */
__attribute__((target(AMX_TARGET))) static void write_c(float *C, int ldc, const float *cb,
							 int ldcb, int rows, int n, int add)
{
	for (int r = 0; r < rows; r++)
		for (int i = 0; i < n; i += 16) {
			__mmask16 m = lanes(n - i);
			float *c = C + (size_t)r * ldc + i;
			__m512 v = _mm512_maskz_loadu_ps(m, cb + (size_t)r * ldcb + i);
			if (add)
				v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, c));
			_mm512_mask_storeu_ps(c, m, v);
		}
}

/* Rows [0, rows) (rows <= 32) of C from the packed A block: column tile pairs that lie inside C
 * go straight to C; a pair past N or a block short of 32 rows goes through cb. */
__attribute__((target(AMX_TARGET))) static void rows_nn(float *C, int ldc, int add, int rows,
							 int N, const uint16_t *ap, int kp,
							 const uint16_t *bv, int ks, int np, float *cb)
{
	for (int j = 0; j < np / 16; j += 2) {
		int nb = np / 16 - j >= 2 ? 2 : 1, col = 16 * j;
		const uint16_t *b = bv + 2 * col;
		if (rows == 32 && col + 16 * nb <= N) {
			tile_block(C + col, ldc, add, ap, kp, b, 2 * np, ks, nb);
		} else {
			tile_block(cb + col, np, 0, ap, kp, b, 2 * np, ks, nb);
			int n = N - col < 16 * nb ? N - col : 16 * nb;
			write_c(C + col, ldc, cb + col, np, rows, n, add);
		}
	}
}

__attribute__((target(AMX_TARGET))) void gemm_amx_nn(int M, int N, int K, const float *A, int lda,
						     const float *B, int ldb, float *C, int ldc,
						     int add)
{
	if (M <= 0 || N <= 0)
		return;
	const int kp = round_up(K > 0 ? K : 1, 32), ks = kp / 32, np = round_up(N, 16);
	uint16_t *bv = scratch_get(&scratch_b, (size_t)kp * np * sizeof(uint16_t));
	uint16_t *ap = scratch_get(&scratch_a, (size_t)GEMM_AMX_ROWS * kp * sizeof(uint16_t));
	float *cb = scratch_get(&scratch_c, (size_t)32 * np * sizeof(float));
	pack_b_pairs(bv, B, ldb, K, N, np, ks);
	tiles_on();
	for (int m0 = 0; m0 < M; m0 += GEMM_AMX_ROWS) {
		int rows = M - m0 < GEMM_AMX_ROWS ? M - m0 : GEMM_AMX_ROWS;
		pack_rows(ap, kp, A + (size_t)m0 * lda, lda, round_up(rows, 32), rows, K);
		for (int b0 = 0; b0 < rows; b0 += 32)
			rows_nn(C + (size_t)(m0 + b0) * ldc, ldc, add, rows - b0 < 32 ? rows - b0 : 32,
				N, ap + (size_t)b0 * kp, kp, bv, ks, np, cb);
	}
	_tile_release();
}

__attribute__((target(AMX_TARGET))) void gemm_amx_tn(int P, int Q, int R, const float *A, int lda,
						     const float *B, int ldb, float *C, int ldc)
{
	if (P <= 0 || Q <= 0)
		return;
	const int pp = round_up(P, 32), qp = round_up(Q, 16), qt = qp / 16;
	const int rcmax = R < GEMM_AMX_RC ? round_up(R > 0 ? R : 1, 32) : GEMM_AMX_RC;
	float *acc = scratch_get(&scratch_c, (size_t)pp * qp * sizeof(float));
	uint16_t *at = scratch_get(&scratch_a, (size_t)pp * rcmax * sizeof(uint16_t));
	uint16_t *bv = scratch_get(&scratch_b, (size_t)rcmax * qp * sizeof(uint16_t));
	memset(acc, 0, (size_t)pp * qp * sizeof(float));
	tiles_on();
	for (int r0 = 0; r0 < R; r0 += GEMM_AMX_RC) {
		int rows = R - r0 < GEMM_AMX_RC ? R - r0 : GEMM_AMX_RC;
		int rcp = round_up(rows, 32), ks = rcp / 32;
		pack_at(at, rcp, A + (size_t)r0 * lda, lda, rows, P, pp);
		pack_b_pairs(bv, B + (size_t)r0 * ldb, ldb, rows, Q, qp, ks);
		for (int p0 = 0; p0 < pp; p0 += 32)
			for (int j = 0; j < qt; j += 2)
				tile_block(acc + (size_t)p0 * qp + 16 * j, qp, 1, at + (size_t)p0 * rcp,
					   rcp, bv + 32 * j, 2 * qp, ks, qt - j >= 2 ? 2 : 1);
	}
	_tile_release();
	write_c(C, ldc, acc, qp, P, Q, 0);
}


/* STEPS x 4 tdpbf16ps on tiles of bf16 ones: each of C's 256 values per tile gains 32 a step. */
#define PROBE_STEPS 20000
__attribute__((noinline, target(AMX_TARGET))) static double probe_run(void)
{
	static uint16_t ones[512];
	static float out[4][256];
	for (int i = 0; i < 512; i++)
		ones[i] = 0x3f80; /* bf16 1.0 */
	tiles_on();
	_tile_zero(0);
	_tile_zero(1);
	_tile_zero(2);
	_tile_zero(3);
	_tile_loadd(4, ones, 64);
	_tile_loadd(6, ones, 64);
	for (int s = 0; s < PROBE_STEPS; s++) {
		_tile_dpbf16ps(0, 4, 6);
		_tile_dpbf16ps(1, 4, 6);
		_tile_dpbf16ps(2, 4, 6);
		_tile_dpbf16ps(3, 4, 6);
	}
	_tile_stored(0, out[0], 64);
	_tile_stored(1, out[1], 64);
	_tile_stored(2, out[2], 64);
	_tile_stored(3, out[3], 64);
	_tile_release();
	double sum = 0;
	for (int t = 0; t < 4; t++)
		for (int i = 0; i < 256; i++)
			sum += out[t][i];
	return sum;
}

double gemm_amx_gflops_core(void)
{
	if (!gemm_amx_ready())
		return -1;
	const double macs = 4.0 * PROBE_STEPS * 256 * 32, expected = macs;
	double best = 0;
	for (int t = 0; t < 5; t++) {
		double t0 = now_seconds();
		double sum = probe_run();
		double secs = now_seconds() - t0;
		if (sum != expected)
			return -1;
		if (secs > 0 && 2 * macs / secs / 1e9 > best)
			best = 2 * macs / secs / 1e9;
	}
	return best;
}

float gemm_amx_round(float x)
{
	uint32_t u;
	memcpy(&u, &x, sizeof u);
	if ((u & 0x7f800000u) == 0x7f800000u) /* inf and NaN: keep (quiet a NaN) */
		u = (u & 0x7fffffu) ? (u | 0x400000u) & 0xffff0000u : u;
	else if ((u & 0x7f800000u) == 0) /* subnormals: zero, as the hardware's conversion does */
		u &= 0x80000000u;
	else
		u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
	memcpy(&x, &u, sizeof x);
	return x;
}

void gemm_amx_ref(int trans_a, int M, int N, int K, const float *A, int lda, const float *B,
		  int ldb, float *C, int ldc, int add)
{
	for (int m = 0; m < M; m++)
		for (int n = 0; n < N; n++) {
			double s = 0;
			for (int k = 0; k < K; k++) {
				float a = trans_a ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k];
				s += (double)gemm_amx_round(a) *
				     gemm_amx_round(B[(size_t)k * ldb + n]);
			}
			float *c = C + (size_t)m * ldc + n;
			*c = add ? *c + (float)s : (float)s;
		}
}
