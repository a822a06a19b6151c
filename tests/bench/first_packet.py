#!/usr/bin/python3
"""first_packet.py - the tight client and the counting of the first_packet bench
(tests/bench/first_packet.sh). Standard library only.

  first_packet.py client --tries FILE --port PORT --out FILE [--hold S] [--delay-ms MS]
      FILE: one try a line, "WAY RESOLVER NAME". For each in turn: send an A
      query for NAME to RESOLVER:53 over UDP, parse the first A record of the
      answer and connect() to it at once (or MS after), non-blocking (the TCP
      socket is made before the query, so between the answer and the SYN
      there is only the parsing and one system call). Sockets stay open HOLD seconds, so a SYN
      that gets no answer would be retransmitted. Writes a JSON array: way,
      name, ip, sport, gap_us (answer received -> connect() returned).

  first_packet.py order --strace FILE --client-ip IP --server-ip IP
      From `strace -ttt -yy` of dnsmasq: per answer sent to the client, was
      the nf_tables batch that adds to the set sent between the upstream
      answer and the reply, and how long before the reply. Prints JSON.

  first_packet.py report --client FILE --instance PCAP... --origin PCAP
                         --dns-wan PCAP --dns-lan PCAP [--order FILE] --out FILE
      The part's JSON (see tests/bench/run.sh). For every connection of the
      client (destination IP, source port), each SYN it sent is told apart by
      its TCP timestamp value (IP id without one). Its FIRST SYN is the
      lowest: steered when an instance's capture holds it, not steered when
      only the origin's does (whatever happened to a retransmission), unseen
      when no capture does. The way "control" (names nothing steers) must
      come out not steered, or the count is broken and nothing is written.
      The host's captures of DNS (wan, lan) give how long each answer stayed
      in the host: upstream answer in -> answer out to the client.
"""
import argparse
import collections
import json
import random
import re
import resource
import signal
import socket
import statistics
import struct
import sys
import time

from pcapv4 import ipv4_packets


# ---- client ----

def query(dns_id, name):
    q = b""
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return struct.pack("!HHHHHH", dns_id, 0x0100, 1, 0, 0, 0) + q + b"\0" + struct.pack("!HH", 1, 1)


def skip_name(msg, off):
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1
        if n == 0:
            return off
        off += n


def first_a(msg, dns_id):
    """The first A record of the answer section, or None."""
    if len(msg) < 12:
        return None
    rid, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    if rid != dns_id or not flags & 0x8000 or flags & 0xF:
        return None
    off = 12
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    for _ in range(an):
        off = skip_name(msg, off)
        rtype, rclass, _ttl, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        if rtype == 1 and rclass == 1 and rdlen == 4:
            return socket.inet_ntoa(msg[off:off + 4])
        off += rdlen
    return None


def client(a):
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (65536, max(hard, 65536)))
    except (ValueError, OSError):
        pass
    tries = [line.split() for line in open(a.tries) if line.strip()]
    udp, held, out, unanswered = {}, collections.deque(), [], 0
    for way, resolver, name in tries:
        u = udp.get(resolver)
        if u is None:
            u = udp[resolver] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.connect((resolver, 53))
            u.settimeout(2.0)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        dns_id = random.randrange(65536)
        ip = None
        u.send(query(dns_id, name))
        deadline = time.monotonic() + 2.0
        while ip is None and time.monotonic() < deadline:
            try:
                msg = u.recv(4096)
            except socket.timeout:
                break
            ip = first_a(msg, dns_id)
        if ip is None:
            s.close()
            out.append({"way": way, "name": name, "ip": None})
            unanswered += 1
            if unanswered >= 5:
                raise SystemExit("client: %s (%s) and the 4 before it got no A record" % (name, resolver))
            continue
        unanswered = 0
        t_ans = time.perf_counter_ns()
        if a.delay_ms:  # a client that takes its time (the cluster part: 1 ms)
            time.sleep(a.delay_ms / 1000)
        s.connect_ex((ip, a.port))
        t_conn = time.perf_counter_ns()
        out.append({"way": way, "name": name, "ip": ip, "sport": s.getsockname()[1],
                    "gap_us": round((t_conn - t_ans) / 1000, 1)})
        now = time.monotonic()
        held.append((now, s))
        while held and now - held[0][0] > a.hold:
            held.popleft()[1].close()
    time.sleep(a.hold)
    for _, s in held:
        s.close()
    with open(a.out, "w") as f:
        json.dump(out, f)
    print("client: %d tries, %d answered" % (len(out), sum(1 for o in out if o["ip"])))


