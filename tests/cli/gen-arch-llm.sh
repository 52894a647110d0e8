#!/bin/sh
# gen-arch --strategy llm against a scripted OpenAI-compatible server on 127.0.0.1
# (tests/mock-llm): schema fallback, explanation, invalid JSON, an arch out of the space, HTTP 500,
# a reply slower than the timeout, retries exhausted; the key never shows; transcripts kept;
# reasoning and JSON5-ish answers, cut-off answers, Retry-After, ill-formed UTF-8, a server that
# never answers.
. "$(dirname "$0")/../lib.sh"
G="$BIN/gen-arch"
cc -std=c11 -D_GNU_SOURCE -O2 -I/usr/include/cjson -o "$TMP/mock-llm" "$ROOT/tests/mock-llm/mock-llm.c" -lcjson \
	|| { fail "build the mock server"; done_testing; }
MPID=
start_mock() { # script file
	rm -f "$TMP/port" "$TMP/requests.jsonl" "$TMP/headers"
	"$TMP/mock-llm" --script "$1" --port-file "$TMP/port" --log "$TMP/requests.jsonl" \
		--headers-log "$TMP/headers" --lifetime 60 &
	MPID=$!
	i=0; while [ ! -s "$TMP/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	URL="http://127.0.0.1:$(cat "$TMP/port")"
}
stop_mock() { [ -n "$MPID" ] && kill "$MPID" 2>/dev/null; wait "$MPID" 2>/dev/null; MPID=; }
trap 'stop_mock; rm -rf "$TMP"' EXIT

B='{"output_channels":16,"num_layers":1,"kernel_size":3,"stride":2,"expansion_factor":3,"use_se":false,"se_ratio":0,"conv_type":"mbconv","skip_op":"residual","activation":"relu6"}'
# A grey image's first mbconv block expands 9, 12 or 18 times (data/search-space.json's first_block).
B1=$(echo "$B" | sed 's/"expansion_factor":3/"expansion_factor":9/')
ARCH="{\"input_channels\":1,\"blocks\":[$B1,$B,$B,$B,$B]}"
OUT_OF_SPACE=$(echo "$ARCH" | sed 's/"kernel_size":3/"kernel_size":9/')
LIM="--resolution 28 --classes 10 --input-channels 1 --macs-max 30M --sram-max 64KiB --flash-max 256KiB"
say() { jq -nc --arg c "$1" '{content: $c}'; }

# A feedback object whose suggestion must reach the prompt.
cat >"$TMP/fb.json" <<'J'
{"counts":{"evaluated":2,"rejected":1,"failed":0},"front":[],"suggestions":["Favour swish activations in the last blocks."],
 "rejections":[{"id":"x","messages":["MACs 50.0M exceed the 30.0M limit; reduce channels."]}],"tried":[]}
J

# 1. The server refuses response_format (400), then answers in prose + code fence; --explain.
{ echo '{"status":400}'; say "Here is my design:
\`\`\`json
$ARCH
\`\`\`
Hope it helps."; say "Five narrow stride-2 blocks keep MACs tiny."; } >"$TMP/s1.jsonl"
start_mock "$TMP/s1.jsonl"
# shellcheck disable=SC2086
LMNAS_API_KEY=sekret-key-123 "$G" --strategy llm --llm "$URL" --model tiny --explain --feedback "$TMP/fb.json" \
	--transcripts "$TMP/tr" --backoff 0.05 $LIM >"$TMP/o1.jsonl" 2>"$TMP/e1"
check_eq "schema refused, answer in a fence: exit 0" "$?" 0
stop_mock
check_eq "accepted, first answer" "$(jq -c '[.check.ok, .gen.strategy, .gen.model, .gen.attempts]' "$TMP/o1.jsonl")" '[true,"llm","tiny",1]'
check_eq "the id is the arch's" "$(jq -r .id "$TMP/o1.jsonl")" 9368b645425d9df6
check_eq "explanation stored" "$(jq -r .gen.explanation "$TMP/o1.jsonl")" "Five narrow stride-2 blocks keep MACs tiny."
check_eq "first request had a schema, the fallback none" \
	"$(jq -c 'has("response_format")' "$TMP/requests.jsonl" | tr -d '\n')" "truefalsefalse"
check_eq "schema enums come from the search space" \
	"$(jq -c '.response_format.json_schema.schema.properties.blocks.items.properties.kernel_size.enum' "$TMP/requests.jsonl" | head -1)" "[3,5,7]"
check_eq "paper sampling: temperature 1.5, min_p 0.1" "$(jq -c '[.temperature, .min_p, .model]' "$TMP/requests.jsonl" | head -1)" '[1.5,0.1,"tiny"]'
check "the prompt carries the feedback suggestion" jq -e -s '.[0].messages[1].content | test("Favour swish activations")' "$TMP/requests.jsonl"
check "the prompt carries the rejection message" jq -e -s '.[0].messages[1].content | test("MACs 50.0M exceed")' "$TMP/requests.jsonl"
check "the prompt carries the constraints" jq -e -s '.[0].messages[1].content | test("MACs .* at most 30.0M") and test("at most 64.0KiB")' "$TMP/requests.jsonl"
check "the prompt carries the search space" jq -e -s '.[0].messages[1].content | test("\"kernel_size\": *\\{ *\"values\": *\\[3, 5, 7\\]")' "$TMP/requests.jsonl"
check "the explain request follows the answer" jq -e -s '.[2].messages[-2].role == "assistant" and (.[2].messages[-1].content | test("explain why"))' "$TMP/requests.jsonl"
check_eq "transcript: every request and answer" "$(wc -l <"$TMP/tr/llm.jsonl" | tr -d ' ')" 3
check_eq "transcript: statuses" "$(jq -c .http_status "$TMP/tr/llm.jsonl" | tr -d '\n')" "400200200"
check_eq "the key is sent as a bearer token" "$(sort -u "$TMP/headers")" "Authorization: Bearer sekret-key-123"
check "the key is never written" sh -c "! grep -rq sekret-key-123 '$TMP/tr' '$TMP/o1.jsonl' '$TMP/e1'"

# 2. Not JSON, then an arch out of the space, then a valid one: each error goes back to the model.
{ say "I would build a small MobileNet."; say "$OUT_OF_SPACE"; say "$ARCH"; } >"$TMP/s2.jsonl"
start_mock "$TMP/s2.jsonl"
# shellcheck disable=SC2086
"$G" --strategy llm --llm "$URL/v1" --max-retries 3 --backoff 0.05 $LIM >"$TMP/o2.jsonl" 2>"$TMP/e2"
check_eq "invalid JSON and out of space, then valid: exit 0" "$?" 0
stop_mock
check_eq "no key, no Authorization header" "$(sort -u "$TMP/headers")" "none"
check_eq "accepted on the third answer" "$(jq -c '[.check.ok, .gen.attempts]' "$TMP/o2.jsonl")" '[true,3]'
check "the parse error went back to the model" jq -e -s '.[1].messages[-1].content | test("no JSON object")' "$TMP/requests.jsonl"
check "the space violation went back to the model" jq -e -s '.[2].messages[-1].content | test("kernel_size") and test("3, 5, 7")' "$TMP/requests.jsonl"
check "the conversation keeps the bad answers" jq -e -s '.[2].messages | map(.role) == ["system","user","assistant","user","assistant","user"]' "$TMP/requests.jsonl"

# 3. HTTP 500, then a valid answer: retried with backoff.
{ echo '{"status":500}'; say "$ARCH"; } >"$TMP/s3.jsonl"
start_mock "$TMP/s3.jsonl"
# shellcheck disable=SC2086
"$G" --strategy llm --llm "$URL" --backoff 0.05 --transcripts "$TMP/tr3" $LIM >"$TMP/o3.jsonl" 2>"$TMP/e3"
check_eq "HTTP 500 then valid: exit 0" "$?" 0
stop_mock
check_eq "HTTP 500 is retried" "$(jq -c .http_status "$TMP/tr3/llm.jsonl" | tr -d '\n')" "500200"
check "and logged on stderr" grep -q 'HTTP 500' "$TMP/e3"

# 4. A reply slower than the client timeout, then a valid one.
{ jq -nc --arg c "$ARCH" '{delay_ms: 4000, content: $c}'; say "$ARCH"; } >"$TMP/s4.jsonl"
start_mock "$TMP/s4.jsonl"
t0=$(date +%s)
# shellcheck disable=SC2086
"$G" --strategy llm --llm "$URL" --timeout 1 --backoff 0.05 $LIM >"$TMP/o4.jsonl" 2>"$TMP/e4"
check_eq "slow reply then valid: exit 0" "$?" 0
t1=$(date +%s)
stop_mock
check "the timeout cut the slow reply ($((t1 - t0)) s)" test $((t1 - t0)) -lt 4
check "the timeout was logged" grep -qi 'timeout\|timed out' "$TMP/e4"
check_eq "accepted after the retry" "$(jq -c .check.ok "$TMP/o4.jsonl")" true

# 5. Every answer bad: after the last retry the record says why.
{ say "no idea"; say "$OUT_OF_SPACE"; } >"$TMP/s5.jsonl"
start_mock "$TMP/s5.jsonl"
# shellcheck disable=SC2086
"$G" --strategy llm --llm "$URL" --max-retries 1 --backoff 0.05 $LIM >"$TMP/o5.jsonl" 2>/dev/null
check_eq "retries exhausted: exit 1" "$?" 1
stop_mock
check "gen.error says why" jq -e '.gen.error | test("no accepted arch after 2 answer") and test("kernel_size")' "$TMP/o5.jsonl"
check_eq "and the record is rejected" "$(jq -c .check.ok "$TMP/o5.jsonl")" false

# 6. The server keeps failing: HTTP retries exhausted.
{ echo '{"status":500}'; echo '{"status":503}'; } >"$TMP/s6.jsonl"
start_mock "$TMP/s6.jsonl"
# shellcheck disable=SC2086
"$G" --strategy llm --llm "$URL" --http-retries 1 --backoff 0.05 $LIM >"$TMP/o6.jsonl" 2>/dev/null
check_eq "server down: exit 1" "$?" 1
stop_mock
check "gen.error names the HTTP status" jq -e '.gen.error | test("HTTP 503")' "$TMP/o6.jsonl"
check_eq "and it still has resolution and classes" "$(jq -c '[.resolution, .classes]' "$TMP/o6.jsonl")" '[[28,28],10]'

# 7. Nothing listening.
# shellcheck disable=SC2086
"$G" --strategy llm --llm "http://127.0.0.1:9" --http-retries 0 --timeout 2 $LIM >"$TMP/o7.jsonl" 2>/dev/null
check_eq "no server: exit 1 with a record" "$?$(jq -r '.gen.error | test("the model server gave no answer")' "$TMP/o7.jsonl")" "1true"
"$G" --strategy llm --llm "ftp://x" $LIM </dev/null >/dev/null 2>&1
check_eq "a bad URL is a usage error" "$?" 2
# 8. A reasoning model: a draft inside <think>, then the answer with // comments and trailing commas.
JSON5=$(echo "$ARCH" | sed 's/"blocks":\[/"blocks": [ \/\/ five blocks\n/; s/\]}$/,],}/')
say "<think>A first try: {\"input_channels\": 1, \"blocks\": []}. Too small.</think>
\`\`\`json
$JSON5
\`\`\`" >"$TMP/s8.jsonl"
start_mock "$TMP/s8.jsonl"
# shellcheck disable=SC2086
"$G" --strategy llm --llm "$URL" --backoff 0.05 --http-retries 0 $LIM >"$TMP/o8.jsonl" 2>"$TMP/e8"
check_eq "reasoning draft skipped, JSON5-ish answer accepted: exit 0" "$?" 0
stop_mock
check_eq "accepted on the first answer, the arch of the answer" "$(jq -c '[.check.ok, .gen.attempts, .id]' "$TMP/o8.jsonl")" '[true,1,"9368b645425d9df6"]'

# 9. Answers cut off at the token limit (finish_reason "length"): the retry says so.
{ jq -nc '{content: "<think>Let me weigh the options for the first block", finish_reason: "length"}'
  jq -nc --arg c "${ARCH%??????????}" '{content: $c, finish_reason: "length"}'; say "$ARCH"; } >"$TMP/s9.jsonl"
start_mock "$TMP/s9.jsonl"
# shellcheck disable=SC2086
"$G" --strategy llm --llm "$URL" --backoff 0.05 --http-retries 0 $LIM >"$TMP/o9.jsonl" 2>"$TMP/e9"
check_eq "two cut-off answers, then a whole one: exit 0" "$?" 0
stop_mock
check_eq "accepted on the third answer" "$(jq -c '[.check.ok, .gen.attempts, .gen.answers]' "$TMP/o9.jsonl")" '[true,3,3]'
check "the retries name the cut-off, not a parse error" jq -e -s \
	'[.[1], .[2]] | map(.messages[-1].content | test("the answer was cut off at the token limit")) == [true, true]' "$TMP/requests.jsonl"

# 10. A server that echoes the Authorization header: in an error body (500, retried; 401, not) and
# in the answers. The key never reaches stdout, stderr or the transcript.
KEY=sk-test-0123456789abcdef
{ echo '{"status":500,"echo_auth":true}'; jq -nc --arg c "$ARCH" '{content: $c, echo_auth: true}'
  echo '{"content":"Because it is small.","echo_auth":true}'; echo '{"status":401,"echo_auth":true}'; } >"$TMP/s10.jsonl"
start_mock "$TMP/s10.jsonl"
# shellcheck disable=SC2086
LMNAS_API_KEY=$KEY "$G" --strategy llm --llm "$URL" --explain --backoff 0.05 --transcripts "$TMP/tr10" \
	$LIM >"$TMP/o10.jsonl" 2>"$TMP/e10"
check_eq "echoed key, 500 then an answer: exit 0" "$?" 0
# shellcheck disable=SC2086
LMNAS_API_KEY=$KEY "$G" --strategy llm --llm "$URL" --http-retries 0 --transcripts "$TMP/tr10" \
	$LIM >"$TMP/o10b.jsonl" 2>"$TMP/e10b"
check_eq "echoed key in a 401: exit 1" "$?" 1
stop_mock
check_eq "the key was sent" "$(sort -u "$TMP/headers")" "Authorization: Bearer $KEY"
check "the mock did echo it (as [redacted] once scrubbed)" grep -q 'HTTP 500.*Bearer \[redacted\]' "$TMP/e10"
check "gen.error names the 401 and the refused key" jq -e '.gen.error | test("HTTP 401") and test("Bearer \\[redacted\\]") and test("LMNAS_API_KEY")' "$TMP/o10b.jsonl"
check_eq "the explanation keeps its text" "$(jq -r .gen.explanation "$TMP/o10.jsonl")" "Because it is small. (you sent: Authorization: Bearer [redacted])"
check_eq "transcript: every request" "$(wc -l <"$TMP/tr10/llm.jsonl" | tr -d ' ')" 4
check "the key is in no output, log or transcript" sh -c "! grep -rq -- '$KEY' '$TMP/o10.jsonl' '$TMP/o10b.jsonl' '$TMP/e10' '$TMP/e10b' '$TMP/tr10'"

# 11. Retry-After: seconds and HTTP-date forms are waited for; a wait beyond --timeout is not.
elapsed() { echo $((($(date +%s%N) - $1) / 1000000)); } # ms since a date +%s%N
{ echo '{"status":429,"retry_after":"1"}'; say "$ARCH"; echo '{"status":503,"retry_after_date_in":2}'; say "$ARCH"
  echo '{"status":503,"retry_after":"3600"}'; } >"$TMP/s11.jsonl"
start_mock "$TMP/s11.jsonl"
t0=$(date +%s%N)
# shellcheck disable=SC2086
"$G" --strategy llm --llm "$URL" --backoff 0.05 $LIM >"$TMP/o11.jsonl" 2>"$TMP/e11"
rc=$? ms=$(elapsed "$t0")
check_eq "429 with Retry-After: 1, then an answer: exit 0" "$rc" 0
check "waited the second asked for, not the 0.05 s backoff ($ms ms)" test "$ms" -ge 950
check "and said so" grep -q 'retrying in 1.0 s as the server asked (Retry-After)' "$TMP/e11"
t0=$(date +%s%N)
# shellcheck disable=SC2086
"$G" --strategy llm --llm "$URL" --backoff 0.05 $LIM >"$TMP/o11b.jsonl" 2>"$TMP/e11b"
rc=$? ms=$(elapsed "$t0")
check_eq "503 with an HTTP-date Retry-After, then an answer" "$rc $(jq -c .gen.attempts "$TMP/o11b.jsonl")" "0 1"
check "waited until the date ($ms ms)" test "$ms" -ge 900
n_before=$(wc -l <"$TMP/requests.jsonl")
t0=$(date +%s%N)
# shellcheck disable=SC2086
"$G" --strategy llm --llm "$URL" --backoff 0.05 --timeout 5 $LIM >"$TMP/o11c.jsonl" 2>"$TMP/e11c"
rc=$? ms=$(elapsed "$t0")
stop_mock
check_eq "Retry-After: 3600 beyond --timeout 5: exit 1 after one request" "$rc $(($(wc -l <"$TMP/requests.jsonl") - n_before))" "1 1"
check "at once ($ms ms)" test "$ms" -lt 2000
check "gen.error names the wait" jq -e '.gen.error | test("HTTP 503") and test("asks to wait 3600 s \\(Retry-After\\)")' "$TMP/o11c.jsonl"

# 12. Ill-formed UTF-8 in the answers: records and transcripts stay valid UTF-8.
{ jq -nc --arg c "$ARCH" '{content: $c, bad_utf8: true}'; echo '{"content":"Small.","bad_utf8":true}'; } >"$TMP/s12.jsonl"
start_mock "$TMP/s12.jsonl"
# shellcheck disable=SC2086
"$G" --strategy llm --llm "$URL" --explain --backoff 0.05 --transcripts "$TMP/tr12" $LIM >"$TMP/o12.jsonl" 2>"$TMP/e12"
check_eq "ill-formed UTF-8 after the arch: exit 0" "$?" 0
stop_mock
check "the record is valid UTF-8" iconv -f UTF-8 -t UTF-8 "$TMP/o12.jsonl"
check "the transcript is valid UTF-8" iconv -f UTF-8 -t UTF-8 "$TMP/tr12/llm.jsonl"
check_eq "bad bytes became U+FFFD" "$(jq -r .gen.explanation "$TMP/o12.jsonl")" "Small. bad�� bytes � end�"

# 13. Every request fails: the records say no answer came (gen.answers 0), so that the search can
# tell this iteration from one whose answers were all rejected, and run it again.
: >"$TMP/s13.jsonl"
start_mock "$TMP/s13.jsonl"
# shellcheck disable=SC2086
"$G" --strategy llm --llm "$URL" --count 2 --http-retries 1 --backoff 0.05 $LIM >"$TMP/o13.jsonl" 2>"$TMP/e13"
check_eq "server down for every candidate: exit 1" "$?" 1
stop_mock
check_eq "each record: no answer, and why" "$(jq -c '[.gen.answers, (.gen.error | test("^the model server gave no answer: HTTP 503"))]' "$TMP/o13.jsonl" | tr -d '\n')" "[0,true][0,true]"
check "the search's test (every record unanswered) holds" jq -s -e 'length > 0 and all(.[]; .gen.answers == 0)' "$TMP/o13.jsonl"
check "and does not hold when answers were rejected" sh -c "! jq -s -e 'length > 0 and all(.[]; .gen.answers == 0)' '$TMP/o5.jsonl' >/dev/null"
check_eq "rejected answers are counted" "$(jq -c .gen.answers "$TMP/o5.jsonl")" 2
done_testing
