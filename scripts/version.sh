#!/bin/sh
# version.sh - the version cloudsteer reports (--version, the man page, the
# package, the image tag). Prints one line.
#   scripts/version.sh
#
# A release is a tag vX.Y.Z (docs/development.md, "Releases"):
#   at the tag                   X.Y.Z
#   commits after it             X.Y.Z-N-gHASH        (git describe, less the v)
# no release tag yet: the next release, from the file VERSION, and the commit
#   a checkout                   X.Y.Z~dev+gHASH      (sorts before X.Y.Z: dpkg, semver)
# no .git (a tarball): the file VERSION alone
#   a source tree                X.Y.Z
# ".dirty" follows when the work tree has uncommitted changes.
set -eu
cd "$(dirname "$0")/.."
base=$(sed -n '1{s/[[:space:]]//g;p}' VERSION 2>/dev/null || true)
[ -n "$base" ] || base=0.0.0
if ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo "$base"
	exit 0
fi
dirty=
git diff-index --quiet HEAD -- 2>/dev/null || dirty=.dirty
if tag=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
	echo "${tag#v}$dirty"
else
	echo "$base~dev+g$(git rev-parse --short HEAD)$dirty"
fi
