#!/usr/bin/python3
"""cluster.py - the counting of the cluster bench part (tests/bench/cluster.sh).
Standard library only; first_packet.py's client and SYN counting are reused.

  cluster.py lag --records GW1.json --routes GW2.json --net A.B.C --out FILE
      From bpftool dumps of gw1's cs_records and gw2's cs_routes (one clock:
      both gateways run on this host): for every address under A.B.C.0/18
      (A.B.C the first /24), gw2's route creation minus gw1's record's first
      answer, in ms. Writes the samples and their percentiles.

  cluster.py report --lag FILE --client FILE --instance PCAP... --origin PCAP
                    --writes FILE --map FILE [--quick] --out FILE
      The part's JSON (tests/bench/run.sh has the contract); --map is
      map_agree.py's.
"""
import argparse
import json

from first_packet import count_first_syns, pct


def addr_text(b):
    return ".".join(str(x) for x in b[12:16])


def lag(a):
    first = {}
    for e in json.load(open(a.records)):
        f = e["formatted"]
        first[addr_text(f["key"]["addr"]["b"])] = f["value"]["first_ns"]
    net = a.net.split(".")
    lo, hi = int(net[2]), int(net[2]) + 64
    samples, missing = [], 0
    for e in json.load(open(a.routes)):
        f = e["formatted"]
        b = f["key"]["b"]
        if b[10] != 255 or [str(x) for x in b[12:14]] != net[:2] or not lo <= b[14] < hi:
            continue
        ip = addr_text(b)
        if ip not in first:
            missing += 1
            continue
        samples.append((f["value"]["created_ns"] - first[ip]) / 1e6)
    if not samples:
        raise SystemExit("lag: no address under %s has both a record on gw1 and a route on gw2" % a.net)
    out = {"n": len(samples), "missing_on_gw1": missing, "p50_ms": round(pct(samples, 50), 1),
           "p90_ms": round(pct(samples, 90), 1), "p99_ms": round(pct(samples, 99), 1),
           "max_ms": round(max(samples), 1), "min_ms": round(min(samples), 1), "samples_ms": samples}
    with open(a.out, "w") as f:
        json.dump(out, f)
    print("lag: %d names, p50 %.1f ms, p99 %.1f ms" % (out["n"], out["p50_ms"], out["p99_ms"]))


def share_if_delayed(samples):
    """The share of first SYNs a client would have steered through gw2 had it
    waited d ms after its answer through gw1: the share of records that
    were there by then."""
    return {str(d): round(sum(1 for s in samples if s <= d) / len(samples), 4)
            for d in (1, 10, 100, 250, 500, 1000, 2000)}


