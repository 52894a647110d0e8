#!/bin/sh
# pipelines/search.sh: a whole loop with a stand-in evaluator (MINI_TRAIN), the run directory's
# files, killed with SIGKILL mid-training and resumed without losing or redoing an evaluation;
# and, when mini-train can train, a tiny real loop on a slice of Fashion-MNIST.
. "$(dirname "$0")/../lib.sh"
S="$ROOT/pipelines/search.sh"
# The stand-in: accuracy from the cost, a pause so a kill lands mid-training, a log of finished
# evaluations (one "done <id>" line each).
cat >"$TMP/fake-mini.sh" <<'SH'
#!/bin/sh
rec=$(cat)
[ -z "${FAKE_START:-}" ] || echo "start $(echo "$rec" | jq -r .id)" >>"$FAKE_START"
sleep "${FAKE_SLEEP:-0}"
# FAKE_ORDER=1 or 2: finish in an order set by the id, or in the reverse one.
if [ -n "${FAKE_ORDER:-}" ]; then
	d=$(echo "$rec" | jq -r .id | cksum | cut -c1)
	[ "$FAKE_ORDER" = 2 ] && d=$((9 - d))
	sleep "0.$d"
fi
echo "$rec" | jq -c '.mini = {val_acc: (0.80 + ((.cost.macs % 1000) / 10000)), epochs: 0, seconds: 0}'
echo "done $(echo "$rec" | jq -r .id)" >>"$FAKE_LOG"
SH
chmod +x "$TMP/fake-mini.sh"
export MINI_TRAIN="$TMP/fake-mini.sh" FAKE_LOG="$TMP/evals.log"

R="$TMP/run1"
"$S" RUN="$R" ITER=3 CANDIDATES=4 JOBS=2 STRATEGY=evolve SEED=5 >"$TMP/o1" 2>"$TMP/e1"
check_eq "a 3-iteration evolve run: exit 0" "$?" 0
for f in candidates.jsonl rejected.jsonl evaluated.jsonl front-001.jsonl front-002.jsonl front-003.jsonl \
	summary.json feedback-003.json pareto.png; do
	check "run directory holds $f" test -e "$R/$f"
done
check_eq "12 candidates over 3 iterations" "$(grep -c '' "$R/candidates.jsonl")" 12
check_eq "every accepted candidate evaluated once" \
	"$(jq -r 'select(.check.ok) | .id' "$R/candidates.jsonl" | sort | tr '\n' ' ')" "$(jq -r .id "$R/evaluated.jsonl" | sort | tr '\n' ' ')"
check_eq "evaluations carry mini.val_acc" "$(jq -s 'all(.mini.val_acc > 0)' "$R/evaluated.jsonl")" true
check_eq "iterations recorded" "$(jq -r .gen.iteration "$R/candidates.jsonl" | sort -u | tr -d '\n')" 123
check "iteration 2 used evolution from the feedback" jq -e -s 'map(select(.gen.iteration == 2 and .gen.parent)) | length > 0' "$R/candidates.jsonl"
check "the summary states counts, reference and hypervolume" \
	jq -e '.counts.records >= 12 and .reference["cost.macs"] == 30000000 and .hypervolume_normalized > 0 and .front["mini.val_acc"].max > 0' "$R/summary.json"
check_eq "the last front is the pareto front of all evaluations" \
	"$(jq -r .id "$R/front-003.jsonl" | sort | tr -d '\n')" "$("$BIN/pareto" --front --ref cost.macs=30M "$R/evaluated.jsonl" 2>/dev/null | jq -r .id | sort | tr -d '\n')"
check "the PNG is a PNG" sh -c "head -c 8 '$R/pareto.png' | od -An -c | grep -q 'P   N   G'"
check "progress names each iteration" grep -q 'iteration 3/3' "$TMP/e1"
"$S" RUN="$R" ITER=3 CANDIDATES=4 >"$TMP/o1b" 2>"$TMP/e1b"
check_eq "a finished run started again does nothing new" "$(grep -c '' "$R/evaluated.jsonl")/$(grep -c 'already done' "$TMP/e1b")" "$(jq -s 'map(select(.check.ok)) | length' "$R/candidates.jsonl")/3"

