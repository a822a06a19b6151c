#!/usr/bin/env python3
# syncforge.py - sync datagrams (user/lib/sync.h) made outside cloudsteer,
# for tests/e2e/instance.sh: what a forger, or a replay, would send. The tag
# is SipHash-2-4-128 written here again from the paper, in another language
# than user/lib/siphash.c, so the two check each other (`selftest` below
# checks this one against the reference vectors).
#
#   syncforge.py selftest
#   syncforge.py tag KEYHEX MSGHEX          the tag of a message
#   syncforge.py derive KEYHEX              the sync key of an affinity key
#   syncforge.py wire CHAIN [INSTANCE]      a chain's VNI, or an instance's wire id
#   syncforge.py send [options]             datagrams from a (spoofed) source
#
# The wire ids (user/lib/ids.h) are written here again too, so the e2e
# tests check the daemon's against a second implementation.
#
# `send` binds to --src with IP_TRANSPARENT, so the source may be another
# host's address (the namespace needs CAP_NET_ADMIN: the tests run as root).
import argparse
import socket
import struct
import sys
import time

M64 = (1 << 64) - 1
IP_TRANSPARENT = 19
MAGIC = b"CSY1"


def _rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & M64


def _rounds(v, n):
    v0, v1, v2, v3 = v
    for _ in range(n):
        v0 = (v0 + v1) & M64; v1 = _rotl(v1, 13); v1 ^= v0; v0 = _rotl(v0, 32)
        v2 = (v2 + v3) & M64; v3 = _rotl(v3, 16); v3 ^= v2
        v0 = (v0 + v3) & M64; v3 = _rotl(v3, 21); v3 ^= v0
        v2 = (v2 + v1) & M64; v1 = _rotl(v1, 17); v1 ^= v2; v2 = _rotl(v2, 32)
    return [v0, v1, v2, v3]


def siphash128(key, msg):
    """SipHash-2-4 with the 128-bit output: 16 octets."""
    k0, k1 = struct.unpack("<QQ", key)
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D ^ 0xEE,
         k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]
    whole = len(msg) - len(msg) % 8
    words = [struct.unpack_from("<Q", msg, i)[0] for i in range(0, whole, 8)]
    words.append(int.from_bytes(msg[whole:], "little") | (len(msg) & 0xFF) << 56)
    for m in words:
        v[3] ^= m
        v = _rounds(v, 2)
        v[0] ^= m
    v[2] ^= 0xEE
    v = _rounds(v, 4)
    out = v[0] ^ v[1] ^ v[2] ^ v[3]
    v[1] ^= 0xDD
    v = _rounds(v, 4)
    return struct.pack("<QQ", out, v[0] ^ v[1] ^ v[2] ^ v[3])


def mix64(x):
    """murmur3's finaliser (cs_mix64, headers/namehash.h)."""
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & M64
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & M64
    return x ^ (x >> 33)


def ids_digest(chain, instance=None):
    """FNV-1a-64 of the chain's name, then 0x00 and the instance's, mixed."""
    data = chain.encode() + (b"\0" + instance.encode() if instance is not None else b"")
    h = 0xCBF29CE484222325
    for c in data:
        h = ((h ^ c) * 0x100000001B3) & M64
    return mix64(h)


def wire_id(chain, instance):
    return ids_digest(chain, instance) % 0xFFFFFFFF + 1


def vni_of(chain):
    return ids_digest(chain) % 0xFFFFFF + 1


def derive(affinity_key):
    return siphash128(affinity_key, b"cloudsteer sync key v1")


def v4mapped(ip):
    return bytes(10) + b"\xff\xff" + socket.inet_aton(ip)


def entry(lo, hi, lo_port, hi_port, proto=6, state=3, flags=0, code=0, seq=1, epoch=1,
          packets=1, nbytes=1, age_ms=0, idle_ms=0):
    return (lo + hi + struct.pack("!HHBBBB", lo_port, hi_port, proto, state, flags, 0) +
            struct.pack("!IIQQQII", code, seq, epoch, packets, nbytes, age_ms, idle_ms))


