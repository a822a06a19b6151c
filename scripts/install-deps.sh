#!/bin/sh
# Install what cloudsteer needs to build and test on Debian 12, and only what
# is missing. Safe to run again; run as root.
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh test     plus the real peers the tests use
#   scripts/install-deps.sh demo     plus what the built-in lab runs (make demo)
#   scripts/install-deps.sh demo-cluster  plus etcd, for the cluster's lab (make demo-cluster)
#   scripts/install-deps.sh container  plus podman and debootstrap (make image)
set -eu

BUILD="make clang llvm gcc pkg-config libbpf-dev libxdp-dev bpftool libyaml-dev libpcap-dev libcurl4-openssl-dev libjson-c-dev python3"
TEST="iproute2 libcap2-bin ethtool socat tshark tcpdump dnsutils knot-dnsutils knot unbound bind9 dnsmasq-base python3 python3-prometheus-client jq curl qemu-system-x86 busybox-static cpio libelf-dev zlib1g-dev groff-base libclang-rt-14-dev dnsperf nftables gnuplot-nox etcd-server etcd-client openssl valgrind prometheus python3-yaml dpkg-dev yamllint"
DEMO="iproute2 socat tcpdump dnsutils dnsmasq-base python3 curl"
# the cluster's lab runs three etcd members of its own (etcdctl shows them);
# setsid, setpriv, nsenter and mountpoint are util-linux's, always there
DEMO_CLUSTER="$DEMO etcd-server etcd-client"
CONTAINER="podman runc debootstrap"

want=$BUILD
case "${1:-}" in
test) want="$want $TEST" ;;
demo) want="$want $DEMO" ;;
demo-cluster) want="$want $DEMO_CLUSTER" ;;
container) want="$want $CONTAINER" ;;
esac

missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing; run as root (sudo make ...)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# tshark asks whether non-root users may capture: the default answer (no) is fine.
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian starts the DNS servers it installs (and prometheus, for promtool
# alone); the tests run their own.
for svc in knot unbound named bind9 dnsmasq prometheus; do
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q "$svc" 2>/dev/null; then
		systemctl stop "$svc" || true
	fi
done
