#!/bin/sh
# The training-time estimate (check-cost --train-time) and pareto's --train-minutes constraint:
# deterministic (nothing is timed), close to the committed measurements, and it keeps slow designs
# off the front.
. "$(dirname "$0")/../lib.sh"
M="$ROOT/data/train-time.jsonl"
"$BIN/check-cost" --train-time <"$M" >"$TMP/a.jsonl" 2>"$TMP/err"
check_eq "check-cost --train-time: exit 0" "$?" 0
check_eq "every measured design gets an estimate" \
	"$(jq -s 'map(select(.cost.train_us_per_image > 0)) | length' "$TMP/a.jsonl")" "$(grep -c '' "$M")"
check "features are recorded" jq -e -s 'all(.cost.train_features | .pw_mmacs > 0 and .dw_mmacs > 0 and .act_k > 0)' "$TMP/a.jsonl"
# Mean relative error against the measurements the constants were fitted to (8.9% when fitted).
err=$(jq -s '[.[] | (.cost.train_us_per_image - 1e6 / .bench.images_per_s) / (1e6 / .bench.images_per_s) | fabs] | add / length * 100 | round' "$TMP/a.jsonl")
check "the estimate is within 15% of the measurements on average (got ${err}%)" test "$err" -le 15
# The same estimate with the CPU busy: nothing is timed.
( end=$(($(date +%s) + 3)); while [ "$(date +%s)" -lt "$end" ]; do :; done ) &
busy=$!
"$BIN/check-cost" --train-time <"$M" >"$TMP/b.jsonl" 2>/dev/null
wait "$busy"
check "the estimate does not depend on the load" cmp -s "$TMP/a.jsonl" "$TMP/b.jsonl"
check "--help names --train-time" sh -c "'$BIN/check-cost' --help | grep -q -- --train-time"

# pareto --train-minutes: two designs of the measurements, equal in MACs and params for the test.
jq -c 'select(.id == "c4ce65bdcd368a01" or .id == "00e38484742e98aa")
	| . + {mini: {val_acc: (if .id == "00e38484742e98aa" then 0.9 else 0.8 end)}}' "$TMP/a.jsonl" >"$TMP/two.jsonl"
got=$("$BIN/pareto" --front --objective mini.val_acc:max <"$TMP/two.jsonl" 2>/dev/null | jq -r .id)
check_eq "without a time limit the more accurate, slower design is the front" "$got" "00e38484742e98aa"
"$BIN/pareto" --objective mini.val_acc:max --train-minutes 16 --train-epochs 25 --train-images 54000 \
	<"$TMP/two.jsonl" >"$TMP/p.jsonl" 2>/dev/null
check_eq "with 25 epochs of 54000 images in 16 minutes only the fast one is on the front" \
	"$(jq -r 'select(.pareto.front) | .id' "$TMP/p.jsonl")" "c4ce65bdcd368a01"
check "pareto.train_minutes is E x N x estimate" jq -e -s \
	'all(.pareto.train_minutes as $m | (25 * 54000 * .cost.train_us_per_image / 6e7) as $w | ($m - $w | fabs) < 1e-6 * $w)' "$TMP/p.jsonl"
check_eq "the slow one is ineligible (rank -1)" \
	"$(jq -r 'select(.id == "00e38484742e98aa") | .pareto.rank' "$TMP/p.jsonl")" -1
"$BIN/pareto" --train-minutes 16 <"$TMP/two.jsonl" >/dev/null 2>"$TMP/e"
check_eq "--train-minutes without --train-images: status 2" "$?" 2
"$BIN/pareto" --train-minutes x --train-images 5 <"$TMP/two.jsonl" >/dev/null 2>&1
check_eq "a bad --train-minutes: status 2" "$?" 2
done_testing
