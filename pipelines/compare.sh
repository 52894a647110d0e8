#!/bin/sh
# pipelines/compare.sh — do the search strategies beat random sampling? (`make compare`). Runs the
# search (pipelines/search.sh) for every strategy x seed with the same number of evaluations, trains
# each run's final front with the reference recipe (cached with pipelines/fidelity.sh's cache, so a
# design found twice, or already measured by `make fidelity`, is trained once), and reports per
# strategy the mean and spread over seeds of the final front's hypervolume (reference accuracy
# against MACs and params, as a fraction of the budget box) and of its best reference accuracy,
# with a plot of hypervolume (proxy accuracy) against evaluations. Every setting is an environment
# variable or a NAME=value argument:
#
#   pipelines/compare.sh RUN=runs/compare STRATEGIES="random evolve" SEEDS="1 2 3" ITER=2 CANDIDATES=4
#
#   RUN=dir (runs/compare)   one search per STRATEGY-SEED folder; compare.json, runs.jsonl,
#                    hv-curve.dat, compare.png
#   STRATEGIES ("random evolve", and llm when LLM_URL is set)   SEEDS ("1 2 3")
#   ITER (2) CANDIDATES (4): every run gets ITER x CANDIDATES candidates (the same budget)
#   JOBS (2)  DATASET RESOLUTION CLASSES INPUT_CHANNELS MACS_MAX SRAM_MAX FLASH_MAX: as search.sh
#   MINI_ARGS        the proxy (search.sh's default when unset)
#   REF_ARGS         the reference recipe (pipelines/fidelity.sh's default when unset), seed 1
#   CACHE (runs/fidelity-cache)   reference results per (settings, design id)
#   LLM_URL, LLM_MODEL, GEN_ARGS, MINI_ARGS: the search reads them from the environment
#   PLOT=0 no picture
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/bin}
. "$ROOT/pipelines/settings.sh"
settings_from_args "$@"

RUN=${RUN:-runs/compare}
LLM_URL=${LLM_URL:-}
STRATEGIES=${STRATEGIES:-random evolve${LLM_URL:+ llm}}
SEEDS=${SEEDS:-1 2 3}
ITER=${ITER:-2}
CANDIDATES=${CANDIDATES:-4}
JOBS=${JOBS:-2}
default_target # DATASET DATA RESOLUTION CLASSES INPUT_CHANNELS MACS_MAX SRAM_MAX FLASH_MAX (settings.sh)
REF_ARGS=${REF_ARGS-$(sed -n 's/^REF_ARGS=\${REF_ARGS-"\(.*\)"}$/\1/p' "$ROOT/pipelines/fidelity.sh")}
CACHE=${CACHE:-runs/fidelity-cache}
PLOT=${PLOT:-1}

log() { echo "compare: $*" >&2; }
die() { echo "compare: error: $*" >&2; exit 2; }
whole_numbers ITER CANDIDATES JOBS
for s in $STRATEGIES; do case $s in random | evolve | llm) ;; *) die "STRATEGIES: '$s' is not random, evolve or llm" ;; esac; done
for s in $SEEDS; do case $s in '' | *[!0-9]*) die "SEEDS: '$s' is not a whole number" ;; esac; done
[ -n "$REF_ARGS" ] || die "REF_ARGS is empty"
for p in gen-arch mini-train pareto feedback rank-corr check-cost; do [ -x "$BIN/$p" ] || die "$BIN/$p is missing: run make"; done
command -v jq >/dev/null || die "jq is missing (make deps)"
command -v parallel >/dev/null || die "GNU parallel is missing (make deps)"

mkdir -p "$RUN" "$CACHE"
COMMON="--dataset $DATASET${DATA:+ --data $DATA} --resolution $RESOLUTION --seed 1"
key=$(printf '%s' "$COMMON $REF_ARGS" | sha1sum | cut -c1-12)
REF_DIR=$CACHE/$key
mkdir -p "$REF_DIR"
[ -s "$REF_DIR/settings.txt" ] || printf '%s\n' "$COMMON $REF_ARGS" >"$REF_DIR/settings.txt"
NNN=$(printf %03d "$ITER")
{
	echo "strategies: $STRATEGIES; seeds: $SEEDS; each run $ITER iterations x $CANDIDATES candidates"
	echo "budgets: MACs <= $MACS_MAX, SRAM <= $SRAM_MAX, flash <= $FLASH_MAX at ${RESOLUTION}x$RESOLUTION"
	echo "proxy: ${MINI_ARGS-search.sh's default MINI_ARGS}"
	echo "reference on each final front: mini-train $COMMON $REF_ARGS   ($REF_DIR)"
} >"$RUN/settings.txt"
sed 's/^/compare: /' "$RUN/settings.txt" >&2

