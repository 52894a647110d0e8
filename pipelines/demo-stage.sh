#!/bin/sh
# pipelines/demo-stage.sh — the steps the rules of pipelines/demo.mk share, run in the run
# directory (BIN from the environment):
#
#   demo-stage.sh time NAME COMMAND...
#       runs COMMAND; when it succeeds, appends "NAME seconds" to times.txt (report.sh reads it)
#   demo-stage.sh filter [-l LABEL] NAME IN OUT COMMAND...
#       COMMAND reads the one record of IN; OUT is written (OUT.tmp, then a rename) only when
#       COMMAND succeeded and wrote exactly one record with no error. Timed as NAME. LABEL
#       prefixes each of its stderr lines ("student | ...": two trainings side by side).
#   demo-stage.sh rerank IN OUT JOBS COMMAND...
#       each record of IN through COMMAND (a mini-train: one record in, one out), JOBS at once (GNU
#       parallel); OUT holds the records of IN in their order, each with "rerank" = what COMMAND
#       wrote as "mini" (the record's own "mini" is kept), or {error} when its training failed
#       (so it ranks last). Timed as "rerank".
#   demo-stage.sh epochs TRAIN_IMAGES TRAIN_MINUTES RESOLUTION CLASSES KEY CAP
#       records in, records out with demo.KEY = the epochs of TRAIN_IMAGES that fit 90% of
#       TRAIN_MINUTES at the estimated time per image (check-cost --train-time: one thread, from
#       the op graph), at least 1 and at most CAP; also demo.train_us_per_image, demo.images_per_s.
set -eu
die() { echo "demo: error: $*" >&2; exit 1; }

timed() { # name command...
	name=$1
	shift
	s0=$(date +%s)
	"$@" || return
	echo "$name $(($(date +%s) - s0))" >>times.txt
}

filter() { # name in out command...
	name=$1 in=$2 out=$3
	shift 3
	timed "$name" "$@" <"$in" >"$out.tmp" || { rm -f "$out.tmp"; die "$(basename "$1") failed (see above)"; }
	jq -e -s 'length == 1 and (map(.. | objects | select(has("error"))) | length == 0)' "$out.tmp" \
		>/dev/null || { cat "$out.tmp" >&2; rm -f "$out.tmp"; die "$(basename "$1") wrote an error"; }
	mv "$out.tmp" "$out"
}

rerank() { # in out jobs command...
	in=$1 out=$2 jobs=$3
	shift 3
	jq -c '.proxy = .mini | del(.mini)' "$in" >"$out.in"
	s0=$(date +%s)
	parallel -q --pipe -N1 -j"$jobs" --keep-order "$@" <"$out.in" >"$out.out" ||
		echo "demo: a re-ranking training failed (see above): that design ranks last" >&2
	echo "rerank $(($(date +%s) - s0))" >>times.txt
	jq -c -n --slurpfile done "$out.out" 'inputs | . as $r
		| ([$done[] | select(.id == $r.id and .mini.val_acc != null)] | .[0]) as $d
		| if $d then $d | .rerank = .mini else $r | .rerank = {error: "its re-ranking training failed"} end
		| .mini = .proxy | del(.proxy)' "$out.in" >"$out.tmp"
	rm -f "$out.in" "$out.out"
	mv "$out.tmp" "$out"
}

# Epochs of N training images at US microseconds per image that fit MINUTES (90%), 1 to CAP.
fit_epochs() { # us n minutes cap
	awk -v us="$1" -v n="$2" -v m="$3" -v cap="$4" \
		'BEGIN { e = int(m * 60 * 0.9 * 1e6 / (us * n)); if (e > cap) e = cap; if (e < 1) e = 1; print e }'
}

epochs() { # train_images train_minutes resolution classes key cap
	"$BIN/check-cost" --train-time --resolution "$3" --classes "$4" 2>/dev/null |
		while IFS= read -r rec; do
			us=$(echo "$rec" | jq -r .cost.train_us_per_image)
			e=$(fit_epochs "$us" "$1" "$2" "$6")
			echo "$rec" | jq -c --arg k "$5" --argjson e "$e" \
				'.demo += {($k): $e, train_us_per_image: .cost.train_us_per_image, images_per_s: (1e6 / .cost.train_us_per_image)}'
		done
}

# The command's stderr with each line prefixed by the label; its status.
labelled() { # label command...
	label=$1
	shift
	rcfile=$(mktemp)
	{
		rc=0
		("$@") 2>&1 >/dev/null || rc=$?
		echo "$rc" >"$rcfile"
	} | sed -u "s/^/$label | /" >&2
	rc=$(cat "$rcfile")
	rm -f "$rcfile"
	return "$rc"
}

step=${1:?usage: demo-stage.sh time|filter|rerank|epochs ...}
shift
case $step in
time) timed "$@" ;;
filter)
	if [ "$1" = -l ]; then
		label=$2
		shift 2
		labelled "$label" filter "$@"
	else
		filter "$@"
	fi
	;;
rerank) rerank "$@" ;;
epochs) epochs "$@" ;;
*) die "demo-stage.sh: no step '$step'" ;;
esac
