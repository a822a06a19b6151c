#!/usr/bin/python3
"""synflood.py - a flood of TCP SYNs from forged sources, for the idle test (stdlib only).

  synflood.py --dst IP --dport PORT --count N --src-net A.B.C [--twice-every K]
      send N SYNs to DST:DPORT, each from its own source: addresses
      A.B.C.100 to A.B.C.249 in turn, ports from 20000 on. With
      --twice-every K, every K-th SYN is sent twice, as a client whose
      handshake never completes sends it again (a half-open connection).
      A raw socket: the source address is whatever the flood says.
Prints what it sent, one line.
"""
import argparse
import socket
import struct


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src, dst, sport, dport, seq):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    # the kernel fills in the total length, the id and the header checksum (raw(7))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 0, 0, 64, socket.IPPROTO_TCP, 0, socket.inet_aton(src),
                     socket.inet_aton(dst))
    return ip + tcp


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dst", required=True)
    ap.add_argument("--dport", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--src-net", required=True, help="the first three octets of the sources")
    ap.add_argument("--twice-every", type=int, default=0)
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sent = 0
    for i in range(a.count):
        src = "%s.%d" % (a.src_net, 100 + i % 150)
        frame = syn(src, a.dst, 20000 + i, a.dport, 0x10000 * i + 1)
        times = 2 if a.twice_every and i % a.twice_every == 0 else 1
        for _ in range(times):
            s.sendto(frame, (a.dst, 0))
            sent += 1
    print("sent %d SYNs for %d connections from %s.100-249" % (sent, a.count, a.src_net))


if __name__ == "__main__":
    main()
