#!/usr/bin/python3
# dns_path.py - the arithmetic of tests/bench/dns_path.sh, which calls it:
#
#   zone DIR N ORIGIN       DIR/zone (N names with an A record each, distinct
#                           addresses from 198.18.0.1 up) and DIR/queries
#                           (dnsperf's input: every name once)
#   run RUNS.jsonl DNSPERF_OUT [KEY=VALUE...]
#                           one line of RUNS.jsonl per dnsperf run: its summary
#                           (sent, completed, lost, qps) and, when the output
#                           holds dnsperf -v lines, the latency percentiles;
#                           KEY=VALUE adds figures (numbers where they parse);
#                           learn_before=FILE learn_after=FILE (cloudsteer show
#                           stats --json) add the learn counters of the run
#                           progs=BEFORE,AFTER (two `progs` files) adds
#                           each hook's program: runs and ns per run
#   progs NET.json OUT.json the programs in bpftool net show's NET.json (XDP,
#                           clsact egress) with their run_time_ns and run_cnt
#                           (kernel.bpf_stats_enabled) from bpftool prog show
#   report RUNS.jsonl OUT.json KEY=VALUE...
#                           the cases of the part, medians over the rounds;
#                           rate, names, qps_s, lat_s, rounds, clients,
#                           outstanding, pinning describe the method
import json
import math
import re
import statistics
import subprocess
import sys

