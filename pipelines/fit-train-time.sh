#!/bin/sh
# pipelines/fit-train-time.sh [MEASUREMENTS] — fits the constants of the training-time estimate
# (src/cost/train_time.c) to measured training speeds, and prints them with the fit's errors.
#
#   pipelines/fit-train-time.sh data/train-time.jsonl
#
# MEASUREMENTS (default data/train-time.jsonl): records with an arch, resolution, classes and
# bench.images_per_s (mini-train --benchmark STEPS --batch 128 --threads 1, on a machine with a
# core to itself: the figures are only as good as that). To measure new ones:
#
#   bin/gen-arch --strategy random --count 16 --seed 7 --input-channels 1 --resolution 28 \
#     --classes 10 --macs-max 30M --sram-max 64KiB --flash-max 256KiB |
#     bin/mini-train --benchmark 5 --warmup 1 --batch 128 --resolution 28 --classes 10 --threads 1
#
# Model: us per image = C0 + C_PW * pw_mmacs + C_DW * dw_mmacs + C_ACT * act_k (the features of
# check-cost --train-time), least squares on relative errors (each row divided by its measured
# time: a 60 us design counts as much as a 9000 us one). Needs jq and awk.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/bin}
M=${1:-$ROOT/data/train-time.jsonl}
case $M in -h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
[ -r "$M" ] || { echo "fit-train-time: cannot read $M" >&2; exit 2; }
"$BIN/check-cost" --train-time <"$M" 2>/dev/null |
	jq -r 'select(.cost.train_features and .bench.images_per_s > 0)
		| "\(.cost.train_features.pw_mmacs) \(.cost.train_features.dw_mmacs) \(.cost.train_features.act_k) \(1e6 / .bench.images_per_s) \(.id)"' |
	awk '
	{ x[NR,1] = 1; x[NR,2] = $1; x[NR,3] = $2; x[NR,4] = $3; y[NR] = $4; id[NR] = $5; n = NR }
	END {
		if (n < 5) { print "fit-train-time: fewer than 5 measurements" > "/dev/stderr"; exit 2 }
		K = 4
		for (i = 1; i <= n; i++)
			for (a = 1; a <= K; a++) {
				b_[a] += x[i,a] / y[i]
				for (b = 1; b <= K; b++) A[a,b] += x[i,a] * x[i,b] / (y[i] * y[i])
			}
		# Gaussian elimination with partial pivoting on A c = b_.
		for (p = 1; p <= K; p++) {
			m = p
			for (r = p + 1; r <= K; r++) if ((A[r,p] < 0 ? -A[r,p] : A[r,p]) > (A[m,p] < 0 ? -A[m,p] : A[m,p])) m = r
			for (c = 1; c <= K; c++) { t = A[p,c]; A[p,c] = A[m,c]; A[m,c] = t }
			t = b_[p]; b_[p] = b_[m]; b_[m] = t
			for (r = p + 1; r <= K; r++) {
				f = A[r,p] / A[p,p]
				for (c = p; c <= K; c++) A[r,c] -= f * A[p,c]
				b_[r] -= f * b_[p]
			}
		}
		for (p = K; p >= 1; p--) {
			s = b_[p]
			for (c = p + 1; c <= K; c++) s -= A[p,c] * coef[c]
			coef[p] = s / A[p,p]
		}
		printf "static const double C0 = %.4g, C_PW = %.4g, C_DW = %.4g, C_ACT = %.4g;\n", coef[1], coef[2], coef[3], coef[4]
		for (i = 1; i <= n; i++) {
			e = coef[1] + coef[2] * x[i,2] + coef[3] * x[i,3] + coef[4] * x[i,4]
			r = (e - y[i]) / y[i]; sum += (r < 0 ? -r : r); if ((r < 0 ? -r : r) > worst) worst = (r < 0 ? -r : r)
			printf "# %s measured %8.1f us, estimated %8.1f us (%+.0f%%)\n", id[i], y[i], e, 100 * r
		}
		printf "# %d measurements: mean |error| %.1f%%, worst %.1f%%\n", n, 100 * sum / n, 100 * worst
	}'
