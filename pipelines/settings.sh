# pipelines/settings.sh — sourced by search.sh, demo.sh, fidelity.sh and compare.sh: their
# NAME=value arguments, the embedded defaults and the check of their whole-number settings. Not a
# program of its own.

# Idle OpenMP threads sleep instead of spinning (libgomp reads this once, before a program's main,
# so the programs cannot set it themselves: see net_set_threads in src/engine/net.h), unless
# GOMP_SPINCOUNT bounds their spin (make demo's SPIN: a machine the demo has to itself).
[ -n "${GOMP_SPINCOUNT:-}" ] || export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"

# omp_waits N: the idle OpenMP threads of the programs started from here on spin N times before
# they sleep (GOMP_SPINCOUNT, OMP_WAIT_POLICY unset: for a machine they have to themselves);
# N = 0: they sleep at once (OMP_WAIT_POLICY=passive).
omp_waits() {
	if [ "$1" -gt 0 ]; then
		unset OMP_WAIT_POLICY
		export GOMP_SPINCOUNT="$1"
	else
		unset GOMP_SPINCOUNT
		export OMP_WAIT_POLICY=passive
	fi
}

# settings_from_args "$@": exports every NAME=value argument. -h or --help prints the calling
# script's header comment (line 2 up to `set -eu`) and exits 0; anything else exits 2.
settings_from_args() {
	for arg in "$@"; do
		case $arg in
		[A-Z_]*=*) export "${arg?}" ;;
		-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
		*) echo "$(basename "$0"): arguments are NAME=value (see --help), not '$arg'" >&2; exit 2 ;;
		esac
	done
}

# default_target: the embedded defaults every pipeline starts from - Fashion-MNIST at 28x28 with one
# channel and 10 classes, for a microcontroller of 64 KiB SRAM, 256 KiB flash and 30M MACs - each
# kept when already set (NAME=value).
default_target() {
	DATASET=${DATASET:-fashion-mnist}
	DATA=${DATA:-}
	RESOLUTION=${RESOLUTION:-28}
	CLASSES=${CLASSES:-10}
	INPUT_CHANNELS=${INPUT_CHANNELS:-1}
	MACS_MAX=${MACS_MAX:-30M}
	SRAM_MAX=${SRAM_MAX:-64KiB}
	FLASH_MAX=${FLASH_MAX:-256KiB}
}

# whole_numbers NAME...: calls the script's die unless every named setting is a whole number.
whole_numbers() {
	for n in "$@"; do
		eval "v=\$$n"
		case $v in '' | *[!0-9]*) die "$n must be a whole number, not '$v'" ;; esac
	done
}

# epochs N: "1 epoch", "N epochs" (for the banners)
epochs() {
	if [ "$1" = 1 ]; then echo "1 epoch"; else echo "$1 epochs"; fi
}

# lock_run FD FILE WHAT: one WHAT ("search", "demo") per run directory at a time. The caller has
# opened FILE on FD without truncating it (exec 9>>"$RUN/.lock"). Every child inherits FD, so the
# lock is held until the last of them exits, even when this shell is killed and its trainings go
# on. FILE holds the pid of the shell that took the lock: if that shell is alive another WHAT is
# running (die); if it is gone, its children are still finishing their work, and this one waits
# for them (what they append is then kept, not done again). Needs the script's die.
lock_run() {
	command -v flock >/dev/null || die "flock is missing (util-linux)"
	if ! flock -n "$1"; then
		holder=$(cat "$2" 2>/dev/null || true)
		case $holder in '' | *[!0-9]*) holder= ;; esac
		[ -n "$holder" ] && kill -0 "$holder" 2>/dev/null &&
			die "another $3 is running in $(dirname "$2") (process $holder holds $2)"
		echo "$3: the $3 killed in $(dirname "$2") left processes that still hold $2: waiting for them" >&2
		flock "$1" || die "cannot lock $2"
		echo "$3: they have finished: resuming" >&2
	fi
	echo $$ >"$2"
}

# JQ_STATUS: jq definitions of a search record's state, the mirror of src/core/status.h (the one
# definition; tests/cli/status.sh checks the two agree). Use as jq "$JQ_STATUS select(rejected)".
#   rejected: gen.error, or a check whose ok is not true; failed: mini.error (not rejected);
#   status: "rejected" | "failed" | "evaluated" (a numeric mini.val_acc) | "pending"
JQ_STATUS='
def rejected: (.gen.error != null) or (has("check") and .check.ok != true);
def failed: (rejected | not) and (.mini.error != null);
def status: if rejected then "rejected" elif failed then "failed"
	elif (.mini.val_acc | type) == "number" then "evaluated" else "pending" end;
'
