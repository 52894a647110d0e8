#!/bin/sh
# pareto: marks the front, keeps violators off it, --front, --summary, bad lines, --help.
. "$(dirname "$0")/../lib.sh"
P="$BIN/pareto"
cat >"$TMP/in.jsonl" <<'J'
{"id":"a","mini":{"val_acc":0.8},"cost":{"macs":100,"params":10},"check":{"ok":true}}
{"id":"b","mini":{"val_acc":0.7},"cost":{"macs":200,"params":10},"check":{"ok":true}}
{"id":"c","mini":{"val_acc":0.9},"cost":{"macs":300,"params":10},"check":{"ok":false}}
{"id":"d","mini":{"error":"loss is NaN at epoch 1"},"cost":{"macs":1,"params":1}}
{"id":"e","mini":{"val_acc":0.85},"cost":{"macs":150,"params":20},"check":{"ok":true}}
J
"$P" <"$TMP/in.jsonl" >"$TMP/out.jsonl" 2>"$TMP/err"
check_eq "exit 0 on clean input" "$?" 0
check_eq "every record is written, in order" "$(jq -r .id "$TMP/out.jsonl" | tr -d '\n')" "abcde"
check_eq "front = a, e" "$(jq -r 'select(.pareto.front) | .id' "$TMP/out.jsonl" | tr -d '\n')" "ae"
check_eq "violator c is best accuracy, off the front" \
	"$(jq -c 'select(.id=="c") | [.pareto.front, .pareto.best_acc, .pareto.rank]' "$TMP/out.jsonl")" "[false,true,-1]"
check_eq "b is in layer 1" "$(jq 'select(.id=="b") | .pareto.rank' "$TMP/out.jsonl")" 1
check_eq "other keys copied through" "$(jq -c 'select(.id=="a") | .check' "$TMP/out.jsonl")" '{"ok":true}'
check_eq "--front writes only the front" "$("$P" --front <"$TMP/in.jsonl" 2>/dev/null | jq -r .id | tr -d '\n')" "ae"
"$P" --summary "$TMP/s.json" --ref cost.macs=220 --ref cost.params=22 <"$TMP/in.jsonl" >/dev/null 2>&1
check_eq "summary hypervolume vs the stated reference" "$(jq .hypervolume "$TMP/s.json")" 1159
check_eq "summary states the reference" "$(jq -c .reference "$TMP/s.json")" '{"mini.val_acc":0,"cost.macs":220,"cost.params":22}'
check_eq "summary front min/max/avg of MACs" "$(jq -c '.front["cost.macs"]' "$TMP/s.json")" '{"min":100,"max":150,"avg":125}'
# every record is counted once (src/core/status.h): c has an accuracy but check-cost rejected it
check_eq "summary counts" "$(jq -c '.counts' "$TMP/s.json")" '{"records":5,"evaluated":3,"rejected":1,"failed":1,"front":2}'
check_eq "--objective changes the front (accuracy only)" \
	"$("$P" --front --objective mini.val_acc:max <"$TMP/in.jsonl" 2>/dev/null | jq -r .id | tr -d '\n')" "e"
check_eq "--objective macs:min alone picks a" \
	"$("$P" --front --objective cost.macs:min <"$TMP/in.jsonl" 2>/dev/null | jq -r .id | tr -d '\n')" "a"
{ echo 'not json'; cat "$TMP/in.jsonl"; } | "$P" >"$TMP/o2" 2>"$TMP/e2"
check_eq "a malformed line makes exit 1" "$?" 1
check "the message names the line" grep -q 'stdin:1' "$TMP/e2"
check_eq "and the stream goes on" "$(wc -l <"$TMP/o2" | tr -d ' ')" 5
"$P" --objective x:sideways </dev/null >/dev/null 2>&1
check_eq "a bad objective is a usage error" "$?" 2
check "--help" sh -c "'$P' --help | grep -q objective"
"$P" "$TMP/in.jsonl" >"$TMP/o3" 2>/dev/null
check_eq "files as arguments" "$(jq -r 'select(.pareto.front)|.id' "$TMP/o3" | tr -d '\n')" "ae"
done_testing
