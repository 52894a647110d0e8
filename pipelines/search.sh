#!/bin/sh
# pipelines/search.sh — the search loop: gen-arch → (shared check) → mini-train → pareto → feedback,
# for ITER iterations, resumable. `make search` runs it; every setting is an environment variable
# or a NAME=value argument:
#
#   pipelines/search.sh RUN=runs/fmnist ITER=3 CANDIDATES=4 STRATEGY=evolve MINI_ARGS="--epochs 2"
#
#   RUN=dir           run directory (default runs/search)
#   ITER=n            iterations (3)             CANDIDATES=k   candidates per iteration (4)
#   STRATEGY=s        evolve | random | llm (evolve)            SEED=n  (1)
#   JOBS=n            mini-train jobs in parallel (2)
#   SSHLOGIN=list     GNU parallel --sshlogin list to fan out over hosts, e.g.
#                     SSHLOGIN="2/:,4/user@gpu1,1/ssh -p 2222 user@gpu2" (":" is this machine;
#                     the number before / is the jobs on that host, which then replaces JOBS;
#                     without it parallel asks the host, which then needs GNU parallel; an
#                     entry may be a whole ssh command). The remote hosts need the same bin/ path
#                     and dataset (DATA is made absolute); parallel sends the record on stdin.
#                     Each evaluation records the host that trained it in mini.host.
#   DATASET=name      fashion-mnist (default) | cifar10 | cifar100 | safetensors; DATA=path
#   RESOLUTION=n (28)  CLASSES=n (10)  INPUT_CHANNELS=n (1)
#   MACS_MAX (30M)  MACS_MIN ()  SRAM_MAX (64KiB)  FLASH_MAX (256KiB)  — the budgets
#   TRAIN_US_MAX ()  the longest estimated training time per image, one thread (check-cost
#                    --train-us-max): generated designs over it are rejected like a budget
#   LATENCY_MAX ()   the longest predicted inference on the Cortex-M7, in ms at MCU_MHZ (216)
#                    (check-cost --latency-max, cost.m7_ms): rejected like a budget
#   WEIGHTS (int8)   int8 | ternary: the deployed weights whose flash FLASH_MAX limits
#                    (gen-arch --weight-format, check-cost(1))
#   MINI_ARGS="..."   mini-train options; default a short run: "--epochs 1 --train-limit 20000
#                     --schedule cosine --lr 0.2 --warmup-epochs 0.2 --batch 128 --no-autoaugment
#                     --crop-pad 2 --test-limit 1000" (one epoch, the lr going to zero by its end:
#                     the proxy that ranked designs best in pipelines/fidelity.sh; its measured
#                     rank correlation is in README.md, "Does the search's ranking mean anything?");
#                     MINI_ARGS= (empty) trains with the paper's full mini recipe
#   MINI_TRAIN="cmd"  the evaluator command (reads one record on stdin, writes it with mini.val_acc);
#                     default: bin/mini-train --dataset $DATASET --resolution $RESOLUTION
#                     --threads $THREADS --no-progress $MINI_ARGS   (THREADS = cores / JOBS)
#   PARETO_ARGS="..." extra pareto options, e.g. a training-time limit: "--train-minutes 14.4
#                     --train-epochs 25 --train-images 54000" (designs that do not fit stay off the
#                     front; the demo passes its TRAIN_MINUTES and MIN_EPOCHS)
#   LLM_URL, LLM_MODEL  for STRATEGY=llm (an OpenAI-compatible server); GEN_ARGS="..." extra
#                     gen-arch options (e.g. "--explain")
#   PLOT=0            skip the gnuplot picture
#
# The run directory holds append-only JSONL: candidates.jsonl (everything generated),
# rejected.jsonl (with the check's reasons), evaluated.jsonl (with mini; an evaluator that died or
# whose host failed without writing a record leaves the candidate there with mini.error, so no
# candidate is lost and the feedback sees the failure), front-NNN.jsonl (the front
# after iteration NNN), summary-NNN.json and summary.json (pareto --summary), feedback-NNN.json (what
# the generator saw), transcripts/ (LLM requests and answers), pareto.png.
#
# Killed at any moment (even SIGKILL) and started again with the same RUN, it loses no finished
# evaluation and redoes none: an iteration is done when its front file exists; a candidate is
# evaluated unless its id is already in evaluated.jsonl; each evaluation is appended as one
# complete line and a partial last line (from a kill) is dropped on restart. One search per run
# directory (RUN/.lock): a second one is refused, and a restart after the search's shell alone was
# killed waits for the trainings that shell left running.
set -eu

