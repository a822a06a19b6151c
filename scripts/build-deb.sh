#!/bin/bash
# build-deb.sh - the Debian package of cloudsteer; `make deb` runs it after the
# build. No root needed.
#   scripts/build-deb.sh VERSION     -> build/cloudsteer_VERSION_ARCH.deb
#
# Debian's own tools only: `make install` stages the files under /usr with
# DESTDIR (binary, man page, systemd units, bash completion, the example
# config in /etc/cloudsteer, a conffile), dpkg-shlibdeps computes Depends from
# the binary's libraries, dpkg-gencontrol writes DEBIAN/control and dpkg-deb
# builds the package, owned by root. The maintainer scripts only run
# `systemctl daemon-reload` (and, on an upgrade, try-restart of a running
# unit; stop on removal) when systemd is the running init: the package never
# enables or starts a unit, as the config must be written first.
# Environment: BUILD (default build), MAKE (default make).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
MAKE=${MAKE:-make}
VERSION=${1:?usage: build-deb.sh VERSION}
die() { echo "build-deb: $*" >&2; exit 1; }
for t in dpkg-deb dpkg-shlibdeps dpkg-gencontrol; do
	command -v $t >/dev/null || die "$t missing: install dpkg-dev (scripts/install-deps.sh test)"
done
# a Debian version: digits first; "-" would start a Debian revision
DEB_VERSION=$(printf '%s' "$VERSION" | tr -- - +)
case "$DEB_VERSION" in [0-9]*) ;; *) die "version \"$VERSION\" does not start with a digit" ;; esac
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
OUT=$BUILD/cloudsteer_${DEB_VERSION}_$ARCH.deb
WORK=$BUILD/deb
STAGE=$WORK/cloudsteer
rm -rf "$WORK" "$BUILD"/cloudsteer_*.deb	# one package in build/: this one
mkdir -p "$STAGE/DEBIAN" "$WORK/debian"

$MAKE --no-print-directory -s BUILD="$BUILD" PREFIX=/usr DESTDIR="$PWD/$STAGE" install >/dev/null
# as dh_strip does: the debug info stays in build/cloudsteer
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$STAGE/usr/sbin/cloudsteer"
# Debian policy: man pages compressed, a copyright file per package
gzip -9n "$STAGE/usr/share/man/man8/cloudsteer.8"
install -D -m 0644 /dev/stdin "$STAGE/usr/share/doc/cloudsteer/copyright" <<'TXT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: cloudsteer

Files: *
Copyright: the cloudsteer authors
License: GPL-2.0 OR BSD-2-Clause
 On Debian systems the GPL-2 is in /usr/share/common-licenses/GPL-2 and
 the BSD license in /usr/share/common-licenses/BSD.
TXT

# dpkg-gencontrol reads debian/control and debian/changelog: the package's
# description lives here, the version and Depends are filled in below
cat > "$WORK/debian/control" <<'TXT'
Source: cloudsteer
Section: net
Priority: optional
Maintainer: cloudsteer developers <cloudsteer@localhost>
Standards-Version: 4.6.2
Rules-Requires-Root: no

Package: cloudsteer
Architecture: any
Depends: ${shlibs:Depends}, ${misc:Depends}
Recommends: bpftool
Description: steers the traffic of chosen cloud domains with eBPF
 cloudsteer learns the addresses of chosen domains from DNS answers in XDP
 and steers their traffic to chains of service instances with TC programs.
 This package has the binary (cloudsteer run, instance and the CLI), its
 man page, the systemd units cloudsteer.service and
 cloudsteer-instance.service (neither enabled), bash completion and an
 example config in /etc/cloudsteer.
TXT
cat > "$WORK/debian/changelog" <<TXT
cloudsteer ($DEB_VERSION) unstable; urgency=medium

  * Built from $(git rev-parse --short HEAD 2>/dev/null || echo "a source tree") by make deb.

 -- cloudsteer developers <cloudsteer@localhost>  $(date -R)
TXT
# Depends: the packages of the libraries the binary links, as this host has them
(cd "$WORK" && dpkg-shlibdeps -O "cloudsteer/usr/sbin/cloudsteer" && echo "misc:Depends=") > "$WORK/substvars"
(cd "$WORK" && dpkg-gencontrol -pcloudsteer -v"$DEB_VERSION" -Tsubstvars -Pcloudsteer -fdebian/files \
	-DArchitecture="$ARCH")
rm -f "$WORK/debian/files"

# files under /etc are the admin's: dpkg keeps their changes on upgrade
(cd "$STAGE" && find etc -type f | sed 's|^|/|') > "$STAGE/DEBIAN/conffiles"
(cd "$STAGE" && find usr -type f -exec md5sum {} + | sort -k2) > "$STAGE/DEBIAN/md5sums"

maint_script() {
	install -m 0755 /dev/stdin "$STAGE/DEBIAN/$1"
}
maint_script postinst <<'SH'
#!/bin/sh
# the units are new or changed: systemd rereads them; a running daemon of an
# older version is restarted (it adopts the pinned dataplane, nothing is lost)
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	if [ -n "$2" ]; then
		systemctl try-restart cloudsteer.service cloudsteer-instance.service || true
	fi
fi
exit 0
SH
maint_script prerm <<'SH'
#!/bin/sh
# removal stops the daemons; the dataplane stays on its pins until
# `cloudsteer detach` (docs/operations.md)
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
	systemctl stop cloudsteer.service cloudsteer-instance.service || true
fi
exit 0
SH
maint_script postrm <<'SH'
#!/bin/sh
set -e
if [ "$1" = remove ] || [ "$1" = purge ]; then
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload || true
	fi
fi
exit 0
SH

dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$OUT" >/dev/null
echo "$OUT"
