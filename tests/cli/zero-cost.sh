#!/bin/sh
# mini-train --zero-cost: the zero_cost stage per design (NASWOT, gradient norm), the same scores
# for the same seed, records without check.ok passed through, bad values and bad arches.
. "$(dirname "$0")/../lib.sh"
MT="$BIN/mini-train"
if [ ! -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
	echo "ok - # SKIP Fashion-MNIST is not installed (make deps)"
	done_testing
fi
ARCH='{"input_channels":1,"blocks":[{"output_channels":8,"num_layers":2,"kernel_size":3,"stride":2,"expansion_factor":2,"use_se":true,"se_ratio":0.5,"conv_type":"mbconv","skip_op":"residual","activation":"swish"}]}'
WIDE='{"input_channels":1,"blocks":[{"output_channels":32,"num_layers":2,"kernel_size":3,"stride":1,"expansion_factor":2,"use_se":false,"se_ratio":0,"conv_type":"mbconv","skip_op":"residual","activation":"relu6"}]}'
Z="--zero-cost 16 --resolution 12 --threads 1"

"$MT" --zero-cost 1 </dev/null >/dev/null 2>&1
check_eq "--zero-cost 1 is a usage error" "$?" 2
check "--help names --zero-cost" sh -c "'$MT' --help | grep -q -- --zero-cost"

printf '{"id":"a","arch":%s,"check":{"ok":true}}\n{"id":"b","arch":%s,"check":{"ok":true}}\n{"id":"c","arch":%s}\n' \
	"$ARCH" "$WIDE" "$ARCH" >"$TMP/in.jsonl"
# shellcheck disable=SC2086
"$MT" $Z <"$TMP/in.jsonl" >"$TMP/out1.jsonl" 2>"$TMP/err"
check_eq "three records: status 0" "$?" 0
check "the checked designs get naswot, grad_norm, units and images 16; no training" \
	jq -e -s 'length == 3 and (.[0:2] | all(.zero_cost | (.naswot | type == "number") and .grad_norm > 0 and .units > 0 and .images == 16)) and all(.mini == null)' "$TMP/out1.jsonl"
check "an unchecked record passes through untouched" jq -e -s '.[2].zero_cost == null and .[2].id == "c"' "$TMP/out1.jsonl"
# log|det K| <= sum of log K[i][i] = images x log(units) (Hadamard), and K's rows differ
check "naswot is below the Hadamard bound images x log(units)" \
	jq -e -s 'all(.[0:2][]; .zero_cost.naswot <= 16 * (.zero_cost.units | log) + 1e-9)' "$TMP/out1.jsonl"
# shellcheck disable=SC2086
"$MT" $Z <"$TMP/in.jsonl" 2>/dev/null >"$TMP/out2.jsonl"
check_eq "the same seed gives the same scores" \
	"$(jq -c '.zero_cost | [.naswot, .grad_norm]' "$TMP/out1.jsonl")" "$(jq -c '.zero_cost | [.naswot, .grad_norm]' "$TMP/out2.jsonl")"
# shellcheck disable=SC2086
"$MT" $Z --seed 2 <"$TMP/in.jsonl" 2>/dev/null >"$TMP/out3.jsonl"
check "another seed, other scores" sh -c "[ \"\$(jq -c .zero_cost.naswot '$TMP/out1.jsonl' | head -1)\" != \"\$(jq -c .zero_cost.naswot '$TMP/out3.jsonl' | head -1)\" ]"

printf '{"id":"bad","arch":{"input_channels":1,"blocks":[]},"check":{"ok":true}}\n{"id":"a","arch":%s,"check":{"ok":true}}\n' "$ARCH" |
	"$MT" $Z >"$TMP/out4.jsonl" 2>"$TMP/err4"
check_eq "a bad arch: status 1" "$?" 1
check "it gets zero_cost.error, the next record is scored" \
	jq -e -s '(.[0].zero_cost.error | type == "string") and (.[1].zero_cost.naswot | type == "number")' "$TMP/out4.jsonl"
check "the error names the record" grep -q "record bad" "$TMP/err4"
done_testing
