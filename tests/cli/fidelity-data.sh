#!/bin/sh
# data/fidelity-full.jsonl: designs of the demo's budget with their proxy scores and their full
# training (README: "Against the full training"). Each record's arch is the design its id names
# under today's cost model, within the demo's budgets, and the file gives rank-corr its pairs.
. "$(dirname "$0")/../lib.sh"
F="$ROOT/data/fidelity-full.jsonl"
n=$(grep -c '' "$F")
check "every line is a record with an id, an arch, proxy scores and a full training" \
	jq -e -s 'length > 0 and all(.id and .arch and (.proxy.seed1 | type == "number")
		and (.full.test_acc | type == "number") and .full.epochs >= 1 and (.full.source | type == "string"))' "$F"
jq -c '{id: "", arch, resolution, classes}' "$F" |
	"$BIN/check-cost" --train-time --macs-max 30M --sram-max 64KiB --flash-max 256KiB >"$TMP/c.jsonl" 2>"$TMP/err"
check_eq "check-cost reads every arch" "$(grep -c '' "$TMP/c.jsonl")" "$n"
check_eq "each arch is the design its id names (the same ids, in order)" \
	"$(jq -r .id "$TMP/c.jsonl" | tr '\n' ' ')" "$(jq -r .id "$F" | tr '\n' ' ')"
check "each fits the demo's budgets (30M MACs, 64 KiB SRAM, 256 KiB flash)" jq -e -s 'all(.check.ok)' "$TMP/c.jsonl"
costs='[.cost.macs, .cost.params, (.cost.train_us_per_image | round)]'
check_eq "each record's cost is today's estimate (MACs, params, training time per image)" \
	"$(jq -c "$costs" "$TMP/c.jsonl")" "$(jq -c "$costs" "$F")"
jq -r '"\(.proxy.seed1) \(.full.test_acc)"' "$F" | "$BIN/rank-corr" >"$TMP/tau.json"
check_eq "rank-corr takes the search's proxy against the full training: all pairs" "$(jq .n "$TMP/tau.json")" "$n"
done_testing