WAYS = [
    ("nothing", "nothing attached"),
    ("xdp_noop", "a trivial XDP program (XDP_PASS) on wan, the control"),
    ("tc_noop", "a trivial TC program (TC_ACT_OK) on wan's clsact egress"),
    ("cloudsteer_noquery", "cloudsteer learning, query matching off"),
    ("xdp_learn_only", "cloudsteer learning, query matching off, daemon stopped"),
    ("cloudsteer", "cloudsteer learning"),
    ("dnsmasq_nftset", "dnsmasq --nftset forwarder"),
]
# the ways that run `cloudsteer run` (learn counters, daemon CPU and stop time)
CLOUDSTEER_WAYS = ("cloudsteer", "cloudsteer_noquery", "xdp_learn_only")
PCTS = [("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9)]
# learn counters worth keeping per run (packet and record reasons)
LEARN_KEYS = ["learned", "refreshed", "rec_learned", "rec_refreshed", "repeats", "no_query",
              "query_mismatch", "queries_seen", "event_lost", "table_full", "rule_quota",
              "acl_empty", "not_stored"]


def zone(d, n, origin):
    if n > 131000:
        sys.exit("dns_path.py: at most 131000 names fit in 198.18.0.0/15")
    base = (198 << 24) | (18 << 16)
    with open(f"{d}/zone", "w") as z, open(f"{d}/queries", "w") as q:
        z.write(f"$ORIGIN {origin}.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 300\n"
                "@ NS ns\nns A 10.20.0.2\n")
        for i in range(n):
            a = base + i + 1
            z.write(f"n{i} A {a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}\n")
            q.write(f"n{i}.{origin} A\n")


def pct(sorted_v, p):
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    k = max(1, math.ceil(p / 100 * len(sorted_v)))
    return sorted_v[k - 1]


def number(v):
    for f in (int, float):
        try:
            return f(v)
        except ValueError:
            pass
    return v


def learn_stats(path):
    out = {}
    with open(path) as f:
        for line in f:
            o = json.loads(line)
            if "reason" in o:
                out[o["reason"]] = o["count"]
            elif "table" in o:
                out["table_" + o["table"]] = o["entries"]
    return out


def progs(net_path, out_path):
    """{hook: {id, name, run_time_ns, run_cnt}} of the programs on the interface."""
    net = json.load(open(net_path))[0]
    hooks = {}
    for p in net.get("xdp", []):
        hooks["xdp"] = p["id"]
    for p in net.get("tc", []):
        if p.get("kind") == "clsact/egress":
            hooks["tc_egress"] = p["id"]
    out = {}
    for hook, pid in hooks.items():
        info = json.loads(subprocess.run(["bpftool", "-j", "prog", "show", "id", str(pid)],
                                         check=True, capture_output=True, text=True).stdout)
        out[hook] = {"id": pid, "name": info.get("name"), "run_time_ns": info.get("run_time_ns", 0),
                     "run_cnt": info.get("run_cnt", 0)}
    with open(out_path, "w") as f:
        json.dump(out, f)


def prog_use(before, after):
    """Per hook: the runs between two `progs` files and the ns a run took."""
    a, b = json.load(open(before)), json.load(open(after))
    out = {}
    for hook, p in b.items():
        runs = p["run_cnt"] - a.get(hook, {}).get("run_cnt", 0)
        ns = p["run_time_ns"] - a.get(hook, {}).get("run_time_ns", 0)
        out[hook] = {"name": p["name"], "runs": runs, "ns_per_run": round(ns / runs, 1) if runs else None}
    return out


def cpu_lines(path):
    # cpuN user nice system idle iowait irq softirq steal ...: ticks
    out = {}
    for line in open(path):
        f = line.split()
        if f[0].startswith("cpu"):
            out["all" if f[0] == "cpu" else f[0]] = [int(x) for x in f[1:9]]
    return out


def cpu_use(before, after):
    """Per CPU (and all): shares of the run's time busy, in the kernel, in softirq."""
    a, b = cpu_lines(before), cpu_lines(after)
    out = {}
    for cpu in a:
        d = [y - x for x, y in zip(a[cpu], b[cpu])]
        total = sum(d) or 1
        out[cpu] = {"busy": round((total - d[3] - d[4]) / total, 3),
                    "system": round((d[2] + d[5]) / total, 3), "softirq": round(d[6] / total, 3)}
    return out


def run(runs, dnsperf_out, extras):
    text = open(dnsperf_out, errors="replace").read()
    r = {}
    for key, pat in [("sent", r"Queries sent:\s+(\d+)"), ("completed", r"Queries completed:\s+(\d+)"),
                     ("lost", r"Queries lost:\s+(\d+)"), ("qps", r"Queries per second:\s+([\d.]+)"),
                     ("run_s", r"Run time \(s\):\s+([\d.]+)")]:
        m = re.search(pat, text)
        if not m:
            sys.exit(f"dns_path.py: no '{key}' in the dnsperf output {dnsperf_out}:\n{text[-2000:]}")
        r[key] = number(m.group(1))
    r["qps"] = round(r["qps"], 1)
    lat = sorted(float(m.group(1)) * 1e6
                 for m in re.finditer(r"^> NOERROR \S+ \S+ ([\d.]+)$", text, re.M))
    if lat:
        for name, p in PCTS:
            r[name + "_us"] = round(pct(lat, p), 1)
        r["max_us"] = round(lat[-1], 1)
        r["mean_us"] = round(sum(lat) / len(lat), 1)
        r["latencies"] = len(lat)
        r["other_rcodes"] = len(re.findall(r"^> (?!NOERROR)", text, re.M))
    before = after = None
    for kv in extras:
        k, v = kv.split("=", 1)
        if k == "learn_before":
            before = learn_stats(v)
        elif k == "learn_after":
            after = learn_stats(v)
        elif k == "proc_stat":
            r["cpus"] = cpu_use(*v.split(","))
        elif k == "progs":
            r["progs"] = prog_use(*v.split(","))
        else:
            r[k] = number(v)
    if after is not None:
        before = before or {}
        r["learn"] = {k: after.get(k, 0) - before.get(k, 0) for k in LEARN_KEYS}
        for t in ("records", "routes", "names"):
            r["learn"]["table_" + t] = after.get("table_" + t)
        taught = r["learn"]["learned"] + r["learn"]["refreshed"]
        r["learn"]["taught_share"] = round(taught / r["completed"], 4) if r["completed"] else 0
    with open(runs, "a") as f:
        f.write(json.dumps(r) + "\n")
    line = f"dns_path: round {r.get('round')} {r.get('way')} {r.get('kind')}: {r['qps']:.0f} queries/s"
    if lat:
        line += " (" + ", ".join(f"{n} {r[n + '_us']:.0f}" for n, _ in PCTS) + " us)"
    line += f", lost {r['lost']}"
    if "learn" in r:
        line += f"; learn: {r['learn']['learned']} learned, {r['learn']['refreshed']} refreshed"
    for hook, p in r.get("progs", {}).items():
        if p["ns_per_run"] is not None:
            line += f"; {hook} {p['name']} {p['ns_per_run']:.0f} ns x {p['runs']}"
    if "nftset_elements" in r:
        line += f"; set: {r['nftset_elements']} elements"
    print(line, flush=True)


def median(v):
    return statistics.median(v) if v else None


def prog_figures(rs):
    """Per hook: the program's ns per run and its runs per answered query, medians
    of the rounds (bpf_stats over the paced runs)."""
    out = {}
    for hook in ("xdp", "tc_egress"):
        mine = [(r["progs"][hook], r["completed"]) for r in rs
                if r.get("progs", {}).get(hook, {}).get("ns_per_run") and r["completed"]]
        if mine:
            out[hook] = {"name": mine[0][0]["name"], "ns": round(median([p["ns_per_run"] for p, _ in mine]), 1),
                         "runs_per_query": round(median([p["runs"] / n for p, n in mine]), 3)}
    return out


def methods(p):
    common = (f"dnsperf 2.10 in namespace cli ({p['clients']} sockets, at most {p['outstanding']} "
              f"queries outstanding) asks knotd in namespace res for {p['names']} names, each with its "
              "own A record in 198.18.0.0/15, through namespace host: routed (nothing; a trivial "
              "XDP program on the resolver-facing veth wan; a trivial TC program on wan's clsact "
              "egress, where cloudsteer's query program sits; cloudsteer learning on wan with query "
              "matching, without it, and without it with the daemon stopped by SIGSTOP for the "
              "runs) or answered by dnsmasq "
              "--nftset on host forwarding to knotd (dnsmasq 2.90 defaults: its cache of 150 "
              "holds far fewer than the names, so it forwards nearly every query); each cloudsteer "
              "way starts a fresh daemon (its unpaced run learns the names, the paced run refreshes "
              "them) and each dnsmasq way flushes its set; "
              f"{p['rounds']} round(s), the {len(WAYS)} ways interleaved (A B C ..., ... C B A, ...), "
              f"median of the rounds; {p['pinning']}. ")
    return {
        "qps": common + f"Max rate: dnsperf unpaced for {p['qps_s']} s per round.",
        "latency": common + (f"Latency: dnsperf -Q {p['rate']} (half the unpaced rate of nothing in a "
                             f"calibration run) for {p['lat_s']} s per round, every answer's latency "
                             "from dnsperf -v, percentiles by nearest rank over the answered queries; "
                             "lost queries (1 s timeout) counted apart. dnsperf keeps at most "
                             f"{p['outstanding']} queries outstanding, so a server slower than the "
                             "pace answers at its own rate (achieved_qps) and its percentiles "
                             "are those of a saturated queue."),
    }


def report(runs_path, out_path, params):
    runs = [json.loads(line) for line in open(runs_path)]
    p = dict(kv.split("=", 1) for kv in params)
    rate = int(p["rate"])
    method = methods(p)
    try:
        slots = sorted((json.loads(line) for line in open(p["slots"])), key=lambda s: s["round"])
    except FileNotFoundError:
        slots = []
    cases = []

    def pick(way, kind):
        return sorted((r for r in runs if r["way"] == way and r["kind"] == kind), key=lambda r: r["round"])

    def cpu(rs):
        # share of one CPU over the run's wall time, median over the rounds
        # (ksoftirqd: every softirq the kernel deferred, whoever's packets)
        out = {}
        for k in ("dnsperf_cpu_s", "resolver_cpu_s", "forwarder_cpu_s", "ksoftirqd_cpu_s"):
            v = [r[k] / r["wall_s"] for r in rs if k in r and r.get("wall_s")]
            if v:
                out[k.replace("_cpu_s", "")] = round(median(v), 3)
        for cpu in rs[0]["cpus"]:
            out[cpu] = {k: round(median([r["cpus"][cpu][k] for r in rs]), 3)
                        for k in rs[0]["cpus"][cpu]}
        return out

    base = {}
    for kind in ("qps", "latency"):
        control = None
        for way, label in WAYS:
            rs = pick(way, kind)
            if not rs and way != "nothing" and p.get("ways"):
                continue  # DNS_PATH_WAYS left it out
            if not rs:
                sys.exit(f"dns_path.py: no {kind} run of {way}")
            c = {"case": f"dns_{way}_{kind}", "part": "dns_path"}
            if kind == "qps":
                samples = [r["qps"] for r in rs]
                fig = round(median(samples), 1)
                c.update(label=f"{label}: max queries/s", unit="qps", qps=fig, better="higher",
                         samples=samples)
            else:
                samples = [r["p99_us"] for r in rs]
                fig = round(median(samples), 1)
                c.update(label=f"{label}: p99 latency at {rate} queries/s", unit="p99_us", p99_us=fig,
                         better="lower", samples=samples, offered_qps=rate,
                         achieved_qps=round(median([r["qps"] for r in rs]), 1))
                for name, _ in PCTS + [("max", 0), ("mean", 0)]:
                    c[name + "_us"] = round(median([r[name + "_us"] for r in rs]), 1)
                c["percentiles_per_round"] = [{n + "_us": r[n + "_us"] for n, _ in PCTS} for r in rs]
                prog_ns = prog_figures(rs)
                if prog_ns:
                    c["prog_ns_per_run"] = prog_ns
            if way == "nothing":
                base[kind] = (c["case"], fig, samples)
            if way == "xdp_noop":
                control = fig
            bcase, bfig, bsamples = base[kind]
            c["ratio"] = round(fig / bfig, 4) if bfig else None
            c["baseline"] = bcase
            c["lost"] = sum(r["lost"] for r in rs)
            c["sent"] = sum(r["sent"] for r in rs)
            c["lost_per_round"] = [r["lost"] for r in rs]
            c["rounds"] = len(rs)
            c["cpu_share"] = cpu(rs)
            if way in CLOUDSTEER_WAYS:
                # what cloudsteer costs beyond any XDP program on that interface
                # (on veth, attaching one moves receive to the XDP path)
                c["vs_xdp_noop"] = round(fig / control, 4) if control else None
                c["learn_per_round"] = [r["learn"] for r in rs]
                c["daemon_cpu_s_per_run"] = [r.get("forwarder_cpu_s") for r in rs]
                # the daemon's whole life in each round (start to SIGTERM), and
                # how long it took to stop
                mine = [s for s in slots if s["way"] == way]
                c["daemon_cpu_s_per_round"] = [s["daemon_cpu_s"] for s in mine]
                c["daemon_stop_s_per_round"] = [s["daemon_stop_s"] for s in mine]
            if way == "cloudsteer":
                if kind == "qps":
                    # run-to-run spread of "nothing": its lowest round against its median
                    floor = round(min(bsamples) / bfig, 4)
                    c["target"] = (f"no measurable loss: qps ratio >= {floor} (nothing's lowest round / "
                                   "its median, the run-to-run spread)")
                    c["meets"] = c["ratio"] is not None and fig >= min(bsamples)
                else:
                    ceil = round(max(bsamples) / bfig, 4)
                    c["target"] = (f"no measurable loss: p99 ratio <= {ceil} (nothing's highest round / "
                                   "its median, the run-to-run spread)")
                    c["meets"] = c["ratio"] is not None and fig <= max(bsamples)
            if way == "cloudsteer" and control:
                # issue 21's target: within the control's noise
                if kind == "qps":
                    t = ("max queries/s >= 0.98 x the trivial XDP program's", c["vs_xdp_noop"] >= 0.98)
                else:
                    t = ("p99 <= 1.1 x the trivial XDP program's", c["vs_xdp_noop"] <= 1.1)
                c["targets"] = [{"target": t[0], "meets": t[1], "ratio": c["vs_xdp_noop"],
                                 "baseline": f"dns_xdp_noop_{kind}"}]
            if way == "dnsmasq_nftset":
                c["nftset_elements_per_round"] = [r.get("nftset_elements") for r in rs]
                c["forwarded_per_round"] = [r.get("forwarded") for r in rs]
                c["answered_locally_per_round"] = [r.get("answered_locally") for r in rs]
            c["method"] = method[kind]
            cases.append(c)
    # it must really have learned: every run of a cloudsteer way taught, every
    # dnsmasq run left addresses in the set
    for r in runs:
        if r["way"] in CLOUDSTEER_WAYS and r["learn"]["learned"] + r["learn"]["refreshed"] == 0:
            sys.exit(f"dns_path.py: {r['way']} learned nothing in round {r['round']} ({r['kind']})")
        if r["way"] == "dnsmasq_nftset" and not r.get("nftset_elements"):
            sys.exit(f"dns_path.py: dnsmasq left the nft set empty in round {r['round']} ({r['kind']})")
    with open(out_path, "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")


def main():
    a = sys.argv[1:]
    if a[:1] == ["zone"] and len(a) == 4:
        zone(a[1], int(a[2]), a[3])
    elif a[:1] == ["run"] and len(a) >= 3:
        run(a[1], a[2], a[3:])
    elif a[:1] == ["progs"] and len(a) == 3:
        progs(a[1], a[2])
    elif a[:1] == ["report"] and len(a) >= 4:
        report(a[1], a[2], a[3:])
    else:
        sys.exit(__doc__ or "usage: see the header of dns_path.py")


if __name__ == "__main__":
    main()
