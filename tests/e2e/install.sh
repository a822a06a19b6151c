#!/bin/bash
# e2e-install: make install into a DESTDIR puts exactly the files make
# installed-files lists (binary, man page, units with the binary's path for
# PREFIX, completion when there is one, the example config), the installed
# binary runs and checks the example; make uninstall leaves the DESTDIR empty.
# Also: scripts/version.sh without .git reads VERSION alone. No root needed.
T_SUITE=e2e-install
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/lib/testing.sh"
cd "$REPO" || exit 1
BUILD=${BUILD:-build}
TMP=$(mktemp -d /tmp/cs-install.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
mk() { make --no-print-directory -s BUILD="$BUILD" "$@"; }

for prefix in /usr/local /usr; do
	D=$TMP/dest$(echo "$prefix" | tr / _)
	mkdir -p "$D"
	want=$(mk PREFIX=$prefix installed-files | sort)
	out=$(mk PREFIX=$prefix DESTDIR="$D" install 2>&1) ||
		{ fail "PREFIX=$prefix: make install" "$out"; continue; }
	have=$(cd "$D" && find . ! -type d | sed 's|^\.||' | sort)
	[ -n "$want" ] && [ "$have" = "$want" ] && pass "PREFIX=$prefix: install puts exactly the listed files" ||
		fail "PREFIX=$prefix: install puts exactly the listed files" "$(diff <(echo "$want") <(echo "$have"))"
	for f in /etc/cloudsteer/cloudsteer.yaml.example $prefix/sbin/cloudsteer $prefix/share/man/man8/cloudsteer.8 \
		$prefix/lib/systemd/system/cloudsteer.service; do
		[ -e "$D$f" ] || fail "PREFIX=$prefix: $f installed" "missing"
	done
	[ -f scripts/completion/cloudsteer.bash ] &&
		{ [ -f "$D$prefix/share/bash-completion/completions/cloudsteer" ] && pass "PREFIX=$prefix: completion installed" ||
			fail "PREFIX=$prefix: completion installed" "missing"; }
	bad=$(grep -h '^Exec' "$D$prefix"/lib/systemd/system/*.service | grep -v "=[-!@+]*$prefix/sbin/cloudsteer " |
		grep cloudsteer)
	[ -z "$bad" ] && grep -q "^ExecStart=$prefix/sbin/cloudsteer " "$D$prefix/lib/systemd/system/cloudsteer.service" &&
		pass "PREFIX=$prefix: the units run $prefix/sbin/cloudsteer" ||
		fail "PREFIX=$prefix: the units run $prefix/sbin/cloudsteer" "$bad"
	[ "$(stat -c %a "$D$prefix/sbin/cloudsteer")" = 755 ] && [ "$(stat -c %a "$D$prefix/lib/systemd/system/cloudsteer.service")" = 644 ] &&
		pass "PREFIX=$prefix: modes 0755 binary, 0644 unit" || fail "PREFIX=$prefix: modes" "$(ls -l "$D$prefix/sbin/cloudsteer")"
	out=$("$D$prefix/sbin/cloudsteer" check -c "$D/etc/cloudsteer/cloudsteer.yaml.example" 2>&1) &&
		pass "PREFIX=$prefix: the installed binary checks the example config" ||
		fail "PREFIX=$prefix: the installed binary checks the example config" "$out"
	v=$("$D$prefix/sbin/cloudsteer" --version | cut -d' ' -f2)
	grep -q "cloudsteer $v" "$D$prefix/share/man/man8/cloudsteer.8" && pass "PREFIX=$prefix: the man page carries the version ($v)" ||
		fail "PREFIX=$prefix: the man page carries the version ($v)" "$(grep '^\.TH' "$D$prefix/share/man/man8/cloudsteer.8")"
	out=$(mk PREFIX=$prefix DESTDIR="$D" uninstall 2>&1) || fail "PREFIX=$prefix: make uninstall" "$out"
	left=$(find "$D" ! -type d)
	[ -z "$left" ] && pass "PREFIX=$prefix: uninstall removes every file install put" ||
		fail "PREFIX=$prefix: uninstall removes every file install put" "$left"
done

# a real config beside the example is never touched by install or uninstall
D=$TMP/conf
mkdir -p "$D/etc/cloudsteer" && echo "mine" > "$D/etc/cloudsteer/cloudsteer.yaml"
mk DESTDIR="$D" install >/dev/null 2>&1 && mk DESTDIR="$D" uninstall >/dev/null 2>&1
[ "$(cat "$D/etc/cloudsteer/cloudsteer.yaml" 2>/dev/null)" = mine ] && [ ! -e "$D/etc/cloudsteer/cloudsteer.yaml.example" ] &&
	pass "install and uninstall leave a real config alone" ||
	fail "install and uninstall leave a real config alone" "$(ls -la "$D/etc/cloudsteer")"

# the version: this checkout's, and a tree without .git (a tarball)
v=$(scripts/version.sh)
[ "$("$BUILD/cloudsteer" --version)" = "cloudsteer $v" ] && pass "--version prints scripts/version.sh's ($v)" ||
	fail "--version prints scripts/version.sh's" "$("$BUILD/cloudsteer" --version) vs $v"
if git describe --tags --match 'v[0-9]*' >/dev/null 2>&1; then
	want=$(git describe --tags --match 'v[0-9]*'); want=${want#v}
else
	want="$(cat VERSION)~dev+g$(git rev-parse --short HEAD)"
fi
[ "${v%.dirty}" = "$want" ] && pass "the version is git describe's, or VERSION and the commit" ||
	fail "the version is git describe's, or VERSION and the commit" "$v, not $want"
mkdir -p "$TMP/tar/scripts" && cp scripts/version.sh "$TMP/tar/scripts/" && cp VERSION "$TMP/tar/"
out=$(GIT_CEILING_DIRECTORIES=$TMP "$TMP/tar/scripts/version.sh" 2>&1)
[ "$out" = "$(cat VERSION)" ] && pass "a tree without .git has VERSION's version ($out)" ||
	fail "a tree without .git has VERSION's version" "$out"
t_exit
