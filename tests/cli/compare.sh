#!/bin/sh
# pipelines/compare.sh with tiny budgets: every strategy x seed searched with the same number of
# evaluations, the reference on each final front (cached), mean and spread per strategy, the plot.
. "$(dirname "$0")/../lib.sh"
C=$ROOT/pipelines/compare.sh
if [ ! -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
	echo "ok - # SKIP Fashion-MNIST is not installed (make deps)"
	done_testing
fi
"$C" --help >"$TMP/h"
check_eq "--help: status 0" "$?" 0
check "--help names the settings" sh -c "grep -q STRATEGIES '$TMP/h' && grep -q SEEDS '$TMP/h' && grep -q REF_ARGS '$TMP/h'"
"$C" RUN="$TMP/x" STRATEGIES="random sideways" 2>"$TMP/e1"
check_eq "an unknown strategy: status 2" "$?" 2
check "it names the strategy" grep -q "'sideways'" "$TMP/e1"

R="--epochs 1 --train-limit 384 --val-split 0.01 --test-limit 100 --batch 64"
"$C" RUN="$TMP/run" CACHE="$TMP/cache" STRATEGIES="random evolve" SEEDS="1 2" ITER=1 CANDIDATES=2 \
	MACS_MAX=1M MINI_ARGS="--epochs 1 --train-limit 192 --val-split 0.01 --test-limit 100 --batch 64" \
	REF_ARGS="$R" >"$TMP/out.json" 2>"$TMP/log"
check_eq "a tiny comparison: status 0" "$?" 0
check "four runs, two evaluations each" jq -e -s 'length == 1 and (.[0].runs | length == 4 and all(.evaluated == 2))' "$TMP/out.json"
check "per strategy: mean and spread of hypervolume and best reference accuracy over 2 seeds" \
	jq -e -s '.[0].strategies | (keys == ["evolve", "random"]) and all(.[]; .hv_ref.n == 2 and (.hv_ref.sd | type == "number") and .best_ref_acc.n == 2 and .best_ref_acc.mean > 0)' "$TMP/out.json"
check "every front design has a reference result in the cache" sh -c "
	for f in '$TMP'/run/*-[12]/front-001.jsonl; do jq -r .id \"\$f\"; done | sort -u | while read -r id; do
		ls '$TMP'/cache/*/\"\$id\".json >/dev/null 2>&1 || exit 1; done"
check_eq "a hypervolume per evaluation per run" "$(grep -c '' "$TMP/run/hv-curve.dat")" 8
check "the reference settings are printed" grep -q "reference on each final front: mini-train .*--train-limit 384" "$TMP/log"
if command -v gnuplot >/dev/null; then
	check "the plot is a PNG" sh -c "head -c 4 '$TMP/run/compare.png' | grep -q PNG"
else
	echo "ok - # SKIP gnuplot is not installed"
fi
check "make compare is a target" sh -c "make -n -C '$ROOT' compare | grep -q 'pipelines/compare.sh'"
done_testing
