#!/bin/sh
# A search record's state (rejected, failed, evaluated, pending) has one definition, src/core/status.h;
# pipelines/settings.sh's jq mirror must say the same of every case, and pareto/feedback count by it.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/pipelines/settings.sh"
cat >"$TMP/in.jsonl" <<'J'
{"id":"ok","check":{"ok":true},"mini":{"val_acc":0.8},"cost":{"macs":1,"params":1}}
{"id":"checkfalse","check":{"ok":false},"mini":{"val_acc":0.9},"cost":{"macs":1,"params":1}}
{"id":"checknoOk","check":{"violations":[]},"mini":{"val_acc":0.9},"cost":{"macs":1,"params":1}}
{"id":"generror","gen":{"error":"not JSON"},"check":{"ok":true},"cost":{"macs":1,"params":1}}
{"id":"gennullerror","gen":{"error":null},"check":{"ok":true},"mini":{"val_acc":0.5},"cost":{"macs":2,"params":2}}
{"id":"minierror","check":{"ok":true},"mini":{"error":"diverged"},"cost":{"macs":1,"params":1}}
{"id":"rejectedanderror","check":{"ok":false},"mini":{"error":"diverged"},"cost":{"macs":1,"params":1}}
{"id":"pending","check":{"ok":true},"cost":{"macs":1,"params":1}}
{"id":"unchecked","mini":{"val_acc":0.7},"cost":{"macs":3,"params":3}}
{"id":"accnotnumber","check":{"ok":true},"mini":{"val_acc":"high"},"cost":{"macs":1,"params":1}}
J
want='ok evaluated
checkfalse rejected
checknoOk rejected
generror rejected
gennullerror evaluated
minierror failed
rejectedanderror rejected
pending pending
unchecked evaluated
accnotnumber pending'
"$BIN/pareto" <"$TMP/in.jsonl" >"$TMP/out.jsonl" 2>/dev/null
check_eq "pareto.status (C) for every case" "$(jq -r '"\(.id) \(.pareto.status)"' "$TMP/out.jsonl")" "$want"
check_eq "the pipelines' jq definition agrees" "$(jq -r "$JQ_STATUS"' "\(.id) \(status)"' "$TMP/in.jsonl")" "$want"
"$BIN/pareto" --summary "$TMP/s.json" <"$TMP/in.jsonl" >/dev/null 2>&1
check_eq "pareto's summary counts each record once" "$(jq -c '.counts | [.records, .evaluated, .rejected, .failed]' "$TMP/s.json")" '[10,3,4,1]'
"$BIN/feedback" <"$TMP/in.jsonl" >"$TMP/fb.json" 2>/dev/null
check_eq "feedback counts the same" "$(jq -c '.counts | [.records, .evaluated, .rejected, .failed]' "$TMP/fb.json")" '[10,3,4,1]'
check "a rejected or failed record never enters the front" \
	jq -e -s 'all(.[] | select(.pareto.status == "rejected" or .pareto.status == "failed"); .pareto.front == false and .pareto.rank == -1)' "$TMP/out.jsonl"
done_testing