# ---- reading captures (pcapv4.py) ----

def read_syns(path):
    """Every TCP SYN (without ACK): (dst ip, sport) -> [(time, tsval or None, ip id)]."""
    syns = collections.defaultdict(list)
    for t, ip, tcp in ipv4_packets(path):
        if ip[9] != 6 or len(tcp) < 20 or not tcp[13] & 0x02 or tcp[13] & 0x10:
            continue
        opts, i, tsval = tcp[20:(tcp[12] >> 4) * 4], 0, None
        while i < len(opts) and opts[i] != 0:
            if opts[i] == 1:
                i += 1
                continue
            if i + 1 >= len(opts) or opts[i + 1] < 2:
                break
            if opts[i] == 8 and opts[i + 1] == 10 and i + 10 <= len(opts):
                tsval = struct.unpack("!I", opts[i + 2:i + 6])[0]
            i += opts[i + 1]
        key = (socket.inet_ntoa(ip[16:20]), struct.unpack("!H", tcp[0:2])[0])
        syns[key].append((t, tsval, struct.unpack("!H", ip[4:6])[0]))
    return syns


def read_answers(path, src=None, dst=None):
    """The first DNS answer per question name, from src and to dst when
    given: name -> time."""
    first = {}
    for t, ip, udp in ipv4_packets(path):
        if ip[9] != 17 or len(udp) < 8 + 12 or udp[0:2] != b"\x00\x35":
            continue
        if (src and socket.inet_ntoa(ip[12:16]) != src) or (dst and socket.inet_ntoa(ip[16:20]) != dst):
            continue
        msg = udp[8:]
        if not msg[2] & 0x80:
            continue
        labels, off = [], 12
        while off < len(msg) and 0 < msg[off] < 64:
            labels.append(msg[off + 1:off + 1 + msg[off]].decode("ascii", "replace").lower())
            off += 1 + msg[off]
        first.setdefault(".".join(labels), t)
    return first


# ---- counting ----

def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else None


