# tests/lib.sh — helpers for the CLI tests (sourced). Each check prints one TAP line.
# Usage: . "$(dirname "$0")/../lib.sh"
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN="$ROOT/bin"
SHARED="${LMNAS_SHARED:-$ROOT/../shared}"
T_FAILED=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lmnas-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ok()   { echo "ok - $*"; }
fail() { echo "not ok - $*"; T_FAILED=$((T_FAILED + 1)); }
# check "description" command...   passes when the command exits 0
check() { d=$1; shift; if "$@" >"$TMP/.out" 2>&1; then ok "$d"; else fail "$d"; sed 's/^/# /' "$TMP/.out" | head -20; fi; }
# check_eq "description" got want
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1"; echo "# got:  $2"; echo "# want: $3"; fi; }
done_testing() { exit $((T_FAILED > 0)); }
