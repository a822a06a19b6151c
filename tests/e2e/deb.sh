#!/bin/bash
# e2e-deb: make deb builds a Debian package with Debian's tools (dpkg-deb,
# dpkg-shlibdeps) and it is sound: its control fields (Depends from the
# binary's libraries), its files (prefix /usr, units naming /usr/sbin, the
# example config a conffile), lintian when the host has it; then it is
# installed with dpkg in a clean Debian root, the base image `make image`
# debootstraps (localhost/cloudsteer-base, so no mirror is needed here), where
# `cloudsteer --version` and `cloudsteer check` run, and removed and purged.
T_SUITE=e2e-deb
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/lib/testing.sh"
cd "$REPO" || exit 1
BUILD=${BUILD:-build}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$REPO/scripts/containers.conf}
for t in dpkg-deb dpkg-shlibdeps dpkg-gencontrol; do
	command -v $t >/dev/null || { fail setup "$t missing: install dpkg-dev (make test-deps)"; exit 1; }
done
TMP=$(mktemp -d /tmp/cs-deb.XXXXXX)
CTR=csdeb-$$
trap 'podman rm -f -t 0 "$CTR" >/dev/null 2>&1; rm -rf "$TMP"' EXIT

out=$(make --no-print-directory -s BUILD="$BUILD" deb 2>&1) && deb=$(echo "$out" | tail -1) && [ -f "$deb" ] &&
	pass "make deb builds $(basename "$deb")" || { fail "make deb" "$out"; t_exit; }
v=$("$BUILD/cloudsteer" --version | cut -d' ' -f2)
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = cloudsteer ] && [ "$(field Version)" = "$(echo "$v" | tr - +)" ] &&
	[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] &&
	pass "Package, Version (the binary's, $v) and Architecture" ||
	fail "Package, Version and Architecture" "$(dpkg-deb -I "$deb")"
dep=$(field Depends)
missing=
for p in libbpf1 libxdp1 libyaml-0-2 libpcap0.8 libcurl4 libjson-c5 libc6; do
	[[ ", $dep," == *", $p"[\ ,]* ]] || missing="$missing $p"
done
[ -z "$missing" ] && pass "Depends names the libraries' packages (dpkg-shlibdeps)" ||
	fail "Depends names the libraries' packages" "lacks$missing: $dep"
files=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
missing=
for f in /usr/sbin/cloudsteer /usr/share/man/man8/cloudsteer.8.gz /usr/lib/systemd/system/cloudsteer.service \
	/usr/lib/systemd/system/cloudsteer-instance.service /etc/cloudsteer/cloudsteer.yaml.example \
	/usr/share/doc/cloudsteer/copyright $([ -f scripts/completion/cloudsteer.bash ] &&
		echo /usr/share/bash-completion/completions/cloudsteer); do
	grep -qx -- "$f" <<<"$files" || missing="$missing $f"
done
[ -z "$missing" ] && pass "its files: binary, man page, units, example config under /usr and /etc" ||
	fail "its files" "lacks$missing"
stray=$(grep -v '^/\(usr/\|etc/cloudsteer/\|etc/$\|$\)' <<<"$files")
[ -z "$stray" ] && ! grep -q '^/usr/local' <<<"$files" && pass "nothing outside /usr and /etc/cloudsteer" ||
	fail "nothing outside /usr and /etc/cloudsteer" "$stray"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles > "$TMP/conffiles"
[ "$(cat "$TMP/conffiles")" = /etc/cloudsteer/cloudsteer.yaml.example ] && pass "the example config is a conffile" ||
	fail "the example config is a conffile" "$(cat "$TMP/conffiles")"
