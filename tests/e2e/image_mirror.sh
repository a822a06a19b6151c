#!/bin/bash
# e2e-image-mirror: scripts/build-image.sh takes its Debian mirror only from
# CLOUDSTEER_MIRROR or the host's apt sources (one-line sources.list and
# deb822 .sources), and with neither stops with a message that says what to
# set; no mirror is written into the script. Runs its --print-mirror step
# against sources files of the test's own. No root needed.
T_SUITE=e2e-image-mirror
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/lib/testing.sh"
TMP=$(mktemp -d /tmp/cs-mirror.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
. /etc/os-release
SUITE=${VERSION_CODENAME:-}
[ -n "$SUITE" ] || { skip all "no VERSION_CODENAME in /etc/os-release"; exit 0; }
mkdir -p "$TMP/d"
# mirror [VAR=VALUE...]: build-image.sh --print-mirror on $TMP's sources
mirror() {
	env -u DEBIAN_MIRROR -u CLOUDSTEER_MIRROR CLOUDSTEER_APT_SOURCES="$TMP/sources.list" \
		CLOUDSTEER_APT_SOURCES_D="$TMP/d" "$@" "$REPO/scripts/build-image.sh" --print-mirror 2>&1
}

out=$(mirror); rc=$?
[ $rc != 0 ] && [[ $out == *"no Debian mirror for $SUITE"* ]] && [[ $out == *"CLOUDSTEER_MIRROR"* ]] &&
	[[ $out == *"$TMP/sources.list"* ]] && pass "no sources, no variable: it stops and says to set CLOUDSTEER_MIRROR" ||
	fail "no sources, no variable: it stops and says to set CLOUDSTEER_MIRROR" "rc $rc: $out"
out=$(mirror CLOUDSTEER_MIRROR=http://mine.test/debian)
[ "$out" = http://mine.test/debian ] && pass "CLOUDSTEER_MIRROR is used" || fail "CLOUDSTEER_MIRROR is used" "$out"

# deb822: a disabled entry and another suite are passed over
cat > "$TMP/d/debian.sources" <<SRC
Types: deb
URIs: http://off.test/debian
Suites: $SUITE
Components: main
Enabled: no

Types: deb-src deb
URIs: http://deb822.test/debian http://second.test/debian
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
out=$(mirror)
[ "$out" = http://deb822.test/debian ] && pass "a deb822 .sources file's first URI for this suite" ||
	fail "a deb822 .sources file's first URI for this suite" "$out"
printf '# deb http://comment.test/debian %s main\ndeb http://other.test/debian sid main\ndeb [arch=amd64] http://list.test/debian %s main\n' \
	"$SUITE" "$SUITE" > "$TMP/sources.list"
out=$(mirror)
[ "$out" = http://list.test/debian ] && pass "a one-line sources.list entry for this suite, before .sources" ||
	fail "a one-line sources.list entry for this suite, before .sources" "$out"
out=$(mirror CLOUDSTEER_MIRROR=http://mine.test/debian)
[ "$out" = http://mine.test/debian ] && pass "CLOUDSTEER_MIRROR wins over the sources" ||
	fail "CLOUDSTEER_MIRROR wins over the sources" "$out"

# nothing but comments may name a host: no fallback address in the code
hosts=$(grep -v '^[[:space:]]*#' "$REPO/scripts/build-image.sh" | grep -o 'https\?://[^ "]*' | grep -v mirror.example.org)
[ -z "$hosts" ] && pass "build-image.sh names no mirror of its own" ||
	fail "build-image.sh names no mirror of its own" "$hosts"
t_exit
