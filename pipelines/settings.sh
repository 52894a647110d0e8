# pipelines/settings.sh — sourced by search.sh and demo.sh: their NAME=value arguments and the
# check of their whole-number settings. Not a program of its own.

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

# whole_numbers NAME...: calls the script's die unless every named setting is a whole number.
whole_numbers() {
	for n in "$@"; do
		eval "v=\$$n"
		case $v in '' | *[!0-9]*) die "$n must be a whole number, not '$v'" ;; esac
	done
}

# JQ_STATUS: jq definitions of a search record's state, the mirror of src/status.h (the one
# definition; tests/cli/status.sh checks the two agree). Use as jq "$JQ_STATUS select(rejected)".
#   rejected: gen.error, or a check whose ok is not true; failed: mini.error (not rejected);
#   status: "rejected" | "failed" | "evaluated" (a numeric mini.val_acc) | "pending"
JQ_STATUS='
def rejected: (.gen.error != null) or (has("check") and .check.ok != true);
def failed: (rejected | not) and (.mini.error != null);
def status: if rejected then "rejected" elif failed then "failed"
	elif (.mini.val_acc | type) == "number" then "evaluated" else "pending" end;
'
