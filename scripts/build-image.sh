#!/bin/bash
# build-image.sh - the cloudsteer container image; `make image` runs it, as root.
#   scripts/build-image.sh [--rebuild-base]
#   scripts/build-image.sh --print-mirror   the mirror step 2 would use, and exit
#
# 1. Installs what is missing (install-deps.sh container: podman, runc,
#    debootstrap).
# 2. Makes the base image once: a minbase debootstrap of this host's Debian
#    release from the mirror apt uses (CLOUDSTEER_MIRROR, else the first deb
#    line of this release in the host's apt sources; no mirror is built in:
#    with neither, it stops and says what to set), with the packages of the libraries
#    build/cloudsteer links and bpftool, without docs, man pages and apt lists,
#    imported as localhost/cloudsteer-base:<codename>. It is reused while it
#    holds every package the binary needs; --rebuild-base makes it again.
# 3. podman build -f Containerfile: localhost/cloudsteer:<version> and :latest.
#    Images these tags named before are removed once nothing names them
#    (other versions stay, to go back to).
#
# No registry is used. Environment: CLOUDSTEER_MIRROR (DEBIAN_MIRROR, its old
# name, too; default: apt's own), CONTAINERS_CONF (default:
# scripts/containers.conf), CLOUDSTEER_APT_SOURCES and
# CLOUDSTEER_APT_SOURCES_D (where apt's sources are read: /etc/apt/sources.list
# and /etc/apt/sources.list.d).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BIN=build/cloudsteer
IMAGE=localhost/cloudsteer
export CONTAINERS_CONF=${CONTAINERS_CONF:-$REPO/scripts/containers.conf}

say() { echo "build-image: $*"; }
die() { echo "build-image: $*" >&2; exit 1; }

rebuild=0
print_mirror=0
for a in "$@"; do
	case "$a" in
	--rebuild-base) rebuild=1 ;;
	--print-mirror) print_mirror=1 ;;
	-h|--help) sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) die "unknown option \"$a\" (--rebuild-base, --print-mirror)" ;;
	esac
done

. /etc/os-release
SUITE=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
BASE=localhost/cloudsteer-base:$SUITE
APT_SOURCES=${CLOUDSTEER_APT_SOURCES:-/etc/apt/sources.list}
APT_SOURCES_D=${CLOUDSTEER_APT_SOURCES_D:-/etc/apt/sources.list.d}

# The Debian packages of the libraries the binary links (its NEEDED entries),
# as this host has them; then bpftool.
runtime_pkgs() {
	local multiarch lib pkg
	multiarch=$(gcc -print-multiarch)
	for lib in $(readelf -d "$BIN" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		pkg=$(dpkg -S "*/$multiarch/$lib" 2>/dev/null | sed -n '1s/:.*//p' || true)
		[ -n "$pkg" ] || die "$lib (linked by $BIN) belongs to no Debian package"
		echo "$pkg"
	done
	echo bpftool
}

# The mirror apt uses for $SUITE: one-line sources.list entries, then deb822
# .sources files; nothing when neither names one.
apt_mirror() {
	local f m
	for f in "$APT_SOURCES" "$APT_SOURCES_D"/*.list; do
		[ -f "$f" ] || continue
		m=$(sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
			awk -v s="$SUITE" '$1 == "deb" && $3 == s { print $2; exit }')
		[ -n "$m" ] && { echo "$m"; return; }
	done
	for f in "$APT_SOURCES_D"/*.sources; do
		[ -f "$f" ] || continue
		m=$(awk -v s="$SUITE" 'BEGIN { RS = ""; FS = "\n" }
		{
			types = ""; uris = ""; suites = ""; enabled = "yes"
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^[ \t]*#/) continue
				split($i, kv, /:[ \t]*/); v = substr($i, length(kv[1]) + 2); sub(/^[ \t]*/, "", v)
				if (kv[1] == "Types") types = " " v " "
				else if (kv[1] == "URIs") uris = v
				else if (kv[1] == "Suites") suites = " " v " "
				else if (kv[1] == "Enabled") enabled = v
			}
			if (types ~ / deb / && suites ~ (" " s " ") && enabled != "no") {
				split(uris, u, /[ \t]+/); print u[1]; exit
			}
		}' "$f")
		[ -n "$m" ] && { echo "$m"; return; }
	done
	return 0
}

# The mirror to debootstrap from: the user's, else apt's. None is built in:
# an air-gapped site must not find the script reaching for an address of ours.
debian_mirror() {
	local m=${CLOUDSTEER_MIRROR:-${DEBIAN_MIRROR:-}}

	[ -n "$m" ] || m=$(apt_mirror)
	[ -n "$m" ] || die "no Debian mirror for $SUITE: neither $APT_SOURCES nor $APT_SOURCES_D/*.list or *.sources" \
		"has a \"deb\" entry for $SUITE, and CLOUDSTEER_MIRROR is not set. Set it to the mirror to" \
		"debootstrap from, e.g. CLOUDSTEER_MIRROR=http://mirror.example.org/debian make image"
	echo "$m"
}