def report(a):
    lagd = json.load(open(a.lag))
    c = count_first_syns(json.load(open(a.client)), a.instance, a.origin)
    cross, same, ctl = c.get("cross"), c.get("same"), c.get("control")
    if not cross or not same or cross["share"] is None or same["share"] is None:
        raise SystemExit("no connection was seen on the wire: %s" % json.dumps(c))
    if not ctl or ctl["steered"] or not ctl["not_steered"]:
        raise SystemExit("the control (names nothing steers) did not come out unsteered, "
                         "so the count cannot be trusted: %s" % json.dumps(ctl))
    w = json.load(open(a.writes))
    samples = lagd.pop("samples_ms")
    lag_method = ("Two gateways and a three-member etcd in namespaces on this host "
                  "(tests/e2e/cluster.bash): the client asks %d new names, one address each, "
                  "across gw1 at %d queries/s (dnsperf). For each address, gw2's route creation "
                  "(its cs_routes created_ns) minus gw1's record's first answer (cs_records "
                  "first_ns): one clock, CLOCK_BOOTTIME of this host. What it is made of: learn's "
                  "event waits for gw1's loop (it polls every 200 ms when fewer than 16 events "
                  "wait), the cluster thread publishes once a tick (200 ms), etcd commits the "
                  "transaction and its watch tells gw2, whose thread installs at once."
                  % (lagd["n"], w["prop_rate"]))
    rows = [
        {"case": "cluster_propagation_p50", "part": "cluster", "label": "answer on gw1 to route on gw2, p50",
         "unit": "ms", "ms": lagd["p50_ms"], "better": "lower", "method": lag_method,
         "share_if_delayed_ms": share_if_delayed(samples)},
        {"case": "cluster_propagation_p99", "part": "cluster", "label": "answer on gw1 to route on gw2, p99",
         "unit": "ms", "ms": lagd["p99_ms"], "better": "lower", "method": lag_method},
    ]
    rows[0].update({k: v for k, v in lagd.items() if k not in ("p50_ms",)})
    keep = ("tries", "answered", "steered", "not_steered", "unseen", "retransmitted", "gap_us_median")
    syn_m = ("first_packet.py's client connects %s ms after each answer (median %.0f us from the "
             "answer to connect()), its names new, one address each; tcpdump on both instances "
             "and on gw2's uplink: a first SYN counts as steered when an instance saw it. "
             "Control names no rule matches, interleaved, must all come out not steered.")
    same_row = {"case": "cluster_first_syn_same_gateway", "part": "cluster",
                "label": "first SYN, answer and stream across gw2", "unit": "share",
                "share": same["share"], "better": "higher",
                "method": "The answer crosses gw2 as the stream does: the baseline. " +
                syn_m % (w["delay_ms"], same["gap_us_median"])}
    cross_row = {"case": "cluster_first_syn_across_gateways", "part": "cluster",
                 "label": "first SYN, answer across gw1, stream across gw2", "unit": "share",
                 "share": cross["share"], "better": "higher", "baseline": "cluster_first_syn_same_gateway",
                 "ratio": round(cross["share"] / same["share"], 4) if same["share"] else None,
                 "method": ("The answer crosses gw1, the stream gw2: a first SYN is steered only when "
                            "the record has reached gw2 within the client's delay, which the "
                            "propagation (its p50 above) is far longer than. " +
                            syn_m % (w["delay_ms"], cross["gap_us_median"]))}
    for r, src in ((same_row, same), (cross_row, cross)):
        r.update({k: src[k] for k in keep})
        r["control"] = {k: ctl[k] for k in ("tries", "steered", "not_steered")}
    rows += [same_row, cross_row]
    learned = w["learned"]
    writes_m = ("dnsperf through gw1 as tests/bench/dns_path.sh drives it (8 sockets, 100 "
                "outstanding, unpaced, %d s) over %d new names: etcd's committed proposals "
                "(etcd_server_proposals_committed_total) from before the run until gw2 has "
                "installed every record gw1 learned; every write counted: the transactions of "
                "puts (up to 128 a transaction, one a tick at most), the grants of the "
                "expiry-bucket leases and the node keys. Lease keepalives are no proposals. A second "
                "run over the same names, all refreshes, wrote %d." %
                (w["seconds"], w["names"], w["refresh_writes"]))
    rows += [
        {"case": "cluster_etcd_writes_per_record", "part": "cluster",
         "label": "etcd writes per record learned at the DNS path's rate", "unit": "writes_per_record",
         "writes_per_record": round(w["writes"] / learned, 4) if learned else None, "better": "lower",
         "method": writes_m},
        {"case": "cluster_etcd_writes_per_s", "part": "cluster",
         "label": "etcd writes per second at the DNS path's rate", "unit": "writes_per_s",
         "writes_per_s": round(w["writes"] / w["publish_s"], 1) if w["publish_s"] else None,
         "better": "lower", "method": writes_m + " Per second: over the burst, from dnsperf's start "
         "to the last of the new records installed on gw2 (dnsperf's first pass over the names; "
         "the rest of the run only refreshes, and writes nothing)."},
    ]
    for r in rows[-2:]:
        r.update({k: w[k] for k in ("writes", "learned", "queries", "qps", "publish_s", "installed",
                                    "txns_max_ops", "etcd_db_bytes", "etcd_keys", "refresh_writes",
                                    "refresh_queries")})
    m = json.load(open(a.map))
    map_m = ("The gateways probe casb-a and casb-b (TCP :3128 every 100 ms, timeout 100 ms, fall 2); "
             "tests/bench/map_agree.py kills one's probe target (alternately), then polls every 2 ms "
             "etcd's map/casb and both gateways' cloudsteer_cluster_table_revision until the map says "
             "the instance is down and both tables are built from that map's revision; then serves it "
             "again and waits until it is up everywhere; %d rounds, one clock. What it is made of: the "
             "probes' fall (2 failures, 100-200 ms), each gateway's observation written on its next "
             "tick (poked at once), the leader's decision when it hears a majority (poked at once), its "
             "transaction, etcd's watch to every node, and each daemon's loop (every 50 ms) building "
             "the table." % m["rounds"])
    rows += [
        {"case": "cluster_map_agreed_p50", "part": "cluster",
         "label": "an instance's death to one map revision on every node, p50", "unit": "ms",
         "ms": m["down_p50_ms"], "better": "lower", "method": map_m},
        {"case": "cluster_map_agreed_max", "part": "cluster",
         "label": "an instance's death to one map revision on every node, max", "unit": "ms",
         "ms": m["down_max_ms"], "better": "lower", "method": map_m},
    ]
    for r in rows[-2:]:
        r.update({k: m[k] for k in ("rounds", "down_ms", "back_p50_ms")})
    if a.quick:
        for r in rows:
            r["quick"] = True
    with open(a.out, "w") as f:
        json.dump(rows, f, indent=1)
        f.write("\n")
    print("cluster: propagation p50 %.1f ms, p99 %.1f ms over %d names" % (lagd["p50_ms"], lagd["p99_ms"],
                                                                           lagd["n"]))
    print("cluster: first SYN steered: across gateways %.4f, same gateway %.4f (control %d of %d)" %
          (cross["share"], same["share"], ctl["steered"], ctl["steered"] + ctl["not_steered"]))
    print("cluster: %d etcd writes for %d records learned (%.4f a record), %.1f a second" %
          (w["writes"], learned, w["writes"] / learned if learned else 0,
           w["writes"] / w["publish_s"] if w["publish_s"] else 0))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    l = sub.add_parser("lag")
    l.add_argument("--records", required=True)
    l.add_argument("--routes", required=True)
    l.add_argument("--net", required=True)
    l.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("--lag", required=True)
    r.add_argument("--client", required=True)
    r.add_argument("--instance", action="append", required=True)
    r.add_argument("--origin", required=True)
    r.add_argument("--writes", required=True)
    r.add_argument("--map", required=True)
    r.add_argument("--quick", action="store_true")
    r.add_argument("--out", required=True)
    a = p.parse_args()
    if a.cmd == "lag":
        lag(a)
    else:
        report(a)


if __name__ == "__main__":
    main()
