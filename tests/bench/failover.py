#!/usr/bin/python3
"""failover.py - the stream and the timing of the failover bench
(tests/bench/failover.sh). Standard library only.

  failover.py send --dst IP --dport PORT --sport PORT [--interval S]
      a UDP stream from SPORT: one datagram every INTERVAL (default 1 ms),
      its sequence number as payload, until killed.

  failover.py report --reps FILE --pcap NAME=PCAP... --health JSON
                     --redone N --cmd-max-ms MS --out FILE [--quick]
      FILE: one JSON object a line per repetition: kind ("probe" or
      "link_down"), rep, victim and secondary (instance names, as the
      captures are named), sport, t0 (epoch seconds, taken just before the
      failure was made), cmd_ms (how long ip took to make it).
      The failover time of a repetition is the first datagram of its stream
      in the secondary's capture after t0, minus t0; the captures' stamps and
      t0 read the same clock. Writes the part's JSON (see tests/bench/run.sh).
"""
import argparse
import collections
import json
import signal
import socket
import statistics
import struct
import time

from pcapv4 import ipv4_packets


def send(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", a.sport))
    i, nxt = 0, time.monotonic()
    while True:
        s.sendto(b"%d" % i, (a.dst, a.dport))
        i += 1
        nxt += a.interval
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)
        else:
            nxt = time.monotonic()


def udp_times(path):
    """sport -> sorted stamps of the UDP datagrams in a tcpdump capture
    (pcap, Ethernet, IPv4)."""
    out = collections.defaultdict(list)
    for t, ip, l4 in ipv4_packets(path):
        if ip[9] == 17 and len(ip) + len(l4) >= 28:
            out[struct.unpack("!H", l4[:2])[0]].append(t)
    for v in out.values():
        v.sort()
    return out


def summary(samples):
    v = sorted(samples)
    return {"ms": round(statistics.median(v), 1), "min": v[0], "max": v[-1], "samples": samples}


