# tests/lib.sh — helpers for the CLI tests (sourced). Each check prints one TAP line; done_testing
# prints the plan, so tests/run.sh notices a test that stopped early.
# Usage: . "$(dirname "$0")/../lib.sh"
#   ok / fail "what"            a point that passed / failed
#   skip "why"                  a point that could not run: "ok N - # SKIP why" on a developer's
#                               machine, "not ok" under CI (CI=true), which must have every input
#   check "what" cmd...         passes when the command exits 0
#   check_eq "what" got want
#   done_testing                the plan line and the exit status (call it last, in the top shell)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN="$ROOT/bin"
SHARED="${LMNAS_SHARED:-$ROOT/../shared}"
# idle OpenMP threads sleep (libgomp reads this before main; see net_set_threads in net.h)
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
T_FAILED=0
T_POINTS=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lmnas-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ok()   { T_POINTS=$((T_POINTS + 1)); echo "ok $T_POINTS - $*"; }
fail() { T_POINTS=$((T_POINTS + 1)); echo "not ok $T_POINTS - $*"; T_FAILED=$((T_FAILED + 1)); }
skip() {
	case "${CI:-}" in
	"" | false | 0) ok "# SKIP $*" ;;
	*) fail "inputs missing under CI: $*" ;;
	esac
}
# check "description" command...   passes when the command exits 0
check() { d=$1; shift; if "$@" >"$TMP/.out" 2>&1; then ok "$d"; else fail "$d"; sed 's/^/# /' "$TMP/.out" | head -20; fi; }
# check_eq "description" got want
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1"; echo "# got:  $2"; echo "# want: $3"; fi; }
# term_when_written FILE IN OUT COMMAND...   runs COMMAND in the background (stdin IN, stdout OUT,
# stderr discarded), sends it SIGTERM once FILE exists and is not empty (a trainer's first
# PATH.state: at most 60 s), and returns its exit status
term_when_written() {
	_f=$1 _in=$2 _out=$3
	shift 3
	"$@" <"$_in" >"$_out" 2>/dev/null &
	_pid=$!
	_i=0
	while [ ! -s "$_f" ] && [ $_i -lt 600 ]; do sleep 0.1; _i=$((_i + 1)); done
	kill -TERM $_pid
	wait $_pid
}
done_testing() { echo "1..$T_POINTS"; exit $((T_FAILED > 0)); }
