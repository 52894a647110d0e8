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