def report(a):
    reps = [json.loads(line) for line in open(a.reps) if line.strip()]
    caps = {}
    for spec in a.pcap:
        name, path = spec.split("=", 1)
        caps[name] = udp_times(path)
    health = json.loads(a.health)
    budget = health["interval_ms"] * health["fall"] + health["interval_ms"]
    per = collections.defaultdict(list)
    problems = []
    for r in reps:
        sec = caps[r["secondary"]].get(r["sport"], [])
        vic = caps[r["victim"]].get(r["sport"], [])
        before_sec = [t for t in sec if t <= r["t0"]]
        after = [t for t in sec if t > r["t0"]]
        on_victim = [t for t in vic if t <= r["t0"]]
        what = "%s rep %d (%s dies)" % (r["kind"], r["rep"], r["victim"])
        if not on_victim or before_sec:
            problems.append("%s: the stream was not on %s alone before the failure" % (what, r["victim"]))
            continue
        if not after:
            problems.append("%s: no datagram reached %s" % (what, r["secondary"]))
            continue
        ms = round((after[0] - r["t0"]) * 1000, 1)
        # and on the wire alone: the last datagram the victim got -> the first on the secondary
        last_vic = max(t for t in vic if t <= after[0])
        per[r["kind"]].append((ms, round((after[0] - last_vic) * 1000, 1), r["cmd_ms"]))
        print("failover: %-9s rep %d: %s died, the stream reached %s %.1f ms later (ip: %.2f ms)" %
              (r["kind"], r["rep"], r["victim"], r["secondary"], ms, r["cmd_ms"]))
    if problems:
        raise SystemExit("failover: " + "; ".join(problems))
    cfg = "tcp probe port %d, interval %d ms, timeout %d ms, fall %d, rise %d" % (
        health["port"], health["interval_ms"], health["timeout_ms"], health["fall"], health["rise"])
    common = ("Lab tests/e2e/mesh.bash: cli -- host (cloudsteer run, route mode, chain of instances "
              "a and b) -- inet. The client sends a UDP stream through the host, one datagram every "
              "0.5 ms from a source port whose bucket has the victim as primary; tcpdump in "
              "a and b stamps every datagram; the time is the first datagram of the stream on the "
              "secondary minus the moment the script broke the victim (bash $EPOCHREALTIME, the "
              "same clock). Repetitions alternate the kind of failure and which instance dies; "
              "before each the victim is back up and warmed up, and the stream is new. The failure "
              "is written to an ip -batch already running in the namespace; cmd_ms: how long ip "
              "took to make it; a repetition where it took more than %g ms (the rtnl lock busy "
              "with other work on the machine, so t0 is not the moment of failure) is run again, "
              "at most a few times a part (redone; one kept anyway counts as contended). " % a.cmd_max_ms)
    rows = []
    if "probe" in per:
        s = summary([x[0] for x in per["probe"]])
        row = {"case": "failover_probe", "part": "failover",
               "label": "instance dies, found by probe", "unit": "ms", "better": "lower"}
        row.update(s)
        row.update({
            "target": "median <= %d ms, the probe budget (interval x fall + interval)" % budget,
            "meets": s["ms"] <= budget, "probe_budget_ms": budget, "health": health,
            "wire_gap_ms": [x[1] for x in per["probe"]], "cmd_ms": [x[2] for x in per["probe"]],
            "redone": a.redone, "contended": sum(x[2] > a.cmd_max_ms for x in per["probe"]),
            "method": common + ("Failure: the victim stops answering and forwarding (ip rule "
                                "priority 1 blackhole in its namespace); health: %s. "
                                "wire_gap_ms: last datagram the victim got -> first on the "
                                "secondary." % cfg)})
        rows.append(row)
    if "link_down" in per:
        s = summary([x[0] for x in per["link_down"]])
        row = {"case": "failover_link_down", "part": "failover",
               "label": "link to the instance goes down", "unit": "ms", "better": "lower"}
        row.update(s)
        row.update({
            "probe_budget_ms": budget, "health": health,
            "wire_gap_ms": [x[1] for x in per["link_down"]],
            "cmd_ms": [x[2] for x in per["link_down"]], "redone": a.redone,
            "contended": sum(x[2] > a.cmd_max_ms for x in per["link_down"]),
            "method": common + ("Failure: the host's link to the victim is set down (ip link set "
                                "down); the daemon follows links over netlink, no probe needed "
                                "(the same health config runs: %s)." % cfg)})
        rows.append(row)
    for row in rows:
        if a.quick:
            row["quick"] = True
    with open(a.out, "w") as f:
        json.dump(rows, f, indent=1)
        f.write("\n")
    for row in rows:
        print("failover: %-18s median %.1f ms (min %.1f, max %.1f, %d samples)%s" %
              (row["case"], row["ms"], row["min"], row["max"], len(row["samples"]),
               "; target %s: %s" % (row["target"], "met" if row["meets"] else "NOT met")
               if "target" in row else ""))


def main():
    signal.signal(signal.SIGINT, signal.SIG_DFL)   # a ^C ends it quietly, as it does the shell
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--dst", required=True)
    s.add_argument("--dport", type=int, required=True)
    s.add_argument("--sport", type=int, required=True)
    s.add_argument("--interval", type=float, default=0.001)
    r = sub.add_parser("report")
    r.add_argument("--reps", required=True)
    r.add_argument("--pcap", action="append", required=True)
    r.add_argument("--health", required=True)
    r.add_argument("--redone", type=int, default=0)
    r.add_argument("--cmd-max-ms", type=float, required=True)
    r.add_argument("--quick", action="store_true")
    r.add_argument("--out", required=True)
    a = p.parse_args()
    if a.cmd == "send":
        send(a)
    else:
        report(a)


if __name__ == "__main__":
    main()