. "$(dirname "$0")/settings.sh"
settings_from_args "$@"
log() { echo "search: $*" >&2; }
die() { echo "search: error: $*" >&2; exit 2; }

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/bin}
RUN=${RUN:-runs/search}
ITER=${ITER:-3}
CANDIDATES=${CANDIDATES:-4}
STRATEGY=${STRATEGY:-evolve}
SEED=${SEED:-1}
JOBS=${JOBS:-2}
SSHLOGIN=${SSHLOGIN:-}
default_target # DATASET DATA RESOLUTION CLASSES INPUT_CHANNELS MACS_MAX SRAM_MAX FLASH_MAX (settings.sh)
# The evaluations may run on other hosts, in other folders: DATA as an absolute path.
case $DATA in
'' | /*) ;;
*)
	dir=$(cd "$(dirname "$DATA")" 2>/dev/null && pwd) || die "DATA=$DATA: no such folder"
	DATA=$dir/$(basename "$DATA")
	;;
esac
MACS_MIN=${MACS_MIN:-}
TRAIN_US_MAX=${TRAIN_US_MAX:-}
LATENCY_MAX=${LATENCY_MAX:-}
MCU_MHZ=${MCU_MHZ:-216}
WEIGHTS=${WEIGHTS:-int8}
# A short mini-train by default so a first run takes minutes; MINI_ARGS= (empty) gives the paper's
# full 30-epoch mini recipe on the whole training split.
MINI_ARGS=${MINI_ARGS-"--epochs 1 --train-limit 20000 --schedule cosine --lr 0.2 --warmup-epochs 0.2 --batch 128 --no-autoaugment --crop-pad 2 --test-limit 1000"}
# Each of the JOBS trainings gets its share of the cores.
THREADS=${THREADS:-$(( $(nproc 2>/dev/null || echo 2) / ${JOBS:-2} ))}
[ "$THREADS" -ge 1 ] 2>/dev/null || THREADS=1
MINI_DEFAULT="$BIN/mini-train --dataset $DATASET ${DATA:+--data $DATA} --resolution $RESOLUTION --threads $THREADS --no-progress $MINI_ARGS"
MINI_TRAIN=${MINI_TRAIN:-$MINI_DEFAULT}
LLM_URL=${LLM_URL:-${LMNAS_LLM_URL:-http://127.0.0.1:8080}}
LLM_MODEL=${LLM_MODEL:-${LMNAS_LLM_MODEL:-default}}
GEN_ARGS=${GEN_ARGS:-}
PARETO_ARGS=${PARETO_ARGS:-}
PLOT=${PLOT:-1}

case $STRATEGY in evolve | random | llm) ;; *) die "STRATEGY must be evolve, random or llm" ;; esac
case $WEIGHTS in int8 | ternary) ;; *) die "WEIGHTS must be int8 or ternary" ;; esac
whole_numbers ITER CANDIDATES JOBS SEED
for p in gen-arch pareto feedback; do [ -x "$BIN/$p" ] || die "$BIN/$p is missing: run make"; done
[ "$MINI_TRAIN" != "$MINI_DEFAULT" ] || [ -x "$BIN/mini-train" ] || die "$BIN/mini-train is missing: run make"
command -v jq >/dev/null || die "jq is missing (make deps)"
command -v parallel >/dev/null || die "GNU parallel is missing (make deps)"

mkdir -p "$RUN/transcripts"
CAND=$RUN/candidates.jsonl
REJ=$RUN/rejected.jsonl
EVAL=$RUN/evaluated.jsonl
touch "$CAND" "$REJ" "$EVAL"
# One search per run directory: a second one would train the same candidates again and append
# them twice. The lock (fd 9) is inherited by every child, the trainings included: a restart after
# this shell alone was killed waits for the trainings it left running (settings.sh).
exec 9>>"$RUN/.lock"
lock_run 9 "$RUN/.lock" search

# Drops a partial last line (a write cut by a kill): keeps the file up to its last newline.
repair() {
	f=$1
	[ -s "$f" ] || return 0
	if [ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" != '\n' ]; then
		keep=$(grep -c '' "$f")
		keep=$((keep - 1))
		log "dropping a partial last line of $f"
		head -n "$keep" "$f" >"$f.repair" && mv "$f.repair" "$f"
	fi
}
# Ids already in a JSONL file (tolerant of bad lines).
ids_of() { jq -R -r 'fromjson? | .id // empty' "$@" 2>/dev/null | sort -u; }
# Appends the records of $1 whose id is not yet in $2 (idempotent across restarts).
append_new() {
	ids_of "$2" >"$RUN/.ids"
	jq -c --rawfile seen "$RUN/.ids" \
		'select((.id // "") as $i | ($seen | split("\n") | index($i)) | not)' "$1" >>"$2"
}

# The history in one order, iteration then id: the trainings finish in any order, and the same
# results must give the generator the same feedback (a fixed SEED reproduces the search).
history() {
	jq -R -n -c '[inputs | fromjson? // empty] | sort_by(.gen.iteration // 0, .id // "") | .[]' \
		"$EVAL" "$REJ"
}

CHECK="--resolution $RESOLUTION --classes $CLASSES --macs-max $MACS_MAX --sram-max $SRAM_MAX --flash-max $FLASH_MAX --weight-format $WEIGHTS"
[ -n "$MACS_MIN" ] && CHECK="$CHECK --macs-min $MACS_MIN"
[ -n "$TRAIN_US_MAX" ] && CHECK="$CHECK --train-us-max $TRAIN_US_MAX"
[ -n "$LATENCY_MAX" ] && CHECK="$CHECK --latency-max $LATENCY_MAX --mcu-mhz $MCU_MHZ"
REFS="--ref mini.val_acc=0 --ref cost.macs=$MACS_MAX --ref cost.params=$FLASH_MAX"
HERE=$(hostname 2>/dev/null || uname -n)

# The trainings of .todo, one record per job, fanned out by GNU parallel over JOBS slots here or
# over the SSHLOGIN hosts (the list stays one argument: an entry may be a whole ssh command). Each
# job first prints "@host NAME" and parallel tags every line with the job's number, so that
# stamp_hosts can tell which host trained which record; parallel's joblog keeps each job's status.
fan_out() {
	cmd="echo \"@host \$PARALLEL_SSHHOST\"; $MINI_TRAIN"
	set -- --will-cite --pipe -N1 --halt never --line-buffer --tagstring '{#}' --joblog "$RUN/.joblog"
	if [ -n "$SSHLOGIN" ]; then
		parallel "$@" -j100% --sshlogin "$SSHLOGIN" "$cmd" <"$RUN/.todo"
	else
		parallel "$@" -j"$JOBS" "$cmd" <"$RUN/.todo"
	fi
}
# fan_out's tagged lines -> the records, each with mini.host (this machine's name for ":"). awk
# keeps each job's host; lines that are not JSON objects are dropped (lost_records then keeps the
# candidate).
stamp_hosts() {
	awk -F '\t' -v here="$HERE" '{ job = $1; text = substr($0, length(job) + 2) }
		text ~ /^@host / { h = substr(text, 7); host[job] = (h == ":" || h == "") ? here : h; next }
		{ print ((job in host) ? host[job] : here) "\t" text; fflush() }' |
		jq -R -c --unbuffered 'capture("^(?<host>[^\t]*)\t(?<text>.*)$") | .host as $h
			| .text | fromjson? | objects
			| if (.mini | type) == "object" or .mini == null then .mini.host = $h else . end'
}
# The candidates of .todo that got no record (the evaluator crashed or was killed, its host could
# not be reached), each with mini.error naming the host and the exit status from the joblog: no
# candidate is lost. Line k of .todo is job k.
lost_records() {
	ids_of "$EVAL" >"$RUN/.ids"
	tail -n +2 "$RUN/.joblog" | cut -f 1,2,7,8 >"$RUN/.jobs"
	jq -n -c --rawfile done "$RUN/.ids" --rawfile jobs "$RUN/.jobs" --arg here "$HERE" '
		($jobs | split("\n") | map(select(length > 0) | split("\t")
			| {key: .[0], value: {host: (.[1] | split(" ") | last | sub("^.*@"; "")), exit: .[2], signal: .[3]}})
			| from_entries) as $jobs
		| ($done | split("\n")) as $done
		| foreach inputs as $r (0; . + 1; tostring as $job | $r
			| select((.id // "") as $i | $done | index($i) | not)
			| $jobs[$job] as $j
			| .mini = {host: (if $j == null or $j.host == ":" then $here else $j.host end),
				error: (if $j == null then "the evaluator did not run (parallel stopped before it)"
					else "the evaluator wrote no record (exit status \($j.exit), signal \($j.signal))" end)})' \
		"$RUN/.todo"
}

log "run directory $RUN: $ITER iterations of $CANDIDATES candidates, strategy $STRATEGY, $JOBS jobs"
log "budgets: MACs <= $MACS_MAX, SRAM <= $SRAM_MAX, flash <= $FLASH_MAX ($WEIGHTS weights)${LATENCY_MAX:+, latency <= $LATENCY_MAX ms at $MCU_MHZ MHz} at ${RESOLUTION}x$RESOLUTION, $CLASSES classes"
t_start=$(date +%s)
for f in "$CAND" "$REJ" "$EVAL"; do repair "$f"; done
i=1
while [ "$i" -le "$ITER" ]; do
	nnn=$(printf %03d "$i")
	if [ -f "$RUN/front-$nnn.jsonl" ]; then
		log "iteration $i: already done"
		i=$((i + 1))
		continue
	fi
	# 1. Feedback from the whole history.
	# shellcheck disable=SC2086
	history | "$BIN/feedback" --macs-max "$MACS_MAX" --flash-max "$FLASH_MAX" \
		--sram-max "$SRAM_MAX" -o "$RUN/feedback-$nnn.json" 2>/dev/null || true

	# 2. Candidates (once per iteration: the file is the marker).
	if [ ! -f "$RUN/candidates-$nnn.jsonl" ]; then
		ids_of "$CAND" "$EVAL" "$REJ" | jq -R -c '{id: .}' >"$RUN/.seen.jsonl"
		llm=
		[ "$STRATEGY" = llm ] && llm="--llm $LLM_URL --model $LLM_MODEL --transcripts $RUN/transcripts"
		# shellcheck disable=SC2086
		rc=0
		"$BIN/gen-arch" --strategy "$STRATEGY" --count "$CANDIDATES" --iteration "$i" \
			--seed $((SEED * 1000 + i)) --input-channels "$INPUT_CHANNELS" \
			--feedback "$RUN/feedback-$nnn.json" --seen "$RUN/.seen.jsonl" $CHECK $llm $GEN_ARGS \
			>"$RUN/.candidates.tmp" || rc=$?
		[ "$rc" -le 1 ] || die "gen-arch failed (status $rc)"
		# a model server that answered no request leaves nothing to judge: the iteration is not
		# done (no candidates-NNN.jsonl), and running the search again retries it
		if [ "$rc" -eq 1 ] && jq -s -e 'length > 0 and all(.[]; .gen.answers == 0)' \
			"$RUN/.candidates.tmp" >/dev/null 2>&1; then
			die "iteration $i: the model server answered none of the requests (see gen.error in $RUN/.candidates.tmp); run the search again to retry this iteration"
		fi
		[ "$rc" -eq 0 ] || log "iteration $i: some candidates could not be generated"
		mv "$RUN/.candidates.tmp" "$RUN/candidates-$nnn.jsonl"
	fi
	append_new "$RUN/candidates-$nnn.jsonl" "$CAND"
	jq -c "$JQ_STATUS"' select(rejected)' "$RUN/candidates-$nnn.jsonl" >"$RUN/.rejected.tmp"
	append_new "$RUN/.rejected.tmp" "$REJ"
	jq -c "$JQ_STATUS"' select(rejected | not)' "$RUN/candidates-$nnn.jsonl" >"$RUN/.accepted"

	# 3. Mini-training of the accepted candidates not yet evaluated, fanned out.
	ids_of "$EVAL" >"$RUN/.ids"
	jq -c --rawfile done "$RUN/.ids" 'select(.id as $i | ($done | split("\n") | index($i)) | not)' \
		"$RUN/.accepted" >"$RUN/.todo"
	n_acc=$(grep -c '' "$RUN/.accepted" || true)
	n_todo=$(grep -c '' "$RUN/.todo" || true)
	n_rej=$(($(grep -c '' "$RUN/candidates-$nnn.jsonl" || true) - n_acc))
	log "iteration $i/$ITER: $n_acc accepted, $n_rej rejected; training $n_todo ${SSHLOGIN:+over the SSHLOGIN hosts}${SSHLOGIN:-with $JOBS job(s)}"
	if [ "$n_todo" -gt 0 ]; then
		t0=$(date +%s)
		n_before=$(grep -c '' "$EVAL" || true)
		fan_out | stamp_hosts >>"$EVAL"
		repair "$EVAL"
		[ "$(grep -c '' "$EVAL" || true)" -gt "$n_before" ] ||
			die "the evaluator wrote nothing for $n_todo candidates: check MINI_TRAIN / MINI_ARGS${SSHLOGIN:+ / SSHLOGIN}"
		lost_records >"$RUN/.lost"
		n_lost=$(grep -c '' "$RUN/.lost" || true)
		if [ "$n_lost" -gt 0 ]; then
			cat "$RUN/.lost" >>"$EVAL"
			log "iteration $i: $n_lost candidate(s) got no record from the evaluator: kept with mini.error"
			jq -r '"search:   \(.id) on \(.mini.host): \(.mini.error)"' "$RUN/.lost" >&2
		fi
		n_failed=$(tail -n +2 "$RUN/.joblog" | awk -F '\t' '$7 != 0 || $8 != 0' | wc -l | tr -d ' ')
		[ "$n_failed" -eq 0 ] || log "iteration $i: $n_failed evaluation(s) failed (see mini.error in $EVAL)"
		log "iteration $i: trained in $(($(date +%s) - t0)) s"
	fi

	# 4. The front after this iteration (its file marks the iteration done).
	# shellcheck disable=SC2086
	"$BIN/pareto" $REFS $PARETO_ARGS --summary "$RUN/summary-$nnn.json" "$EVAL" "$REJ" >"$RUN/.pareto" 2>"$RUN/.pareto.err" ||
		[ $? -eq 1 ] || { cat "$RUN/.pareto.err" >&2; die "pareto failed"; }
	cp "$RUN/summary-$nnn.json" "$RUN/.summary.tmp" && mv "$RUN/.summary.tmp" "$RUN/summary.json"
	jq -c 'select(.pareto.front)' "$RUN/.pareto" >"$RUN/.front.tmp"
	mv "$RUN/.front.tmp" "$RUN/front-$nnn.jsonl"
	jq -r --arg i "$i" '"search: iteration \($i): \(.counts.front) on the front, best val_acc \(.best_acc.value // "-") (\(.best_acc.id // "-")), hypervolume \(.hypervolume_normalized * 1e4 | round / 1e4) of the budget box"' \
		"$RUN/summary.json" >&2
	i=$((i + 1))
done
rm -f "$RUN/.ids" "$RUN/.todo" "$RUN/.accepted" "$RUN/.rejected.tmp" "$RUN/.pareto" "$RUN/.pareto.err" \
	"$RUN/.seen.jsonl" "$RUN/.joblog" "$RUN/.jobs" "$RUN/.lost"

if [ "$PLOT" = 1 ] && command -v gnuplot >/dev/null; then
	"$ROOT/pipelines/plot-pareto.sh" "$RUN" || log "the plot failed"
fi
log "done in $(($(date +%s) - t_start)) s: $(grep -c '' "$EVAL") evaluated, $(grep -c '' "$REJ") rejected"
log "front: $RUN/front-$(printf %03d "$ITER").jsonl   summary: $RUN/summary.json   plot: $RUN/pareto.png"