# SIGKILL mid-training, then resume.
R2="$TMP/run2"
: >"$FAKE_LOG"
# The run in its own session, so the kill reaches parallel and every evaluator too.
FAKE_SLEEP=0.4 setsid sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$TMP/pid" \
	"$S" RUN="$R2" ITER=3 CANDIDATES=4 JOBS=2 SEED=9 PLOT=0 >/dev/null 2>"$TMP/e2" &
bg=$!
lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
i=0
while [ "$(lines "$R2/evaluated.jsonl")" -lt 5 ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
pkill -KILL -s "$(cat "$TMP/pid")" # the whole session: parallel puts each job in its own group
wait "$bg" 2>/dev/null
before=$(grep -c '' "$R2/evaluated.jsonl")
check "killed mid-run: some but not all evaluated ($before)" test "$before" -ge 5 -a "$before" -lt 12
cp "$R2/evaluated.jsonl" "$TMP/before.jsonl"
printf '{"id":"partial' >>"$R2/evaluated.jsonl" # a write cut short by the kill
: >"$FAKE_LOG"
FAKE_SLEEP=0 "$S" RUN="$R2" ITER=3 CANDIDATES=4 JOBS=2 SEED=9 PLOT=0 >/dev/null 2>"$TMP/e3"
check_eq "resumed run: exit 0" "$?" 0
check "the partial line was dropped" grep -q 'partial last line' "$TMP/e3"
check "no finished evaluation lost" sh -c "head -n $before '$R2/evaluated.jsonl' | cmp -s - '$TMP/before.jsonl'"
check_eq "no evaluation in the file twice" "$(jq -r .id "$R2/evaluated.jsonl" | sort | uniq -d | wc -l | tr -d ' ')" 0
check_eq "no finished evaluation redone" \
	"$(jq -r '"done " + .id' "$TMP/before.jsonl" | grep -c -F -x -f - "$FAKE_LOG")" 0
check "the rest was evaluated after the restart" test -s "$FAKE_LOG"
check_eq "all accepted candidates evaluated in the end" \
	"$(jq -r 'select(.check.ok) | .id' "$R2/candidates.jsonl" | sort | tr '\n' ' ')" "$(jq -r .id "$R2/evaluated.jsonl" | sort | tr '\n' ' ')"
check_eq "candidates not duplicated by the restart" "$(jq -r .id "$R2/candidates.jsonl" | sort | uniq -d | wc -l | tr -d ' ')" 0
check "every line of every JSONL is JSON" sh -c "cat '$R2'/*.jsonl | jq -e . >/dev/null"

# The same seed gives the same search whatever order the trainings finish in.
FAKE_ORDER=1 "$S" RUN="$TMP/ord1" ITER=3 CANDIDATES=4 JOBS=4 SEED=4 PLOT=0 >/dev/null 2>&1
FAKE_ORDER=2 "$S" RUN="$TMP/ord2" ITER=3 CANDIDATES=4 JOBS=4 SEED=4 PLOT=0 >/dev/null 2>&1
check "the trainings finished in different orders" \
	sh -c "! cmp -s '$TMP/ord1/evaluated.jsonl' '$TMP/ord2/evaluated.jsonl'"
check_eq "yet the same candidates were generated, iteration by iteration" \
	"$(jq -r .id "$TMP/ord1/candidates.jsonl" | tr '\n' ' ')" "$(jq -r .id "$TMP/ord2/candidates.jsonl" | tr '\n' ' ')"

# The search shell alone killed (SIGKILL) while a slow training runs: parallel and the trainings
# go on and append their results; the restart waits for them (they hold the lock) instead of
# training the same designs again and appending them twice.
R6="$TMP/run6"
: >"$FAKE_LOG"
export FAKE_START="$TMP/started.log"
: >"$FAKE_START"
FAKE_SLEEP=1.5 setsid sh -c 'echo $$ >"$1"; shift; exec "$@"' sh "$TMP/pid6" \
	"$S" RUN="$R6" ITER=1 CANDIDATES=4 JOBS=2 SEED=3 PLOT=0 >/dev/null 2>"$TMP/e7" &
bg=$!
i=0
while [ ! -s "$FAKE_START" ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
kill -KILL "$(cat "$TMP/pid6")" # the shell only: its parallel and trainings run on
wait "$bg" 2>/dev/null
unset FAKE_START
check_eq "the shell was killed before any training finished" "$(grep -c '' "$R6/evaluated.jsonl")" 0
FAKE_SLEEP=0 "$S" RUN="$R6" ITER=1 CANDIDATES=4 JOBS=2 SEED=3 PLOT=0 >/dev/null 2>"$TMP/e8"
check_eq "restarted at once: exit 0" "$?" 0
# Whatever the killed search left running must be over before the file is judged.
i=0
while pgrep -s "$(cat "$TMP/pid6")" >/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
check_eq "restarted at once: no design appended twice" \
	"$(jq -r .id "$R6/evaluated.jsonl" | sort | uniq -d | wc -l | tr -d ' ')" 0
check_eq "restarted at once: no design trained twice" "$(sort "$FAKE_LOG" | uniq -d | wc -l | tr -d ' ')" 0
check_eq "restarted at once: every accepted candidate evaluated" \
	"$(jq -r 'select(.check.ok) | .id' "$R6/candidates.jsonl" | sort | tr '\n' ' ')" "$(jq -r .id "$R6/evaluated.jsonl" | sort | tr '\n' ' ')"
check "restarted at once: it waited for the trainings left running" grep -q 'waiting for them' "$TMP/e8"

# A second search on a run directory in use is refused (it would train and append twice). The
# stand-in for it: a live process whose pid is in the lock file, holding the lock.
sh -c 'echo $$ >"$1"; exec flock "$1" sleep 3' sh "$R2/.lock" &
lock_pid=$!
sleep 0.3
"$S" RUN="$R2" ITER=4 CANDIDATES=4 PLOT=0 >/dev/null 2>"$TMP/e-lock"
check_eq "a second search on the same run directory: status 2" "$?" 2
check "it says another search is running" grep -q 'another search is running' "$TMP/e-lock"
check "and did nothing" test ! -e "$R2/front-004.jsonl"
kill "$lock_pid" 2>/dev/null
wait "$lock_pid" 2>/dev/null

# Rejections reach rejected.jsonl (an impossible budget for some candidates).
R3="$TMP/run3"
"$S" RUN="$R3" ITER=1 CANDIDATES=2 STRATEGY=random MACS_MAX=1k PLOT=0 >/dev/null 2>&1
check_eq "an impossible budget: candidates land in rejected.jsonl with reasons" \
	"$(jq -s 'length == 2 and all(.check.violations | any(.metric == "macs"))' "$R3/rejected.jsonl")" true
check_eq "and nothing is trained" "$(grep -c '' "$R3/evaluated.jsonl")" 0
# STRATEGY=llm through the pipeline, against the scripted server: transcripts in the run directory.
if cc -std=c11 -D_GNU_SOURCE -O2 -I/usr/include/cjson -o "$TMP/mock-llm" "$ROOT/tests/mock-llm/mock-llm.c" -lcjson; then
	B1='{"output_channels":16,"num_layers":1,"kernel_size":3,"stride":2,"expansion_factor":3,"use_se":false,"se_ratio":0,"conv_type":"mbconv","skip_op":"residual","activation":"relu6"}'
	B2=$(echo "$B1" | sed 's/"relu6"/"swish"/')
	for b in "$B1" "$B2"; do
		first=$(echo "$b" | sed 's/"expansion_factor":3/"expansion_factor":9/') # first_block's values
		jq -nc --arg c "{\"input_channels\":1,\"blocks\":[$first,$b,$b,$b,$b]}" '{content: $c}'
	done >"$TMP/script.jsonl"
	"$TMP/mock-llm" --script "$TMP/script.jsonl" --port-file "$TMP/port" --log "$TMP/req.jsonl" --lifetime 60 &
	mpid=$!
	i=0; while [ ! -s "$TMP/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	R5="$TMP/llm"
	"$S" RUN="$R5" ITER=1 CANDIDATES=2 STRATEGY=llm LLM_URL="http://127.0.0.1:$(cat "$TMP/port")" \
		LLM_MODEL=mock PLOT=0 >/dev/null 2>"$TMP/e5"
	check_eq "STRATEGY=llm: exit 0" "$?" 0
	kill "$mpid" 2>/dev/null; wait "$mpid" 2>/dev/null
	check_eq "STRATEGY=llm: two designs evaluated" "$(jq -s 'map(select(.gen.strategy == "llm" and .gen.model == "mock")) | length' "$R5/evaluated.jsonl")" 2
	check_eq "STRATEGY=llm: transcripts kept in the run directory" "$(wc -l <"$R5/transcripts/llm.jsonl" | tr -d ' ')" 2
	check "STRATEGY=llm: the prompt states the budgets" jq -e -s '.[0].messages[1].content | test("at most 30.0M")' "$TMP/req.jsonl"
	check "STRATEGY=llm: the second prompt names the first design of the iteration" \
		jq -e -s '(.[0].messages[1].content | test("Already proposed") | not) and (.[1].messages[1].content | test("Already proposed in this iteration.*relu6"))' "$TMP/req.jsonl"
	# A server that answers no request (its script is empty: 503 to all): the iteration is not done,
	# and the same search against a server that answers then completes it.
	: >"$TMP/empty.jsonl"
	rm -f "$TMP/port"
	"$TMP/mock-llm" --script "$TMP/empty.jsonl" --port-file "$TMP/port" --log "$TMP/req0.jsonl" --lifetime 60 &
	mpid=$!
	i=0; while [ ! -s "$TMP/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	R7="$TMP/llm-dead"
	"$S" RUN="$R7" ITER=1 CANDIDATES=1 STRATEGY=llm LLM_URL="http://127.0.0.1:$(cat "$TMP/port")" \
		LLM_MODEL=mock GEN_ARGS="--http-retries 0 --timeout 5" PLOT=0 >/dev/null 2>"$TMP/e7"
	check_eq "STRATEGY=llm, no answer at all: exit 2" "$?" 2
	kill "$mpid" 2>/dev/null; wait "$mpid" 2>/dev/null
	check "and the iteration is not marked done" test ! -e "$R7/front-001.jsonl" -a ! -e "$R7/candidates-001.jsonl"
	check "and the message says the server answered nothing" grep -q 'answered none of the requests' "$TMP/e7"
	rm -f "$TMP/port"
	"$TMP/mock-llm" --script "$TMP/script.jsonl" --port-file "$TMP/port" --log "$TMP/req1.jsonl" --lifetime 60 &
	mpid=$!
	i=0; while [ ! -s "$TMP/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	"$S" RUN="$R7" ITER=1 CANDIDATES=1 STRATEGY=llm LLM_URL="http://127.0.0.1:$(cat "$TMP/port")" \
		LLM_MODEL=mock PLOT=0 >/dev/null 2>"$TMP/e8"
	check_eq "run again with a server that answers: the iteration is done (exit 0)" "$?" 0
	kill "$mpid" 2>/dev/null; wait "$mpid" 2>/dev/null
	check "and it has its front" test -s "$R7/front-001.jsonl"
else
	fail "build the mock server"
fi
"$S" RUN="$TMP/bad" ITER=1 CANDIDATES=1 MINI_TRAIN=false PLOT=0 >/dev/null 2>"$TMP/e6"
check_eq "an evaluator that writes nothing stops the run (exit 2)" "$?" 2
check "and the iteration is not marked done" test ! -e "$TMP/bad/front-001.jsonl"
check "and the message says what to check" grep -q 'MINI_TRAIN' "$TMP/e6"
# An evaluator that exits without a record for one candidate (a crash, a kill, a host that failed):
# the candidate is kept in evaluated.jsonl with mini.error and the host, not lost.
cat >"$TMP/lose-one.sh" <<'SH'
#!/bin/sh
rec=$(cat)
[ "${PARALLEL_SEQ:-}" = 2 ] && exit 0
echo "$rec" | jq -c '.mini = {val_acc: 0.5}'
SH
chmod +x "$TMP/lose-one.sh"
"$S" RUN="$TMP/lose" ITER=1 CANDIDATES=3 MINI_TRAIN="$TMP/lose-one.sh" PLOT=0 >/dev/null 2>"$TMP/e9"
check_eq "an evaluation without a record: exit 0" "$?" 0
check_eq "an evaluation without a record: every accepted candidate is in evaluated.jsonl" \
	"$(jq -r 'select(.check.ok) | .id' "$TMP/lose/candidates.jsonl" | sort | tr '\n' ' ')" "$(jq -r .id "$TMP/lose/evaluated.jsonl" | sort | tr '\n' ' ')"
check_eq "an evaluation without a record: that one has mini.error" \
	"$(jq -s 'map(select(.mini.error | tostring | test("wrote no record"))) | length' "$TMP/lose/evaluated.jsonl")" 1
check "every evaluation names the host that ran it (mini.host)" \
	jq -e -s --arg h "$(hostname)" 'length == 3 and all(.mini.host == $h)' "$TMP/lose/evaluated.jsonl"
check "the log says a candidate got no record" grep -q 'got no record from the evaluator' "$TMP/e9"
check "pareto sees it: counted as failed in the summary" jq -e '.counts.failed == 1' "$TMP/lose/summary.json"
# WEIGHTS=ternary: the search budgets the ternary flash (gen-arch --weight-format ternary).
"$S" RUN="$TMP/tern" ITER=1 CANDIDATES=3 JOBS=2 STRATEGY=random SEED=7 WEIGHTS=ternary >/dev/null 2>"$TMP/et"
check_eq "WEIGHTS=ternary: exit 0" "$?" 0
jq -c '{arch, resolution, classes}' "$TMP/tern/candidates.jsonl" |
	"$ROOT/bin/check-cost" --weight-format ternary | jq -c .cost.flash_bytes >"$TMP/tern.flash"
check_eq "WEIGHTS=ternary: the candidates' cost.flash_bytes is check-cost --weight-format ternary's" \
	"$(jq -c .cost.flash_bytes "$TMP/tern/candidates.jsonl" | tr '\n' ' ')" "$(tr '\n' ' ' <"$TMP/tern.flash")"
check "WEIGHTS=ternary: the log names the weights" grep -q 'ternary weights' "$TMP/et"
"$S" WEIGHTS=int4 RUN="$TMP/x" >/dev/null 2>&1
check_eq "a bad WEIGHTS: exit 2" "$?" 2
"$S" STRATEGY=sideways RUN="$TMP/x" >/dev/null 2>&1
check_eq "a bad STRATEGY: exit 2" "$?" 2
"$S" --help | grep -q SSHLOGIN
check_eq "--help documents --sshlogin fan-out" "$?" 0

# A real loop on a slice of Fashion-MNIST (Debian's dataset-fashion-mnist; make deps installs it).
if [ -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
	unset MINI_TRAIN
	R4="$TMP/real"
	t0=$(date +%s)
	"$S" RUN="$R4" ITER=2 CANDIDATES=2 JOBS=2 STRATEGY=random MACS_MAX=2M \
		MINI_ARGS="--epochs 2 --train-limit 2000 --val-split 0.02 --test-limit 200 --threads 1 --no-autoaugment --quiet --lr 0.1" >/dev/null 2>"$TMP/e4"
	rc=$?
	check_eq "real mini-train loop: exit 0 ($(($(date +%s) - t0)) s)" "$rc" 0
	check "real mini-train loop: every accepted candidate has a validation accuracy" jq -e -s 'length == 4 and all(.mini.val_acc >= 0 and .mini.val_acc <= 1)' "$R4/evaluated.jsonl"
	check "real mini-train loop: a front and a summary" jq -e '.counts.front >= 1' "$R4/summary.json"
else
	skip "real mini-train loop: Fashion-MNIST is not installed"
fi
done_testing