# 1. The searches (each resumes where it stopped).
t0=$(date +%s)
for s in $STRATEGIES; do
	for seed in $SEEDS; do
		r=$RUN/$s-$seed
		if [ -s "$r/front-$NNN.jsonl" ]; then
			log "$s seed $seed: done before"
			continue
		fi
		log "$s seed $seed: searching"
		# shellcheck disable=SC2086
		"$ROOT/pipelines/search.sh" RUN="$r" ITER="$ITER" CANDIDATES="$CANDIDATES" STRATEGY="$s" \
			SEED="$seed" JOBS="$JOBS" DATASET="$DATASET" DATA="$DATA" RESOLUTION="$RESOLUTION" \
			CLASSES="$CLASSES" INPUT_CHANNELS="$INPUT_CHANNELS" MACS_MAX="$MACS_MAX" \
			SRAM_MAX="$SRAM_MAX" FLASH_MAX="$FLASH_MAX" PLOT=0 2>"$r.log" || die "the $s seed $seed search failed (see $r.log)"
	done
done
log "searches done in $(($(date +%s) - t0)) s"

# 2. The reference recipe on every final front (each design once).
for s in $STRATEGIES; do for seed in $SEEDS; do cat "$RUN/$s-$seed/front-$NNN.jsonl"; done; done |
	jq -s -c 'unique_by(.id) | .[]' >"$RUN/.fronts.jsonl"
log "reference: $(grep -c '' "$RUN/.fronts.jsonl") front designs"
# shellcheck disable=SC2086
parallel --will-cite --pipe -N1 -j"$JOBS" --halt never \
	"$ROOT/pipelines/fidelity.sh" --train-one "$REF_DIR" $COMMON --threads 1 --no-progress $REF_ARGS \
	<"$RUN/.fronts.jsonl" || log "some reference trainings failed (logs in $REF_DIR)"

