#!/bin/sh
# evaluate: accuracy on a committed golden set, records through stdin, logits dump, bad input.
. "$(dirname "$0")/../lib.sh"
PM="$SHARED/paper-models"
[ -d "$PM" ] || PM="$ROOT/../../shared/paper-models"
if [ ! -f "$PM/lmanet-elite.safetensors" ]; then
	skip "shared/paper-models not found (set LMNAS_SHARED)"
	done_testing
fi
EV="$BIN/evaluate"
W="$PM/lmanet-elite.safetensors"
A="$PM/lmanet-elite.json"
D="$ROOT/tests/golden/eval-elite32.safetensors"

check "--help exits 0" "$EV" --help
"$EV" --bogus >/dev/null 2>&1; check_eq "unknown option exits 2" "$?" 2

out=$("$EV" --weights "$W" --arch "$A" --data "$D" --threads 1 </dev/null)
check_eq "fresh record: accuracy 1 against PyTorch's top-1" "$(echo "$out" | jq -c '.eval.accuracy')" 1
check_eq "fresh record: count 4" "$(echo "$out" | jq -c '.eval.count')" 4

out=$(printf '{"id":"a","x":1}\n{"id":"b"}\n' | "$EV" --weights "$W" --arch "$A" --data "$D")
check_eq "records on stdin keep their keys and get eval" \
	"$(echo "$out" | jq -c '[.id, .x, .eval.count]' | tr '\n' ' ')" '["a",1,4] ["b",null,4] '

"$EV" --weights "$W" --arch "$A" --data "$D" --dump-logits "$TMP/l.safetensors" --batch 3 \
	</dev/null >/dev/null
hl=$(od -An -t u8 -N8 "$TMP/l.safetensors" | tr -d ' ')
size=$(wc -c <"$TMP/l.safetensors")
check_eq "logits dump holds F32 [4,100]" "$size" $((8 + hl + 1600))
check "logits dump header names the tensor" grep -q '"logits":{"dtype":"F32","shape":\[4,100\]' "$TMP/l.safetensors"

"$EV" --weights "$W" --data "$D" </dev/null >/dev/null 2>"$TMP/err"; rc=$?
check_eq "no arch in metadata and no --arch: exit 2" "$rc" 2
check "  ... and the message says so" grep -q 'no "arch"' "$TMP/err"

head -c 20000 "$W" >"$TMP/trunc.safetensors"
"$EV" --weights "$TMP/trunc.safetensors" --arch "$A" --data "$D" </dev/null >/dev/null 2>"$TMP/err"
rc=$?
check_eq "truncated weights: exit 2" "$rc" 2
check "  ... message names the file" grep -q 'trunc.safetensors' "$TMP/err"

printf '\377\377\377\377\377\377\377\377garbage' >"$TMP/corrupt.safetensors"
"$EV" --weights "$W" --arch "$A" --data "$TMP/corrupt.safetensors" </dev/null >/dev/null 2>"$TMP/err"
check_eq "corrupt dataset: exit 2" "$?" 2

"$EV" --weights "$W" --arch "$PM/qwnet-core.json" --data "$D" </dev/null >/dev/null 2>"$TMP/err"
rc=$?
check_eq "arch that does not match the weights: exit 2" "$rc" 2
check "  ... message names the file and a tensor" grep -q "lmanet-elite.safetensors: tensor layers" "$TMP/err"
sed 's/^/# /' "$TMP/err"

"$EV" --weights "$W" --arch "$A" --data "$D" --classes 10 </dev/null >/dev/null 2>"$TMP/err"
check_eq "--classes disagreeing with the weights: exit 2" "$?" 2
done_testing