def count(tries, inst, origin):
    ways = collections.OrderedDict()
    for t in tries:
        w = ways.setdefault(t["way"], {"tries": 0, "answered": 0, "steered": 0, "not_steered": 0,
                                       "unseen": 0, "retransmitted": 0, "_seq": [], "_gaps": []})
        w["tries"] += 1
        if not t["ip"]:
            continue
        w["answered"] += 1
        w["_gaps"].append(t["gap_us"])
        key = (t["ip"], t["sport"])

        def ident(s):
            return ("ts", s[1]) if s[1] is not None else ("id", s[2])
        at_inst = {ident(s): s for s in inst.get(key, [])}
        at_origin = {ident(s): s for s in origin.get(key, [])}
        sent = set(at_inst) | set(at_origin)
        if len(sent) > 1:
            w["retransmitted"] += 1
        if not sent:
            w["unseen"] += 1
            w["_seq"].append(None)
            continue
        if all(k[0] == "ts" for k in sent):
            first = min(sent, key=lambda k: k[1])
        else:   # no timestamps: the earliest any capture saw
            first = min(sent, key=lambda k: min(s[0] for s in (at_inst.get(k), at_origin.get(k)) if s))
        ok = first in at_inst
        w["steered" if ok else "not_steered"] += 1
        w["_seq"].append(ok)
    for w in ways.values():
        # the share in each fifth of the run, in order: did it hold all along
        seq, gaps = w.pop("_seq"), w.pop("_gaps")
        w["share_by_fifth"] = []
        for r in range(5):
            part = [x for x in seq[len(seq) * r // 5:len(seq) * (r + 1) // 5] if x is not None]
            w["share_by_fifth"].append(round(sum(part) / len(part), 4) if part else None)
        w["gap_us_median"] = round(statistics.median(gaps), 1) if gaps else None
        w["gap_us_p99"] = pct(gaps, 99)
        seen = w["steered"] + w["not_steered"]
        w["share"] = round(w["steered"] / seen, 4) if seen else None
    return ways


def count_first_syns(tries, instance_pcaps, origin_pcap):
    """count() over the SYNs of the instances' captures and the origin's."""
    inst = collections.defaultdict(list)
    for p in instance_pcaps:
        for k, v in read_syns(p).items():
            inst[k] += v
    return count(tries, inst, read_syns(origin_pcap))


def holds(tries, wan, lan):
    """Per way: how long the host held each answer, upstream answer in on wan
    -> answer out to the client on lan (us): median, p99, max."""
    t_in, t_out = read_answers(wan, src="10.20.0.2"), read_answers(lan, dst="10.10.0.2")
    per = collections.defaultdict(list)
    for t in tries:
        if t["ip"] and t["name"] in t_in and t["name"] in t_out:
            per[t["way"]].append((t_out[t["name"]] - t_in[t["name"]]) * 1e6)
    return {way: {"answers": len(v), "median": round(statistics.median(v), 1),
                  "p99": round(pct(v, 99), 1), "max": round(max(v), 1)} for way, v in per.items()}


# ---- dnsmasq's order: set add, then reply? ----

LINE = re.compile(r"^(?:\[pid\s+\d+\]\s+|\d+\s+)?(\d+\.\d+)\s+(\w+)\((\d+)<([^>]*)>(.*)$")


def order(strace_file, client_ip, server_ip):
    """Per answer dnsmasq sends the client: did the nf_tables batch that adds
    to the set (NFT_MSG_NEWSETELEM, 0xa0c) go to the kernel between the
    upstream answer and the reply, and how long before the reply. A netlink
    message to the kernel is processed within the sendmsg() call, so the
    element is in the set when sendmsg() returns."""
    replies, before, leads, nl_calls = 0, 0, [], []
    state = None        # after an upstream answer: [batch time or None, netlink sends]
    for line in open(strace_file):
        m = LINE.match(line)
        if not m:
            continue
        t, call, what, rest = float(m.group(1)), m.group(2), m.group(4), m.group(5)
        failed = re.search(r"= -1 ", rest) is not None
        if "NETLINK" in what:
            if state is not None and call in ("sendto", "sendmsg") and not failed:
                state[1] += 1
                if "0xa0c" in rest:
                    state[0] = t
        elif call in ("recvfrom", "recvmsg") and not failed and 'inet_addr("%s")' % server_ip in rest:
            state = [None, 0]
        elif call in ("sendto", "sendmsg") and 'inet_addr("%s")' % client_ip in rest and state is not None:
            replies += 1
            if state[0] is not None:
                before += 1
                leads.append((t - state[0]) * 1e6)
            nl_calls.append(state[1])
            state = None
    return {"answers": replies, "set_add_before_reply": before,
            "batch_to_reply_us_median": round(statistics.median(leads), 1) if leads else None,
            "netlink_sends_per_answer": statistics.median(nl_calls) if nl_calls else None}


# ---- the part's JSON ----

def report(a):
    tries = json.load(open(a.client))
    c = count_first_syns(tries, a.instance, a.origin)
    hold = holds(tries, a.dns_wan, a.dns_lan)
    o = json.load(open(a.order)) if a.order else None
    cs, nf, ctl = c.get("cloudsteer"), c.get("dnsmasq"), c.get("control")
    if not cs or not nf or cs["share"] is None or nf["share"] is None:
        raise SystemExit("no connection was seen on the wire: %s" % json.dumps(c))
    if not ctl or ctl["steered"] or not ctl["not_steered"]:
        raise SystemExit("the control (names nothing steers) did not come out unsteered, "
                         "so the count cannot be trusted: %s" % json.dumps(ctl))
    control = {k: ctl[k] for k in ("tries", "steered", "not_steered", "unseen")}
    client_m = ("The client (tests/bench/first_packet.py) is one process: it sends the A query "
                "over UDP, parses the answer and connect()s at once, non-blocking, on a TCP socket "
                "made before the query (median %.0f us from the answer to connect() returning), "
                "alternating the two ways name by name; every name is new, with an address of its "
                "own, so each try is a first learning. ")
    count_m = ("tcpdump on the instances and on the origin; a connection's first SYN (lowest TCP "
               "timestamp value, per destination and source port) counts as steered when an "
               "instance saw it, not steered when only the origin did, whatever a retransmission "
               "did. Control names that nothing steers, interleaved, must all count not steered.")
    keep = ("tries", "answered", "steered", "not_steered", "unseen", "retransmitted", "share_by_fifth",
            "gap_us_median", "gap_us_p99")
    nf_row = {
        "case": "first_syn_dnsmasq_nftset", "part": "first_packet",
        "label": "dnsmasq --nftset forwarder", "unit": "share", "share": nf["share"],
        "better": "higher",
        "method": ("The classic recipe, no cloudsteer rule for these names: the client asks "
                   "dnsmasq 2.90 on the host (forwarding to the origin's resolver) with "
                   "--nftset=/ZONE/4#inet#TABLE#SET; nft marks lan packets to @SET in prerouting, "
                   "ip rule fwmark -> table 100, default via instance a. " +
                   client_m % nf["gap_us_median"] + count_m +
                   " answer_hold_us: upstream answer in on wan -> reply out on lan, tcpdump on the "
                   "host. dnsmasq_order: strace of dnsmasq over a few more names: was the nf_tables "
                   "batch adding the element (processed within its sendmsg) sent between the "
                   "upstream answer and the reply, and how long before the reply (slowed by "
                   "strace)."),
        "answer_hold_us": hold.get("dnsmasq"), "control": control,
    }
    nf_row.update({k: nf[k] for k in keep})
    if o:
        nf_row["dnsmasq_order"] = o
    cs_row = {
        "case": "first_syn_cloudsteer", "part": "first_packet",
        "label": "cloudsteer (learn in XDP)", "unit": "share", "share": cs["share"],
        "better": "higher", "baseline": "first_syn_dnsmasq_nftset",
        "ratio": round(cs["share"] / nf["share"], 4) if nf["share"] else None,
        "method": ("cloudsteer run on the host as in tests/e2e/first_syn.sh: learn (XDP) on the "
                   "uplink, steer (TC) on lan, route mode to instances a and b; the client asks "
                   "the origin's resolver across the host. " + client_m % cs["gap_us_median"] +
                   count_m + " answer_hold_us: upstream answer in on wan -> out on lan, "
                   "tcpdump on the host (learn runs in XDP before either)."),
        "answer_hold_us": hold.get("cloudsteer"), "control": control,
    }
    cs_row.update({k: cs[k] for k in keep})
    if a.quick:
        for r in (cs_row, nf_row):
            r["quick"] = True
    with open(a.out, "w") as f:
        json.dump([cs_row, nf_row], f, indent=1)
        f.write("\n")
    for r in (cs_row, nf_row):
        h = r["answer_hold_us"] or {}
        print("first_packet: %-26s share %.4f (%d of %d first SYNs steered, %d unseen); "
              "answer held %s us (median)" %
              (r["case"], r["share"], r["steered"], r["steered"] + r["not_steered"], r["unseen"],
               h.get("median")))
    print("first_packet: control: %d of %d steered" % (ctl["steered"], ctl["steered"] + ctl["not_steered"]))


def main():
    signal.signal(signal.SIGINT, signal.SIG_DFL)   # a ^C ends it quietly, as it does the shell
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("client")
    c.add_argument("--tries", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--hold", type=float, default=1.2)
    c.add_argument("--delay-ms", type=float, default=0)
    o = sub.add_parser("order")
    o.add_argument("--strace", required=True)
    o.add_argument("--client-ip", required=True)
    o.add_argument("--server-ip", required=True)
    r = sub.add_parser("report")
    r.add_argument("--client", required=True)
    r.add_argument("--instance", action="append", required=True)
    r.add_argument("--origin", required=True)
    r.add_argument("--dns-wan", required=True)
    r.add_argument("--dns-lan", required=True)
    r.add_argument("--order")
    r.add_argument("--quick", action="store_true")
    r.add_argument("--out", required=True)
    a = p.parse_args()
    if a.cmd == "client":
        client(a)
    elif a.cmd == "order":
        json.dump(order(a.strace, a.client_ip, a.server_ip), sys.stdout)
        print()
    else:
        report(a)


if __name__ == "__main__":
    main()