# 3. Per run: the final front's hypervolume with reference accuracies, the best reference accuracy,
#    and the hypervolume (proxy accuracy) after each evaluation.
REFS="--ref cost.macs=$MACS_MAX --ref cost.params=$FLASH_MAX"
: >"$RUN/runs.jsonl.tmp"
: >"$RUN/hv-curve.dat"
for s in $STRATEGIES; do
	for seed in $SEEDS; do
		r=$RUN/$s-$seed
		while IFS= read -r rec; do
			id=$(echo "$rec" | jq -r .id)
			[ -s "$REF_DIR/$id.json" ] || continue
			echo "$rec" | jq -c --argjson m "$(jq -c .mini "$REF_DIR/$id.json")" '. + {ref: $m} | del(.pareto)'
		done <"$r/front-$NNN.jsonl" >"$r/front-ref.jsonl"
		# shellcheck disable=SC2086
		"$BIN/pareto" --objective ref.val_acc:max --objective cost.macs:min --objective cost.params:min \
			--ref ref.val_acc=0 $REFS --acc ref.val_acc --summary "$r/front-ref-summary.json" \
			"$r/front-ref.jsonl" >/dev/null 2>&1 || true
		jq -R -n -c '[inputs | fromjson? // empty | select(.mini.val_acc != null)]
			| sort_by(.gen.iteration // 0, .id) | .[]' "$r/evaluated.jsonl" >"$r/.ordered.jsonl"
		n=$(grep -c '' "$r/.ordered.jsonl" || true)
		k=1
		while [ "$k" -le "$n" ]; do
			# shellcheck disable=SC2086
			hv=$(head -n "$k" "$r/.ordered.jsonl" | "$BIN/pareto" --ref mini.val_acc=0 $REFS \
				--summary "$r/.hv.json" >/dev/null 2>&1 && jq .hypervolume_normalized "$r/.hv.json")
			echo "$s $seed $k $hv" >>"$RUN/hv-curve.dat"
			k=$((k + 1))
		done
		rm -f "$r/.ordered.jsonl" "$r/.hv.json"
		jq -n -c --arg s "$s" --argjson seed "$seed" --argjson n "$n" \
			--slurpfile f "$r/front-$NNN.jsonl" --slurpfile fr "$r/front-ref.jsonl" \
			--slurpfile sum "$r/front-ref-summary.json" \
			'{strategy: $s, seed: $seed, evaluated: $n, front: ($f | length), front_with_ref: ($fr | length),
			  hv_ref: ($sum[0].hypervolume_normalized // 0),
			  best_ref_acc: ($fr | map(.ref.val_acc) | max),
			  best_ref_id: ($fr | max_by(.ref.val_acc) | .id),
			  best_proxy_acc: ($f | map(.mini.val_acc) | max)}' >>"$RUN/runs.jsonl.tmp"
	done
done
mv "$RUN/runs.jsonl.tmp" "$RUN/runs.jsonl"
rm -f "$RUN/.fronts.jsonl"

# 4. Per strategy: mean, standard deviation (n - 1), min and max over the seeds.
jq -s -c --arg settings "$(cat "$RUN/settings.txt")" '
	def stats(f): (map(f) | select(length > 0)) as $x | ($x | add / length) as $m
		| {mean: $m, sd: (if ($x | length) > 1 then (($x | map((. - $m) * (. - $m)) | add) / (($x | length) - 1) | sqrt) else 0 end),
		   min: ($x | min), max: ($x | max), n: ($x | length)};
	{settings: $settings,
	 strategies: (group_by(.strategy) | map({key: .[0].strategy,
		value: {runs: length, evaluations_per_run: (map(.evaluated) | max),
			hv_ref: stats(.hv_ref), best_ref_acc: stats(.best_ref_acc)}}) | from_entries),
	 runs: .}' "$RUN/runs.jsonl" >"$RUN/compare.json.tmp"
mv "$RUN/compare.json.tmp" "$RUN/compare.json"
jq -r '.strategies | to_entries[] | def f: . * 10000 | round / 10000;
	"compare: \(.key): \(.value.runs) runs of \(.value.evaluations_per_run) evaluations: final-front hypervolume (reference accuracy x MACs x params) mean \(.value.hv_ref.mean | f) sd \(.value.hv_ref.sd | f) [\(.value.hv_ref.min | f), \(.value.hv_ref.max | f)]; best reference accuracy mean \(.value.best_ref_acc.mean * 100 | f)% sd \(.value.best_ref_acc.sd * 100 | f) [\(.value.best_ref_acc.min * 100 | f), \(.value.best_ref_acc.max * 100 | f)]"' \
	"$RUN/compare.json" >&2

# 5. Hypervolume against evaluations, one line per run.
if [ "$PLOT" = 1 ] && command -v gnuplot >/dev/null && [ -s "$RUN/hv-curve.dat" ]; then
	term=png
	gnuplot -e 'set terminal pngcairo' 2>/dev/null && term=pngcairo
	plots=
	c=0
	for s in $STRATEGIES; do
		c=$((c + 1))
		for seed in $SEEDS; do
			first=notitle
			[ "$seed" = "$(echo $SEEDS | cut -d' ' -f1)" ] && first="title '$s'"
			plots="$plots${plots:+, }'$RUN/hv-curve.dat' using (strcol(1) eq '$s' && \$2 == $seed ? \$3 : 1/0):4 with linespoints lw 1.5 pt $((c + 5)) lc $c $first"
		done
	done
	gnuplot <<GP || log "the plot failed"
set terminal $term size 900,600 font ",11"
set output "$RUN/compare.png"
set termoption noenhanced
set title "Front hypervolume (proxy accuracy, MACs, params; fraction of the budget box), one line per seed"
set xlabel "evaluations"
set ylabel "hypervolume"
set grid
set key bottom right box opaque
plot $plots
GP
	[ -s "$RUN/compare.png" ] && log "plot: $RUN/compare.png"
fi
cat "$RUN/compare.json"
