#!/bin/sh
# pipelines/search.sh fanned out over SSH for real: an sshd of its own on 127.0.0.1 (a free high
# port, a throwaway host key and authorized key in the test's folder), SSHLOGIN with this machine
# and that host as a whole ssh command ("1/ssh -p PORT -i KEY ... user@127.0.0.1"), a relative
# DATA path, and the real mini-train: every record carries the host that trained it. Skipped when
# sshd cannot run here (not root, no openssh-server); under CI=true that is a failure instead.
. "$(dirname "$0")/../lib.sh"
S="$ROOT/pipelines/search.sh"
SSHD=/usr/sbin/sshd
FM=/usr/share/datasets/fashion-mnist

cannot() { # lib.sh's skip: a failure under CI, which runs make deps as root
	skip "sshd fan-out: $1"
	done_testing
}
[ "$(id -u)" -eq 0 ] || cannot "not root (sshd needs /run/sshd and its privilege separation)"
[ -x "$SSHD" ] || cannot "$SSHD is missing (make deps installs openssh-server)"
command -v ssh-keygen >/dev/null || cannot "ssh-keygen is missing"
[ -r "$FM/train-images-idx3-ubyte.gz" ] || cannot "Fashion-MNIST is missing ($FM)"

D="$TMP/ssh"
mkdir -p "$D" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$D/host_key" || cannot "ssh-keygen failed"
ssh-keygen -q -t ed25519 -N '' -f "$D/user_key" || cannot "ssh-keygen failed"
cp "$D/user_key.pub" "$D/authorized_keys"
# sshd on the first free port of a few tried: it says "Server listening" once bound.
start_sshd() { # port
	cat >"$D/sshd_config" <<EOF
Port $1
ListenAddress 127.0.0.1
HostKey $D/host_key
AuthorizedKeysFile $D/authorized_keys
PidFile $D/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
EOF
	: >"$D/sshd.log"
	"$SSHD" -D -f "$D/sshd_config" -E "$D/sshd.log" &
	sshd_pid=$!
	i=0
	while [ $i -lt 50 ]; do
		grep -q 'Server listening' "$D/sshd.log" && return 0
		kill -0 "$sshd_pid" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	kill "$sshd_pid" 2>/dev/null
	wait "$sshd_pid" 2>/dev/null
	return 1
}
port=
for try in 1 2 3 4 5; do
	p=$((20000 + ($$ * 7 + try * 3571) % 40000))
	if start_sshd "$p"; then
		port=$p
		break
	fi
done
[ -n "$port" ] || cannot "sshd would not start: $(tail -3 "$D/sshd.log" | tr '\n' ' ')"
trap 'kill "$sshd_pid" 2>/dev/null; wait "$sshd_pid" 2>/dev/null; rm -rf "$TMP"' EXIT
user=$(id -un)
SSH="ssh -p $port -i $D/user_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR $user@127.0.0.1"
# shellcheck disable=SC2086
check_eq "the test's sshd answers on 127.0.0.1:$port" "$($SSH echo reached </dev/null 2>&1)" reached

# A relative DATA path, from a folder the remote side does not start in.
mkdir -p "$TMP/work"
ln -s "$FM" "$TMP/work/fm"
cd "$TMP/work" || exit 2
"$S" RUN=run ITER=1 CANDIDATES=3 STRATEGY=random SEED=2 MACS_MAX=2M PLOT=0 DATA=fm \
	SSHLOGIN="1/:,1/$SSH" \
	MINI_ARGS="--epochs 1 --train-limit 200 --val-split 0.005 --test-limit 100 --threads 1 --no-autoaugment --quiet --lr 0.1" \
	>/dev/null 2>"$TMP/e1"
rc=$?
check_eq "SSHLOGIN with a whole ssh command and a relative DATA: exit 0" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/# /' "$TMP/e1" | tail -20
check_eq "every candidate trained, none failed" \
	"$(jq -s 'length == 3 and all(.mini.val_acc >= 0 and (.mini.error | not))' run/evaluated.jsonl)" true
check "every record names the host that trained it" \
	jq -e -s 'length == 3 and all(.mini.host | type == "string" and length > 0)' run/evaluated.jsonl
check "some were trained over ssh on 127.0.0.1, the others here" \
	jq -e -s --arg here "$(hostname)" 'map(.mini.host) | (index("127.0.0.1") != null) and (index($here) != null)' run/evaluated.jsonl
check "sshd saw the logins" grep -q 'Accepted publickey' "$D/sshd.log"
done_testing