if [ $print_mirror = 1 ]; then
	debian_mirror
	exit 0
fi
[ "$(id -u)" = 0 ] || die "run as root (sudo make image)"
scripts/install-deps.sh container
[ -x "$BIN" ] || die "no $BIN: run make first (make image does)"

WORK=
cleanup() {
	[ -n "$WORK" ] && [ -d "$WORK" ] || return 0
	# debootstrap mounts proc and sys in the target; a failed run can leave them
	awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l
	rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

build_base() {
	local root mirror pkgs t0
	WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/cloudsteer-base.XXXXXX")
	root=$WORK/root
	mirror=$(debian_mirror)
	pkgs=$(echo "$NEED" | tr ' ' ',')
	say "making $BASE: debootstrap --variant=minbase $SUITE from $mirror, with $pkgs"
	t0=$SECONDS
	if ! debootstrap --variant=minbase --include="$pkgs" "$SUITE" "$root" "$mirror" >"$WORK/debootstrap.log" 2>&1; then
		tail -20 "$WORK/debootstrap.log" >&2
		die "debootstrap failed (set CLOUDSTEER_MIRROR to use another mirror)"
	fi
	# docs (copyright files stay), man pages, locales, apt lists and caches,
	# logs, and what debootstrap copied from this host
	find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
	find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
	rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
		"$root"/usr/share/lintian/* "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
		"$root"/var/cache/apt/archives/*.deb "$root"/var/cache/debconf/*-old \
		"$root"/etc/hostname "$root"/etc/resolv.conf
	find "$root/var/log" -type f -delete
	# and so for whatever a derived image installs
	cat > "$root/etc/dpkg/dpkg.cfg.d/excludes" <<-'EOF'
	path-exclude=/usr/share/doc/*
	path-include=/usr/share/doc/*/copyright
	path-exclude=/usr/share/man/*
	path-exclude=/usr/share/info/*
	path-exclude=/usr/share/locale/*
	path-exclude=/usr/share/lintian/*
	EOF
	tar --numeric-owner -C "$root" -cf "$WORK/root.tar" .
	podman import -q \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["/bin/bash"]' \
		--change "LABEL org.opencontainers.image.title=cloudsteer-base" \
		--change "LABEL org.opencontainers.image.description=\"Debian $SUITE minbase (debootstrap) with the runtime of cloudsteer\"" \
		--change "LABEL cloudsteer.base.packages=\"$NEED\"" \
		--change "LABEL cloudsteer.base.mirror=$mirror" \
		--message "debootstrap --variant=minbase $SUITE $mirror" \
		"$WORK/root.tar" "$BASE" >/dev/null
	cleanup
	WORK=
	say "made $BASE in $((SECONDS - t0)) s"
}

NEED=$(runtime_pkgs | sort -u | tr '\n' ' ' | sed 's/ $//')
# what the tags name now; whatever of it ends up with no name is removed
old=$(podman image inspect -f '{{.Id}}' "$IMAGE:latest" "$BASE" 2>/dev/null || true)
if [ $rebuild = 0 ] && podman image exists "$BASE"; then
	have=" $(podman image inspect --format '{{index .Labels "cloudsteer.base.packages"}}' "$BASE") "
	missing=
	for p in $NEED; do
		case "$have" in *" $p "*) ;; *) missing="$missing $p" ;; esac
	done
	if [ -n "$missing" ]; then
		say "$BASE lacks$missing: making it again"
		rebuild=1
	else
		say "reusing $BASE (--rebuild-base to make it again)"
	fi
else
	rebuild=1
fi
if [ $rebuild = 1 ]; then
	build_base
fi

# the version the binary reports, so the tag and the label match it
VERSION=$("$BIN" --version | awk '{ print $2 }')
TAG=$(printf '%s' "$VERSION" | tr -c 'A-Za-z0-9_.-' '-')
say "podman build $IMAGE:$TAG"
# --layers=false: buildah's layer cache would keep LABELs of an earlier build
# (it does not look at --build-arg values); the build is one COPY anyway.
# --format docker: the OCI image format has no HEALTHCHECK
podman build -q --pull=never --layers=false --format docker -f Containerfile \
	--build-arg BASE="$BASE" \
	--build-arg VERSION="$VERSION" \
	--build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
	--build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	-t "$IMAGE:$TAG" -t "$IMAGE:latest" . >/dev/null

for id in $old; do
	if [ "$(podman image inspect -f '{{len .RepoTags}}' "$id" 2>/dev/null)" = 0 ]; then
		podman rmi "$id" >/dev/null 2>&1 || true
	fi
done

# every library resolves in the image: the binary runs there
if ! out=$(podman run --rm --no-healthcheck --network none "$IMAGE:$TAG" --version 2>&1); then
	echo "$out" >&2
	die "$IMAGE:$TAG cannot run cloudsteer (a library missing? --rebuild-base)"
fi
size=$(podman image inspect --format '{{.Size}}' "$IMAGE:$TAG")
say "$IMAGE:$TAG (also :latest): $(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1e6 }') MB; $out"