dpkg-deb -x "$deb" "$TMP/x"
grep -q '^ExecStart=/usr/sbin/cloudsteer run ' "$TMP/x/usr/lib/systemd/system/cloudsteer.service" &&
	! grep -h '^Exec' "$TMP"/x/usr/lib/systemd/system/* | grep -q /usr/local && pass "the units run /usr/sbin/cloudsteer" ||
	fail "the units run /usr/sbin/cloudsteer" "$(grep -h '^Exec' "$TMP"/x/usr/lib/systemd/system/*)"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst > "$TMP/postinst"
grep -q '\[ -d /run/systemd/system \]' "$TMP/postinst" && grep -q 'systemctl daemon-reload' "$TMP/postinst" &&
	! grep -q 'systemctl \(enable\|start\)' "$TMP/postinst" &&
	pass "postinst reloads systemd only where it runs, enables nothing" || fail "postinst" "$(cat "$TMP/postinst")"
if command -v lintian >/dev/null; then
	out=$(lintian --fail-on error "$deb" 2>&1) && pass "lintian finds no error" || fail "lintian" "$out"
fi

# ---- installed in a clean Debian root ----
. /etc/os-release
BASE=localhost/cloudsteer-base:${VERSION_CODENAME:-bookworm}
if [ "$(id -u)" != 0 ] || ! command -v podman >/dev/null || ! podman image exists "$BASE" 2>/dev/null; then
	skip "installed in a clean Debian root" "needs root, podman and $BASE (make image makes it with debootstrap)"
	t_exit
fi
# the image holds the runtime of the binary it was made for; an older one may lack some
have=" $(podman image inspect --format '{{index .Labels "cloudsteer.base.packages"}}' "$BASE") "
for p in libbpf1 libxdp1 libyaml-0-2 libpcap0.8 libcurl4 libjson-c5; do
	[[ $have == *" $p "* ]] || { skip "installed in a clean Debian root" "$BASE lacks $p: make image makes it again"; t_exit; }
done
cat > "$TMP/in-root.sh" <<'SH'
set -e
dpkg -i /pkg/cloudsteer.deb >/dev/null
echo "status: $(dpkg-query -W -f '${Status}' cloudsteer)"
echo "version: $(cloudsteer --version)"
echo "at: $(command -v cloudsteer)"
cloudsteer check -c /etc/cloudsteer/cloudsteer.yaml.example | sed 's/^/check: /'
echo "owned: $(dpkg -S /usr/lib/systemd/system/cloudsteer.service)"
dpkg -r cloudsteer >/dev/null
echo "removed: binary $([ -e /usr/sbin/cloudsteer ] && echo stays || echo gone), example $([ -e /etc/cloudsteer/cloudsteer.yaml.example ] && echo stays || echo gone)"
dpkg -P cloudsteer >/dev/null
echo "purged: example $([ -e /etc/cloudsteer/cloudsteer.yaml.example ] && echo stays || echo gone)"
SH
cp "$deb" "$TMP/cloudsteer.deb"
out=$(podman run --rm --name "$CTR" --network none -v "$TMP:/pkg:ro" "$BASE" sh /pkg/in-root.sh 2>&1)
ln() { sed -n "s/^$1: //p" <<<"$out"; }
[ "$(ln status)" = "install ok installed" ] && pass "dpkg -i installs it; its Depends are met by Debian's packages" ||
	fail "dpkg -i installs it" "$out"
[ "$(ln version)" = "cloudsteer $v" ] && [ "$(ln at)" = /usr/sbin/cloudsteer ] &&
	pass "cloudsteer --version from the installed package ($v)" || fail "cloudsteer --version installed" "$out"
[[ $(ln check) == "/etc/cloudsteer/cloudsteer.yaml.example: ok: "* ]] &&
	pass "cloudsteer check -c the installed example" || fail "cloudsteer check -c the installed example" "$out"
[ "$(ln removed)" = "binary gone, example stays" ] && [ "$(ln purged)" = "example gone" ] &&
	pass "dpkg -r removes the files, keeps the conffile; dpkg -P removes it" || fail "remove and purge" "$out"
t_exit
