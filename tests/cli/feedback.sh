#!/bin/sh
# feedback: front, trend, suggestions, rejections with their messages, tried ids, bad lines.
. "$(dirname "$0")/../lib.sh"
F="$BIN/feedback"
cat >"$TMP/h.jsonl" <<'J'
{"id":"a","gen":{"iteration":1},"arch":{"blocks":[{"activation":"relu6","use_se":false}]},"mini":{"val_acc":0.80},"cost":{"macs":1000000,"params":10000},"check":{"ok":true}}
{"id":"b","gen":{"iteration":1},"arch":{"blocks":[{"activation":"relu6","use_se":false}]},"mini":{"val_acc":0.70},"cost":{"macs":2000000,"params":10000},"check":{"ok":true}}
{"id":"r1","gen":{"iteration":1},"arch":{"blocks":[]},"cost":{"macs":50000000},"check":{"ok":false,"violations":[{"metric":"macs","value":5e7,"limit":3e7,"message":"MACs 50.0M exceed the 30.0M limit; reduce channels or expansion in the widest stages."}]}}
{"id":"c","gen":{"iteration":2},"arch":{"blocks":[{"activation":"swish","use_se":true}]},"mini":{"val_acc":0.88},"cost":{"macs":1500000,"params":20000},"check":{"ok":true}}
{"id":"d","gen":{"iteration":2},"arch":{"blocks":[{"activation":"swish","use_se":true}]},"mini":{"val_acc":0.86},"cost":{"macs":900000,"params":30000},"check":{"ok":true}}
{"id":"f","gen":{"iteration":2},"arch":{"blocks":[]},"mini":{"error":"loss is NaN at epoch 1"},"cost":{"macs":1,"params":1},"check":{"ok":true}}
J
"$F" --macs-max 30M "$TMP/h.jsonl" >"$TMP/fb.json" 2>"$TMP/err"
check_eq "exit 0" "$?" 0
check "one JSON object" jq -e 'type == "object"' "$TMP/fb.json"
check_eq "front best accuracy first, with archs" "$(jq -c '[.front[] | .id, (.arch|type)]' "$TMP/fb.json")" '["c","object","d","object","a","object"]'
check_eq "counts" "$(jq -c .counts "$TMP/fb.json")" '{"records":6,"evaluated":4,"rejected":1,"failed":1,"front":3}'
check_eq "trend: best so far per iteration" "$(jq -c '[.trend[].best_so_far]' "$TMP/fb.json")" '[0.8,0.88]'
check_eq "rejection keeps the check message" "$(jq -r '.rejections[0].messages[0]' "$TMP/fb.json")" \
	"MACs 50.0M exceed the 30.0M limit; reduce channels or expansion in the widest stages."
check "suggestion: improvement named with its design" jq -e '.suggestions | any(test("from 80.0% to 88.0% \\(design c\\)"))' "$TMP/fb.json"
check "suggestion: MAC headroom" jq -e '.suggestions | any(test("1.5M of the 30.0M MAC budget"))' "$TMP/fb.json"
check "suggestion: activation comparison" jq -e '.suggestions | any(test("activation swish averaged 87.0%"))' "$TMP/fb.json"
check "suggestion: rejection advice by metric" jq -e '.suggestions | any(test("broke the macs limit"))' "$TMP/fb.json"
check_eq "tried lists every id once" "$(jq -c .tried "$TMP/fb.json")" '["a","b","r1","c","d","f"]'
check_eq "population: recent feasible evaluations, newest first" "$(jq -c '[.population[].id]' "$TMP/fb.json")" '["d","c","b","a"]'
check_eq "averages over the front" "$(jq '.averages.front.val_acc * 1000 | round' "$TMP/fb.json")" 847
"$F" --max-front 1 --population 1 "$TMP/h.jsonl" >"$TMP/fb1.json" 2>/dev/null
check_eq "--max-front and --population limit the lists" "$(jq -c '[(.front|length),(.population|length)]' "$TMP/fb1.json")" '[1,1]'
{ echo '{"id":'; cat "$TMP/h.jsonl"; } | "$F" >"$TMP/fb2.json" 2>"$TMP/e2"
check_eq "a partial line: exit 1" "$?" 1
check "and named by line number" grep -q 'stdin:1' "$TMP/e2"
check_eq "the rest is still used" "$(jq .counts.records "$TMP/fb2.json")" 6
"$F" </dev/null >"$TMP/fb3.json" 2>/dev/null
check "empty history: a suggestion to start small" jq -e '.suggestions | any(test("No design has been evaluated"))' "$TMP/fb3.json"
"$F" --macs-max 30M -o "$TMP/fb4.json" "$TMP/h.jsonl" 2>/dev/null
check "-o writes the file" cmp "$TMP/fb.json" "$TMP/fb4.json"
"$F" --max-front x </dev/null >/dev/null 2>&1
check_eq "bad option value: exit 2" "$?" 2
check "--help" sh -c "'$F' --help | grep -q suggestions"
done_testing
