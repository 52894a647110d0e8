#!/bin/sh
# pipelines/fidelity.sh with tiny budgets: proxy and reference trained per design, tau/rho reported,
# the settings printed, the plot drawn, the zero-cost scores and their combination with the proxy
# ranked, and the reference cache reused by a second proxy.
. "$(dirname "$0")/../lib.sh"
F=$ROOT/pipelines/fidelity.sh
if [ ! -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
	echo "ok - # SKIP Fashion-MNIST is not installed (make deps)"
	done_testing
fi
"$F" --help >"$TMP/h"
check_eq "--help: status 0" "$?" 0
check "--help names the settings" sh -c "grep -q PROXY_ARGS '$TMP/h' && grep -q REF_ARGS '$TMP/h' && grep -q EQUAL_SECONDS '$TMP/h'"
"$F" RUN="$TMP/x" N=1 2>"$TMP/e1"
check_eq "N=1: status 2" "$?" 2
check "it says why" grep -q "at least 2" "$TMP/e1"

TINY="RUN=$TMP/run CACHE=$TMP/cache N=3 GEN_SEED=3 MACS_MAX=1M JOBS=2 EQUAL_SECONDS=1"
EQ="--schedule cosine --lr 0.1 --batch 64 --val-split 0.01 --test-limit 100"
P1="--epochs 1 --train-limit 256 --val-split 0.01 --test-limit 100 --batch 64"
R="--epochs 1 --train-limit 512 --val-split 0.01 --test-limit 100 --batch 64"
# shellcheck disable=SC2086
"$F" $TINY PROXY_ARGS="$P1" REF_ARGS="$R" EQUAL_ARGS="$EQ" >"$TMP/out.json" 2>"$TMP/log"
check_eq "a tiny run: status 0" "$?" 0
check "stdout is the summary: 3 designs, tau and rho as numbers" \
	jq -e -s 'length == 1 and (.[0] | .designs == 3 and (.proxy_vs_reference.kendall_tau | type == "number") and (.proxy_vs_reference.spearman_rho | type == "number"))' "$TMP/out.json"
check "the equal-time ranking is measured too" jq -e -s 'length == 1 and .[0].equal_time.vs_reference.n == 3' "$TMP/out.json"
check "tau agrees with rank-corr on the pairs" sh -c "jq -r '\"\(.proxy_acc) \(.ref_acc)\"' '$TMP/run/pairs.jsonl' | '$BIN/rank-corr' | jq -e --argjson t \"\$(jq .proxy_vs_reference.kendall_tau '$TMP/out.json')\" '.kendall_tau == \$t'"
check "the zero-cost scores are ranked against the reference (ZERO_COST=64 by default)" \
	jq -e -s 'length == 1 and (.[0].zero_cost | .images == 64 and .naswot_vs_reference.n == 3 and .grad_norm_vs_reference.n == 3 and (.combined_vs_reference.kendall_tau | type == "number"))' "$TMP/out.json"
# combined = the proxy's rank + NASWOT's rank (average ranks 1..3): they add up to 2 x (1+2+3)
check "pairs have naswot, grad_norm, and combined ranks adding up to 12" \
	jq -e -s 'all(.naswot != null and .grad_norm > 0) and (map(.combined) | add == 12 and min >= 2 and max <= 6)' "$TMP/run/pairs.jsonl"
check "NASWOT's tau agrees with rank-corr on the pairs" sh -c "jq -r '\"\(.naswot) \(.ref_acc)\"' '$TMP/run/pairs.jsonl' | '$BIN/rank-corr' | jq -e --argjson t \"\$(jq .zero_cost.naswot_vs_reference.kendall_tau '$TMP/out.json')\" '.kendall_tau == \$t'"
check "the reference settings are printed" grep -q "reference: mini-train .*--train-limit 512" "$TMP/log"
check "both rankings are printed" grep -q "by proxy.*by reference" "$TMP/log"
check "pairs.jsonl has both accuracies per design" jq -e -s 'length == 3 and all(.proxy_acc > 0 and .ref_acc > 0 and .equal_images > 0)' "$TMP/run/pairs.jsonl"
if command -v gnuplot >/dev/null; then
	check "the scatter plot is a PNG" sh -c "head -c 4 '$TMP/run/fidelity.png' | grep -q PNG"
else
	echo "ok - # SKIP gnuplot is not installed"
fi

# A second proxy reuses the cached reference results (the files are not rewritten).
ref_dir=$(grep -o "reference: .*(\(.*\))" "$TMP/run/settings.txt" | sed 's/.*(\(.*\))/\1/')
ls -l --time-style=full-iso "$ref_dir" >"$TMP/before"
# shellcheck disable=SC2086
"$F" $TINY RUN="$TMP/run2" ZERO_COST=0 PROXY_ARGS="--epochs 1 --train-limit 128 --val-split 0.01 --test-limit 100 --batch 32" \
	REF_ARGS="$R" EQUAL_ARGS="$EQ" >"$TMP/out2.json" 2>"$TMP/log2"
check_eq "a second proxy: status 0" "$?" 0
check "ZERO_COST=0: no zero-cost scores" jq -e '.zero_cost == null' "$TMP/out2.json"
ls -l --time-style=full-iso "$ref_dir" >"$TMP/after"
check "the reference results were reused, not retrained" sh -c "grep -q '\.json\$' '$TMP/before' && cmp -s '$TMP/before' '$TMP/after'"
check "the same reference accuracies" sh -c "a=\$(jq -c '[.id, .ref_acc]' '$TMP/run/pairs.jsonl') && [ -n \"\$a\" ] && [ \"\$a\" = \"\$(jq -c '[.id, .ref_acc]' '$TMP/run2/pairs.jsonl')\" ]"
check "make fidelity is a target" sh -c "make -n -C '$ROOT' fidelity | grep -q 'pipelines/fidelity.sh'"
done_testing
