#!/bin/bash
# e2e-units: the systemd units in scripts/systemd/ are valid (systemd-analyze
# verify, with the binary and the man page they name made from this tree),
# and the commands they run are ones cloudsteer accepts. No root needed.
T_SUITE=e2e-units
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/lib/testing.sh"
CS=$REPO/${BUILD:-build}/cloudsteer
command -v systemd-analyze >/dev/null || { skip all "systemd-analyze missing (no systemd)"; exit 0; }
TMP=$(mktemp -d /tmp/cs-units.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# the man page the units' Documentation= names, where man finds it
mkdir -p "$TMP/man/man8"
python3 "$REPO/scripts/gen-man.py" "$REPO/docs/commands.md" > "$TMP/man/man8/cloudsteer.8" 2>/dev/null
printf 'learn:\n  interfaces: [lo]\nrules:\n  - match: [example.test]\n' > "$TMP/cloudsteer.yaml"
for unit in "$REPO"/scripts/systemd/*.service; do
	name=$(basename "$unit")
	# (without man-db, verify cannot look the page up: leave it out)
	sed -e "s|/usr/local/sbin/cloudsteer|$CS|g" -e "s|/etc/cloudsteer/cloudsteer.yaml|$TMP/cloudsteer.yaml|g" \
		-e "$(command -v man >/dev/null || echo '/^Documentation=man:/d')" "$unit" > "$TMP/$name"
	out=$(MANPATH=$TMP/man: SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$TMP/$name" 2>&1)
	[ -z "$out" ] && pass "$name: systemd-analyze verify finds nothing wrong" || fail "$name verifies" "$out"
	pre=$(sed -n 's/^ExecStartPre=//p' "$TMP/$name")
	$pre >/dev/null 2>&1 && pass "$name: its ExecStartPre accepts a good config" ||
		fail "$name: ExecStartPre" "$pre: $($pre 2>&1)"
	cmd=$(sed -n 's/^ExecStart=[^ ]* \([a-z]*\) .*/\1/p' "$TMP/$name")
	"$CS" "$cmd" --help | grep -q -- '-c, --config FILE' && pass "$name: cloudsteer $cmd takes -c" ||
		fail "$name: ExecStart's command" "cloudsteer $cmd --help"
done
t_exit