def datagram(key, chain, sender, receiver, map_version, entries, version=3):
    """Version 3, tagged under key; version 2 (the same shape, but positions
    for ids) and version 1 as older peers sent them."""
    if version == 1:
        return MAGIC + struct.pack("!BBHIIQ", 1, 1, len(entries), chain, sender, map_version) + b"".join(entries)
    body = (MAGIC + struct.pack("!BBHIIIQ", version, 1, len(entries), chain, sender, receiver, map_version) +
            b"".join(entries))
    return body + siphash128(key, body)


def selftest():
    key = bytes(range(16))
    # vectors_sip128 of the reference implementation (github.com/veorq/SipHash,
    # vectors.h): message lengths 0, 1, 2, 15, 63 of 00 01 02 ...
    want = {0: "a3817f04ba25a8e66df67214c7550293", 1: "da87c1d86b99af44347659119b22fc45",
            2: "8177228da4a45dc7fca38bdef60affe4", 15: "5493e99933b0a8117e08ec0f97cfc3d9",
            63: "5150d1772f50834a503e069a973fbd7c"}
    bad = [n for n, t in want.items() if siphash128(key, bytes(range(n))).hex() != t]
    print("selftest:", "ok" if not bad else "FAILED for lengths %s" % bad)
    return 1 if bad else 0


def send(a):
    key = bytes.fromhex(a.key)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
    s.bind((a.src, a.sport))
    hi = v4mapped(a.server)
    chain = a.chain if a.chain is not None else vni_of(a.chain_name)
    sender, receiver = (int(n) if n.isdigit() else wire_id(a.chain_name, n) for n in (a.sender, a.receiver))
    sent = 0
    for i in range(a.count):
        lo = v4mapped("%s.%d.%d" % (a.client_net, i >> 8 & 255, i & 255))
        e = entry(lo, hi, a.client_port, a.server_port, epoch=a.epoch, seq=1)
        dg = datagram(key, chain, sender, receiver, a.map_version, [e], a.version)
        for _ in range(a.repeat):
            s.sendto(dg, (a.dst, a.dport))
            sent += 1
            # a pause every burst: the receiver's socket buffer holds a few
            # hundred datagrams, and the test counts them, not the kernel's drops
            if a.burst and sent % a.burst == 0:
                time.sleep(a.pause_ms / 1000)
    print(sent)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("selftest")
    t = sub.add_parser("tag")
    t.add_argument("key")
    t.add_argument("msg")
    d = sub.add_parser("derive")
    d.add_argument("key")
    w = sub.add_parser("wire")
    w.add_argument("chain")
    w.add_argument("instance", nargs="?")
    s = sub.add_parser("send")
    s.add_argument("--src", required=True, help="source address, anyone's")
    s.add_argument("--sport", type=int, default=4788)
    s.add_argument("--dst", required=True)
    s.add_argument("--dport", type=int, default=4788)
    s.add_argument("--key", required=True, help="32 hex digits: the tag's key")
    s.add_argument("--version", type=int, default=3)
    s.add_argument("--chain-name", default="casb", help="the chain: its VNI, and the instances' wire ids")
    s.add_argument("--chain", type=int, default=None, help="the chain field itself (default: the VNI)")
    s.add_argument("--sender", required=True, help="an instance of the chain, or the field's number")
    s.add_argument("--receiver", required=True, help="an instance of the chain, or the field's number")
    s.add_argument("--map-version", type=int, default=0)
    s.add_argument("--epoch", type=int, default=1 << 40)
    s.add_argument("--count", type=int, default=1, help="datagrams, each a stream of its own")
    s.add_argument("--repeat", type=int, default=1, help="each datagram sent this many times")
    s.add_argument("--client-net", default="10.9", help="the streams' clients: NET.x.y")
    s.add_argument("--client-port", type=int, default=50000)
    s.add_argument("--server", default="192.0.2.7")
    s.add_argument("--server-port", type=int, default=8080)
    s.add_argument("--burst", type=int, default=0, help="pause after this many (0: never)")
    s.add_argument("--pause-ms", type=float, default=2)
    a = p.parse_args()
    if a.cmd == "selftest":
        return selftest()
    if a.cmd == "tag":
        print(siphash128(bytes.fromhex(a.key), bytes.fromhex(a.msg)).hex())
    elif a.cmd == "derive":
        print(derive(bytes.fromhex(a.key)).hex())
    elif a.cmd == "wire":
        print(vni_of(a.chain) if a.instance is None else wire_id(a.chain, a.instance))
    else:
        send(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
