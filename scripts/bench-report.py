#!/usr/bin/python3
"""bench-report - the last step of `make bench` (tests/bench/run.sh).

Reads the parts' results (build/bench/parts/PART.json, each a JSON array with
one object per case, as tests/bench/run.sh describes) and the machine's facts
(build/bench-env.json), then writes:
  build/bench.json        every case of every part, one object each
  docs/benchmarks.md      the tables, the targets met and missed, the plots
  docs/bench-*.png        cost against table size and rule count (gnuplot)
  README.md               the block between the bench markers: the targets, met or not
Every number in those files comes from the parts' files of this run; nothing
is typed in by hand. A part that did not run this time keeps the file of its
last run, and the document says when each part was measured. A part that
failed (PART.failed: its exit and last lines of error, from run.sh) is named
in the document with why, and on stdout.
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

PARTS = ["per_packet", "dns_path", "steer_path", "first_packet", "expiry", "failover", "cluster"]

TITLES = {
    "per_packet": "Per packet: the programs under BPF_PROG_TEST_RUN",
    "dns_path": "DNS path: dnsperf through the host",
    "steer_path": "Steering path: packets per second through the host",
    "first_packet": "First packet: is the first SYN steered?",
    "expiry": "Expiry: the daemon sweeping a million records",
    "failover": "Failover: an instance dies",
    "cluster": "Cluster: two gateways sharing one cloud IP table through etcd",
}

# What each part measures, in words; its figures come from the files.
INTROS = {
    "per_packet": (
        "`learn` (XDP), `steer` and `instance` (TC) run under `BPF_PROG_TEST_RUN`, interleaved "
        "with a trivial program of the same hook (`xdp_noop`, `tc_noop`), so each ratio is a cost "
        "in units of \"the cheapest program this kernel can run there\". Each row of `learn` and "
        "`steer` names the table size (records in `cs_records`, or routes for `steer`) and the "
        "number of rules it ran under. The same input runs every repeat, so these are warm-cache "
        "figures. A TC test run never resets its packet between repeats, so a row whose program "
        "changes the packet (a wrap, an unwrap) runs it a packet at a time, against a path of the "
        "same program that leaves the packet as it is and whose warm figure is measured as the "
        "others are (its `method` says which).\n\n"
        "The controls: a program that does nothing costs so little that a ratio to it mostly "
        "measures the kernel's test-run overhead, not the program. So two more XDP programs, "
        "written as tightly as we can, do the least the job needs and serve as the references of "
        "targets: `xdp_parse` reads Ethernet, up to two VLAN tags, IPv4 (options skipped by IHL) or "
        "the fixed IPv6 header, and the TCP or UDP ports, every read bounds-checked, then passes; "
        "`xdp_fwd_min` does that parse, one hash lookup of the 5-tuple whose value caches a FIB "
        "result (egress interface, MACs), rewrites the Ethernet addresses and redirects: the "
        "minimum of a load balancer that forwards in XDP. Both run on `learn_non_dns`'s frame, "
        "interleaved with it and `xdp_noop` at every point.\n\n"
        "steer's XDP fast path (`steer_xdp`, [design.md](design.md) says which packets it takes) "
        "has rows of its own at every steer point, beside TC's: `xdp_steer_miss` (neither address a "
        "route with a live flow: the parse, two bits of `cs_route_bits`, XDP_PASS), "
        "`xdp_steer_hit_pinned` (a pinned, proven UDP stream in route mode: a route bit, the flow "
        "lookup, the cached FIB answer, the counters, the MACs rewritten, a devmap redirect; its "
        "route is looked up once a tick of 64 jiffies, not per packet) and its encap and nsh twins "
        "(wrapped with "
        "`bpf_xdp_adjust_head`; an XDP test run never resets its frame either, so they run a packet "
        "at a time against `xdp_steer_hit_pinned`'s path, as TC's wrapped rows do). Their ratio "
        "is to `xdp_noop`; their targets are to the control measured in the same runs on the same "
        "frame (`xdp_parse` for the miss, `xdp_fwd_min` for the pinned stream). They run in a "
        "network namespace of the bench's own, where the FIB finds the instances behind a veth in "
        "`cs_xdp_ports`; a redirect in a test run returns XDP_REDIRECT without sending. Every "
        "packet is checked on the flow and on `xdp_steered`, none left to TC; a miss makes no flow. "
        "The miss's row splits its cost (`split`): steer's own parse (a first fragment, passed "
        "before any lookup), then the rest, its look at the route bits.\n\n"
        "Streams: `xdp_steer_pinned_streams` is the pinned stream with `cs_flows` sized for a "
        "million (`steer.limits.flows: 1048576`) holding 1, 10,000 and 1,000,000 streams, the "
        "measured one among them. Its frame repeats, so its hash bucket and entry stay in cache: "
        "these rows show what a fuller table costs a warm lookup (a longer bucket), not a cache "
        "miss. `xdp_steer_pinned_cycled` sends each packet on another stream of the table, picked "
        "at random, a packet at a time against the measured stream's own frame: the cost of a "
        "stream whose bucket and entry (and their page's TLB entry) are not in cache, beyond what "
        "a syscall between two packets disturbs anyway. Real traffic at 10,000 streams sits "
        "between the two; `steer_path`'s 10,000-stream rows measure it end to end.\n\n"
        "The chain header ([chains.md](chains.md)): `steer_hit_pinned_encap` and "
        "`steer_hit_pinned_nsh` are `steer_hit_pinned` with its chain in encap or nsh mode: the "
        "packet wrapped in VXLAN (50 octets over IPv4) or in VXLAN-GPE and NSH (60) before the "
        "redirect. On an instance of the first of two stages, `instance_nsh_arrive` is a packet of "
        "a tracked stream arriving behind the header: read, checked (the chain's SPI, this stage's "
        "SI), its stream found and counted under the code of C1, the outer headers and NSH taken "
        "off; and `instance_out_nsh_send_on` is the service's packet of that stream going out: its "
        "stream found, the next stage's instance picked from that stage's table by the code, the "
        "packet wrapped in VXLAN-GPE and NSH one hop on and redirected. Sending on is what steer "
        "does for a pinned stream in encap mode, with the stream table in place of steer's route "
        "and flow lookups, the next stage's bucket in place of the pinned instance, and 10 more "
        "octets of header."),
    "dns_path": (
        "dnsperf in a client namespace queries a real DNS server in another namespace, through "
        "the host, three ways in one run: nothing attached to the host; cloudsteer learning "
        "from the answers as they pass; and dnsmasq on the host as the forwarder that fills an "
        "nftables set (`--nftset`), the classic recipe. A control runs a trivial XDP program on the "
        "host's resolver-facing veth: on veth, any XDP program moves receive to the XDP path, a "
        "cost a NIC with native XDP does not have; cloudsteer's rows say in `vs_xdp_noop` what it "
        "costs beyond that. The ratio is against nothing attached.\n\n"
        "cloudsteer's pieces are measured alone in the same run: `tc_noop`, a trivial TC program "
        "on the veth's clsact egress hook, where cloudsteer's `query` program sits; "
        "`cloudsteer_noquery`, cloudsteer with `learn.match_queries: false` (`learn` walks every "
        "answer; `query` stays on the hook and returns at once); and `xdp_learn_only`, the same "
        "with the daemon stopped (SIGSTOP) for the runs, so nothing reads `learn`'s ring buffer: "
        "once it is full `learn` counts `event_lost` in place of writing the events of new "
        "records."),
    "steer_path": (
        "A generator sends UDP through the host to a learned address; an XDP program on the "
        "instance's side counts what arrives. The generator sends live frames "
        "(`BPF_PROG_TEST_RUN` with `BPF_F_TEST_XDP_LIVE_FRAMES`) where the kernel allows it, "
        "else it falls back to an `AF_PACKET` socket (an skb a frame, several times slower, so "
        "the target is judged on the host's own cost, `host_cost_ratio`). cloudsteer in `route` "
        "mode against the classic recipe: an nftables set holding the same addresses, a mark, "
        "and an `ip rule` to a table whose route goes to the instance. cloudsteer runs two ways, "
        "each a host of its own: on TC (`steer.xdp: off`) and on its XDP fast path "
        "(`cloudsteer_xdp`, `steer.xdp: on`, as a veth needs), whose row checks from `show stats` "
        "that `steer_xdp` carried every packet but each stream's first two (`path_check`). The XDP "
        "way's targets are the issue's: at least 3 times the classic recipe and 2 times plain "
        "forwarding, with 1 and with 10,000 streams; `vs_direct` is its rate against the generator "
        "sending to the instance with no host. With the AF_PACKET generator every frame is an skb "
        "before it reaches the host, so the veth runs `steer_xdp` on a frame built from an skb "
        "(the veth copies it into a buffer with XDP's headroom, which an AF_PACKET skb lacks, and "
        "the instance's veth makes an skb of the redirected frame again: work a NIC's driver does "
        "not do) and the sender's own cost is about the host's: "
        "the targets are judged on the host's own ns per packet (the direct way's taken off), and "
        "a live-frames or NIC generator is needed for the pps ratios the issue names."),
    "first_packet": (
        "A client resolves a name it has never asked for and connects the instant the answer "
        "arrives. A connection counts as steered when its first SYN reaches the instance; a "
        "SYN that went to the origin first is not steered, even if a retransmission later is."),
    "expiry": (
        "The daemon holds a million records that all expire at once. The sweep's wall time and "
        "CPU time, and what `learn` costs per packet while the sweep runs against while the "
        "daemon is idle."),
    "failover": (
        "A stream of datagrams runs through the primary instance when the instance dies: by "
        "health probe (it stops answering) or by link-down. The figure is the time from the "
        "death to the first datagram on the secondary, from packet timestamps on one clock."),
    "cluster": (
        "Two gateways and a three-member etcd in network namespaces on one host "
        "(tests/e2e/cluster.bash). How long a record learned on one gateway takes to become a "
        "route on the other; whether a client that connects 1 ms after its answer has its first "
        "SYN steered when the answer crossed the other gateway (against the same gateway); "
        "how many writes etcd takes per record learned, and per second, at the DNS path's "
        "rate; and how long from an instance's death until every gateway steers by the same "
        "agreed map revision."),
}

UNIT_TEXT = {"ns_per_pkt": "ns/packet", "qps": "queries/s", "pps": "packets/s", "ms": "ms",
             "p99_us": "µs at p99",
             "s": "s", "share": "share", "writes_per_record": "etcd writes/record",
             "writes_per_s": "etcd writes/s"}

BEGIN = "<!-- bench:begin (written by scripts/bench-report.py from build/bench.json) -->"
END = "<!-- bench:end -->"


def die(msg):
    print("bench-report: " + msg, file=sys.stderr)
    sys.exit(1)


def load_failures(parts_dir):
    """{part: its PART.failed text (exit, last lines of error)} of this run."""
    failed = {}
    for part in PARTS:
        path = os.path.join(parts_dir, part + ".failed")
        if os.path.exists(path):
            with open(path) as f:
                failed[part] = f.read().strip()
    return failed


def load_parts(parts_dir):
    """Every part's cases, and when each part's file was written."""
    cases, measured = [], {}
    for part in PARTS:
        path = os.path.join(parts_dir, part + ".json")
        if not os.path.exists(path):
            continue
        try:
            with open(path) as f:
                rows = json.load(f)
        except ValueError as e:
            die("%s: not JSON: %s" % (path, e))
        if not isinstance(rows, list):
            die("%s: not a JSON array" % path)
        for row in rows:
            check_row(path, row, part)
        measured[part] = datetime.datetime.fromtimestamp(
            os.path.getmtime(path), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        cases.extend(rows)
    names = [c["case"] for c in cases]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        die("case names used twice: " + ", ".join(dup))
    return cases, measured


def check_row(path, row, part):
    """The contract of tests/bench/run.sh: refuse a row that breaks it, by name."""
    for key in ("case", "unit", "method"):
        if key not in row:
            die("%s: a case without \"%s\": %s" % (path, key, json.dumps(row)[:200]))
    row.setdefault("part", part)
    if row["part"] != part:
        die("%s: case %s says part %s" % (path, row["case"], row["part"]))
    # null: the part ran the case but could not measure it (it says why in its
    # own members); the document shows "not measured"
    if row["unit"] not in row or not isinstance(row[row["unit"]], (int, float, type(None))):
        die("%s: case %s has no number under its unit \"%s\"" % (path, row["case"], row["unit"]))
    if "ratio" in row and "baseline" not in row:
        row["baseline"] = "xdp_noop" if part == "per_packet" else "?"


def figure(row):
    v, unit = row[row["unit"]], row["unit"]
    if v is None:
        return "not measured"
    if unit == "share":
        return "%.1f %%" % (100 * v)
    if abs(v) >= 100000:
        return "{:,.0f}".format(v)
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.2f" % v


def ratio_text(row):
    if row.get("ratio") is None:
        return ""
    return "%.2f × %s" % (row["ratio"], row["baseline"])


def unmeasured(row):
    """A row without a figure: its case did not run (it says why)."""
    return row[row["unit"]] is None


def target_views(rows):
    """Each target of each row as a row of its own: the row itself for its
    "target", and for each entry of its "targets" (a target against another
    baseline) a copy holding that entry's target, verdict, ratio and baseline."""
    views = []
    for r in rows:
        alone = {k: val for k, val in r.items() if k != "targets"}
        if "target" in r:
            views.append(alone)
        views += [dict(alone, **t) for t in r.get("targets", [])]
    return views


def missed(row):
    return not row.get("meets") and not unmeasured(row)


def verdict(row):
    if unmeasured(row):
        return row.get("not_measured", "not measured")
    return "met" if row.get("meets") else "missed"


def target_text(row):
    """The row's target and verdict; a further target (against another
    baseline) says its own ratio, which the ratio column does not show."""
    out = ["%s: **%s**" % (row["target"], verdict(row))] if "target" in row else []
    for t in row.get("targets", []):
        out.append("%s (here %.2f): **%s**" % (t["target"], t["ratio"], "met" if t.get("meets") else "missed"))
    return "; ".join(out)


def label(row):
    return row.get("label") or row["case"]


def md_table(rows):
    out = ["| case | what | figure | unit | ratio | target |", "|---|---|---:|---|---|---|"]
    for r in rows:
        out.append("| `%s` | %s | %s | %s | %s | %s |" % (
            r["case"], label(r), figure(r), UNIT_TEXT.get(r["unit"], r["unit"]), ratio_text(r),
            target_text(r)))
    return out


def on_grid(c):
    """A per-packet row that sits on the grid of table sizes and rule counts."""
    return c["part"] == "per_packet" and "base" in c and "table_records" in c and "rules" in c


def matrix_rows(cases, prog):
    """The grid's rows of one program (learn or steer)."""
    return [c for c in cases if on_grid(c) and c["base"].startswith(prog)]


def short(n):
    """1000 -> 1k, 1000000 -> 1M: the sizes as people say them."""
    for div, suffix in ((1000000, "M"), (1000, "k")):
        if n >= div and n % div == 0:
            return "%d%s" % (n // div, suffix)
    return str(n)


def plot(rows, axis, fixed_axis, title, png):
    """Ratio to the trivial program against `axis`, one line per case family,
    at the smallest value of the other axis. False when there is nothing to plot."""
    if not rows:
        return False
    fixed = min(r[fixed_axis] for r in rows)
    series = {}
    for r in rows:
        if r[fixed_axis] == fixed and r.get("ratio") is not None:
            series.setdefault(r["base"], []).append((r[axis], r["ratio"]))
    series = {k: sorted(v) for k, v in series.items() if len(v) > 1}
    if not series:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        plots = []
        for i, (base, points) in enumerate(sorted(series.items())):
            data = os.path.join(tmp, "%d.dat" % i)
            with open(data, "w") as f:
                for x, y in points:
                    f.write("%s %s\n" % (x, y))
            plots.append("'%s' using 1:2 with linespoints lw 2 title '%s'" % (data, base.replace("_", "\\_")))
        other = "records" if fixed_axis == "table_records" else "rules"
        xs = sorted({x for points in series.values() for x, _ in points})
        tics = ", ".join('"%s" %d' % (short(x), x) for x in xs)
        script = "\n".join([
            "set terminal pngcairo size 900,520 font 'sans,10'",
            "set output '%s'" % png,
            "set title '%s (at %s %s)'" % (title, short(fixed), other),
            "set logscale x",
            "set xrange [%g:%g]" % (xs[0] / 2, xs[-1] * 2),
            "set xtics (%s)" % tics,
            "set xlabel '%s'" % ("records in the table" if axis == "table_records" else "rules"),
            "set ylabel 'cost, x the trivial program'",
            "set yrange [0:*]",
            "set key outside right",
            "set grid",
            "plot " + ", ".join(plots),
        ])
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    return True


def make_plots(cases, plots_dir):
    made = []
    for prog in ("learn", "steer"):
        rows = matrix_rows(cases, prog)
        for axis, fixed_axis, what in (("table_records", "rules", "table size"),
                                       ("rules", "table_records", "rule count")):
            name = "bench-%s-%s.png" % (prog, "records" if axis == "table_records" else "rules")
            if plot(rows, axis, fixed_axis, "%s: cost against %s" % (prog, what),
                    os.path.join(plots_dir, name)):
                made.append((prog, what, name))
    return made


def env_lines(env, elapsed, ran):
    out = ["- Machine: %s, %s CPUs (%s), kernel %s" % (
        env.get("cpu", "?"), env.get("cpus", "?"), env.get("machine", "?"), env.get("kernel", "?")),
        "- Date: %s; cloudsteer %s; libbpf %s; BPF JIT %s" % (
        env.get("date", "?"), env.get("version", "?"), env.get("libbpf", "?"),
        "on" if env.get("bpf_jit_enable") == "1" else env.get("bpf_jit_enable", "?"))]
    if elapsed and set(ran) >= set(PARTS):
        out.append("- `make bench` took %s s (the build excluded)" % elapsed)
    elif elapsed:
        out.append("- This run measured %s in %s s; the other parts are from earlier runs (each "
                   "section says when)" % (", ".join(ran) or "nothing", elapsed))
    return out


def failure_lines(failed):
    out = []
    for part, text in failed.items():
        first, _, rest = text.partition("\n")
        out += ["- **%s** failed (%s). Its last lines of error:" % (part, first), "",
                "  ```", *["  " + l for l in rest.splitlines()], "  ```", ""]
    return out


def generator_line(rows):
    """Which packet generator a part's rows were sent by, if they say."""
    gens = sorted({r["generator"] for r in rows if "generator" in r})
    return ["Generator in this run: %s." % ", ".join("`%s`" % g for g in gens), ""] if gens else []


def chain_header_lines(rows):
    """The instance's chain header rows against steer's pinned stream in encap mode (at the
    smallest point), in a sentence, from this run's figures; nothing when a row is missing."""
    encap = sorted((c for c in rows if on_grid(c) and c["base"] == "steer_hit_pinned_encap"),
                   key=lambda c: (c["table_records"], c["rules"]))
    ours = [c for c in rows if c["case"] in ("instance_nsh_arrive", "instance_out_nsh_send_on")]
    if not encap or not ours or any(c[c["unit"]] is None for c in ours + encap[:1]):
        return []
    e = encap[0]
    each = ["`%s` %s ns, %.2f × that" % (c["case"], figure(c), c[c["unit"]] / e[e["unit"]]) for c in ours]
    return ["In this run steer's pinned stream in encap mode (`%s`) cost %s ns; %s." % (
        e["case"], figure(e), "; ".join(each)), ""]


def controls_lines(rows):
    """The controls against xdp_noop, in a sentence, from this run's figures."""
    by = {c["case"]: c for c in rows if c["case"] in ("xdp_noop", "xdp_parse", "xdp_fwd_min")}
    if len(by) < 3 or any(unmeasured(c) for c in by.values()):
        return []
    return ["In this run `xdp_noop` cost %s ns, `xdp_parse` %s ns (%.2f × xdp_noop) and `xdp_fwd_min` "
            "%s ns (%.2f × xdp_noop)." % (figure(by["xdp_noop"]), figure(by["xdp_parse"]),
                                           by["xdp_parse"]["ratio"], figure(by["xdp_fwd_min"]),
                                           by["xdp_fwd_min"]["ratio"]), ""]


def xdp_lines(rows):
    """steer in XDP beside TC, and the cost of more streams, from this run's figures."""
    by = {c["case"]: c for c in rows}
    first = sorted((c for c in rows if on_grid(c) and c["base"] == "xdp_steer_miss" and not unmeasured(c)),
                   key=lambda c: (c["table_records"], c["rules"]))
    out = []
    if first:
        m = first[0]
        at = m["case"].split("@")[1]
        p, t = by.get("xdp_steer_hit_pinned@" + at), by.get("steer_hit_pinned@" + at)
        sp = m.get("split", {})
        out.append("In this run at %s, steer's miss cost %s ns in XDP (%s ns on TC): steer's parse %.0f ns "
                   "(`xdp_parse` %.0f ns), its look at the route bits %.0f ns." % (
                       at, figure(m), figure(by["steer_miss@" + at]) if "steer_miss@" + at in by else "?",
                       sp.get("steer_parse_ns", 0), m.get("xdp_parse_ns", 0), sp.get("route_lookups_ns", 0)))
        if p and t and not unmeasured(p):
            out[-1] += (" A pinned stream cost %s ns in XDP (%.2f × `xdp_fwd_min`, %.0f ns) against %s ns on "
                        "TC; after its flow is found (the pinned row less a stream without a flow, %.0f ns) "
                        "the chain, instance, FIB cache, counters and redirect cost %.0f ns." % (
                            figure(p), p.get("vs_xdp_fwd_min", 0), p.get("xdp_fwd_min_ns", 0), figure(t),
                            sp.get("no_flow_ns", 0), p[p["unit"]] - sp.get("no_flow_ns", 0)))
    warm = sorted((c for c in rows if c.get("base") == "xdp_steer_pinned_streams" and not unmeasured(c)),
                  key=lambda c: c["table_records"])
    cyc = {c["table_records"]: c for c in rows if c.get("base") == "xdp_steer_pinned_cycled"}
    if warm:
        each = []
        for w in warm:
            n = "{:,}".format(w["table_records"])
            txt = "%s: %s ns warm" % (n, figure(w))
            if w["table_records"] in cyc:
                txt += ", %s ns with every packet another stream" % figure(cyc[w["table_records"]])
            each.append(txt)
        out.append("A pinned stream in XDP with this many streams in `cs_flows`: %s." % "; ".join(each))
    return out + [""] if out else []


# The DNS path's ways in the split's table, in the order of the story.
DNS_WAYS = ["nothing", "xdp_noop", "tc_noop", "xdp_learn_only", "cloudsteer_noquery", "cloudsteer",
            "dnsmasq_nftset"]

# Where cloudsteer's extra cost goes: (piece, what it holds, way, the way it
# adds to). The first three add up to cloudsteer against nothing; the last two
# are parts of the second, measured on their own.
DNS_PIECES = [
    ("the XDP hook", "any XDP program on veth", "xdp_noop", "nothing"),
    ("learn", "its walk of every answer, its events, the daemon, the clsact hook with query "
     "returning at once", "cloudsteer_noquery", "xdp_noop"),
    ("query matching", "an LRU insert per query, a delete per answer", "cloudsteer",
     "cloudsteer_noquery"),
    ("the clsact hook alone", "a trivial TC program on wan's egress", "tc_noop", "nothing"),
    ("the daemon", "its userspace work, and learn's events it reads", "cloudsteer_noquery",
     "xdp_learn_only"),
]


# What was measured and changed inside the programs, by hand (perf, bpf_stats):
# kept across runs of make bench until the next such look.
DNS_FINDINGS = [
    '### Where the time goes inside the programs (issue 21, 2026-12-07, a shared 2-CPU VM)',
    '',
    "`XDP ns/answer` and `TC egress ns/query` are the programs' own time per run from the kernel (`kernel.bpf_stats_enabled`, on for the paced runs only), far steadier than dnsperf's figures. In one run (1 round of 2 s, load ~0.5): `xdp_noop` 59 ns an answer; `tc_noop` 67 ns a query; `cloudsteer_noquery` learn 755 + query 70 ns; `cloudsteer` learn 1019 + query 502 ns. cloudsteer's programs took 1.46 µs a query more than the control's, and dnsperf's time per query was 1.46 µs longer (64828 against 71596 queries/s, 0.91 × xdp_noop): the programs' own time is the whole of the loss beyond the control; the daemon (6 % of a CPU, mostly its sweep's batch reads of cs_records) is within the noise (`xdp_learn_only` learn 734 ns against 755 running).",
    '',
    "`perf record -a -g` over a paced cloudsteer run, samples under each program by where they fell: **learn** (per answer): the query-table lookup 23 % (an LRU hash lookup of an element another CPU just wrote: the query leaves on dnsperf's CPU, the answer arrives on knotd's), its delete 7 %, learn's own instructions 23 %, the records lookup and refresh in place 11 %, the question's name walk 8 %, CLOCK_BOOTTIME reads 6 % (two an answer), the repeat cache's digest and coarse clock 6.5 % (spent in vain here: 20,000 names cycle through 256 slots), copying the message 4.5 %, ring-buffer wakeups 3 % (new records only: a self-IPI, a VM exit). **query** (per query): the LRU insert 60 %, the question's name walk 11 %, the clock 9 %, the copy 4 %. So query matching's table costs about 0.7 µs of the 1.46: insert, cross-CPU lookup and delete.",
    '',
    "Changed: learn reads CLOCK_BOOTTIME once an answer (the query window and the records' stamps share it), one helper call of ~35 ns by perf's count; in three pairs of alternated runs against the old binary (1 round of 3 s each, under other engineers' tests) learn took 1008, 1038, 954 ns old and 1041, 892, 885 ns new (medians 1008 and 892; query 494, 515, 474 against 521, 472, 459 ns): more than one clock read can explain, so read it as a saving of ~35 ns inside a spread of ±70. Evaluated and dropped: `BPF_F_NO_COMMON_LRU` for cs_queries (per-CPU LRU lists): it splits the 65,536 queries among the CPUs, so a resolver on one CPU keeps 1/N of them, and it changes a pinned map's flags, which an upgrade over existing pins refuses; no gain above the noise (learn 1022, query 535 ns). Batching the ring buffer's wakeups: already once per 16 events, and only new records write events. The daemon waking on the resolver's CPU for p99: the daemon is not per event, and p99 here moves by more between nothing's own rounds than between ways.",
    '',
    "What stands in the way of the target (≥ 0.98 × xdp_noop's rate: at most ~0.28 µs a query beyond the control, against 1.46 now): query matching's table, one LRU element written on the query's CPU and read and deleted on the answer's, about half the price, which a cheaper table would only lower by changing what a flood of queries pushes out (the LRU's contract); and learn's walk of answers the repeat cache cannot reuse, which a bigger cache would catch in this bench (an authoritative server's answers never change) but not behind a caching resolver, whose TTLs count down every second.",
    '',
]


def dns_figures(rows):
    """{way: (max queries/s case, p99 case)} of the DNS path, where both were measured."""
    by = {c["case"]: c for c in rows}
    out = {}
    for way in DNS_WAYS:
        q, l = by.get("dns_%s_qps" % way), by.get("dns_%s_latency" % way)
        if q and l and q["qps"] and l["p99_us"] is not None:
            out[way] = (q, l)
    return out


def dns_way_table(figs):
    """The ways side by side: max rate against nothing, p99 against the XDP control."""
    out = ["| way | what | max queries/s | × nothing | p99 µs | × xdp_noop | XDP ns/answer | TC egress ns/query |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    ctl = figs["xdp_noop"][1]["p99_us"]
    for way, (q, l) in figs.items():
        out.append("| `%s` | %s | %s | %.2f | %s | %.2f | %s | %s |" % (
            way, q["label"].split(": max")[0], figure(q), q["ratio"], figure(l), l["p99_us"] / ctl,
            prog_ns(l, "xdp"), prog_ns(l, "tc_egress")))
    return out


def prog_ns(latency_case, hook):
    """The program's own ns per run on a hook (bpf_stats over the paced runs), or a dash."""
    p = latency_case.get("prog_ns_per_run", {}).get(hook)
    return "%.0f (%s)" % (p["ns"], p["name"]) if p else "–"


def dns_split_lines(rows):
    """The DNS path's split of cloudsteer's cost into its pieces, from this run's figures:
    each piece as the time per query it adds at the max rate (1 / max queries/s, which adds
    up along a chain of ways) and its p99; nothing when a way is missing."""
    figs = dns_figures(rows)
    if any(w not in figs for w in DNS_WAYS[:-1]):
        return []
    per_q = {w: 1e6 / q["qps"] for w, (q, _) in figs.items()}  # µs per query at the max rate
    p99 = {w: l["p99_us"] for w, (_, l) in figs.items()}
    samples = figs["nothing"][0]["samples"]
    spread = max(abs(s / figs["nothing"][0]["qps"] - 1) for s in samples)
    total = per_q["cloudsteer"] - per_q["nothing"]
    lines = ["### Where cloudsteer's cost goes", ""] + dns_way_table(figs) + [""]
    lines += ["In this run cloudsteer made each query cost %.2f µs more than nothing at the max rate "
              "(1 / max queries/s: %.2f against %.2f µs; %.2f × nothing's rate), and its p99 at "
              "the paced rate was %s µs against %s. Along the chain of ways, piece by piece "
              "(time per query added; %% of cloudsteer's extra; p99 added):" % (
                  total, per_q["cloudsteer"], per_q["nothing"], figs["cloudsteer"][0]["ratio"],
                  figure(figs["cloudsteer"][1]), figure(figs["nothing"][1])), ""]
    for i, (piece, holds, way, base) in enumerate(DNS_PIECES):
        d = per_q[way] - per_q[base]
        rate = figs[way][0]["qps"] / figs[base][0]["qps"]
        noise = " (within nothing's run-to-run spread of ±%.1f %%)" % (100 * spread)             if abs(rate - 1) <= spread else ""
        if i == 3:
            lines += ["", "Inside learn's share, measured alone:", ""]
        lines.append("- **%s** (%s; `%s` against `%s`): %+.2f µs a query, %.0f %%; %.2f × the max "
                     "rate%s; p99 %+.0f µs" % (piece, holds, way, base, d,
                                             100 * d / total if total else 0, rate, noise,
                                             p99[way] - p99[base]))
    # what the two measured alone leave of learn's step
    walk = (per_q["xdp_learn_only"] - per_q["xdp_noop"]) - (per_q["tc_noop"] - per_q["nothing"])
    lines += ["", "What that leaves of learn's share for its walk of the answers "
              "(`xdp_learn_only` against `xdp_noop`, less the clsact hook's price): %+.2f µs a "
              "query, %.0f %% of cloudsteer's extra. p99 is one percentile of each round's paced "
              "run, median of the rounds; read its differences against nothing's own rounds: %s µs." % (
                  walk, 100 * walk / total if total else 0,
                  ", ".join("%.0f" % v for v in figs["nothing"][1]["samples"])), ""]
    return lines + DNS_FINDINGS


def write_doc(path, cases, measured, env, plots, elapsed, ran, failed):
    with_target = target_views(cases)
    lost = [c for c in with_target if missed(c)]
    lines = ["# cloudsteer benchmarks", "",
             "Written by `make bench` (scripts/bench-report.py) from `build/bench.json`; do not "
             "edit by hand. Every figure below comes from one run on one machine, and every "
             "ratio is against a baseline measured side by side in the same run, so the noise "
             "of a shared machine cancels out as far as it can. How each case was measured is "
             "in its `method` member in `build/bench.json`.", ""]
    lines += env_lines(env, elapsed, ran) + [""]
    if failed:
        lines += ["## Parts that failed", "", "These parts measured nothing in this run:", ""]
        lines += failure_lines(failed)
    lines += ["## Targets", ""]
    if with_target:
        lines += md_table(with_target) + [""]
    lines += ["## Where cloudsteer loses", ""]
    if lost:
        lines += ["These targets were missed in this run:", ""] + md_table(lost) + [""]
    else:
        lines += ["Every target was met in this run. The sections below also show where "
                  "cloudsteer costs more than doing nothing; read the ratios.", ""]
    for part in PARTS:
        rows = [c for c in cases if c["part"] == part]
        if not rows:
            continue
        lines += ["## " + TITLES[part], "", INTROS[part], ""]
        if part == "per_packet":
            lines += controls_lines(rows) + xdp_lines(rows) + chain_header_lines(rows)
        if part == "dns_path":
            lines += dns_split_lines(rows)
        lines += ["Measured %s." % measured.get(part, "?"), ""] + generator_line(rows)
        lines += md_table(rows) + [""]
        if part == "per_packet":
            for prog, what, name in plots:
                lines += ["![%s: cost against %s](%s)" % (prog, what, name), ""]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines))
    os.replace(tmp, path)


def write_readme_block(path, cases, env):
    """The README's bench block: each target and whether this run met it. The
    figures themselves are in docs/benchmarks.md, which the README links."""
    with open(path) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        die("%s has no bench markers" % path)
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    rows, seen = [], {}
    for c in target_views(cases):  # a target of the per-packet grid is one row, over every size
        key = (c["base"], c["target"]) if on_grid(c) else (c["case"], c["target"])
        if key not in seen:
            seen[key] = len(rows)
            rows.append((key[0], c, []))
        rows[seen[key]][2].append(c)
    met = sum(1 for _, _, cs in rows if all(c.get("meets") for c in cs))
    pending = sum(1 for _, _, cs in rows if all(unmeasured(c) for c in cs))
    block = ["", "From the last `make bench` (%s, kernel %s, %s x%s): %d of %d targets met%s." % (
        env.get("date", "?")[:10], env.get("kernel", "?"), env.get("cpu", "?"), env.get("cpus", "?"),
        met, len(rows) - pending, ", %d not measured yet" % pending if pending else ""),
        "", "| case | what | figure | target | |", "|---|---|---:|---|---|"]
    for name, first, cs in rows:
        figs = sorted({figure(c) for c in cs}, key=lambda f: float(f.split()[0].replace(",", ""))
                      if f[0].isdigit() else 0)
        n_missed = sum(1 for c in cs if missed(c))
        said = verdict(first) if unmeasured(first) else "met" if not n_missed else "missed"
        if len(cs) > 1:
            said += " at %d of %d sizes" % (len(cs) - n_missed if not n_missed else n_missed, len(cs))
        fig = figs[0] if len(figs) == 1 else figs[0] + " to " + figs[-1]
        if not unmeasured(first):
            fig += " " + UNIT_TEXT.get(first["unit"], first["unit"])
        block.append("| `%s` | %s | %s | %s | **%s** |" % (name, label(first), fig, first["target"], said))
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(head + BEGIN + "\n".join(block) + "\n\n" + END + tail)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", required=True, help="directory of PART.json files")
    ap.add_argument("--env", required=True, help="bench-env.json")
    ap.add_argument("--json", required=True, help="where to write every case")
    ap.add_argument("--doc", help="docs/benchmarks.md to write")
    ap.add_argument("--plots", help="directory for the PNG plots")
    ap.add_argument("--readme", help="README.md whose bench block to rewrite")
    ap.add_argument("--elapsed", help="seconds the whole bench took")
    ap.add_argument("--ran", default=" ".join(PARTS), help="the parts this run ran (default: all)")
    a = ap.parse_args()

    cases, measured = load_parts(a.parts)
    failed = load_failures(a.parts)
    for part, text in failed.items():
        print("bench-report: %s failed: %s" % (part, " / ".join(text.splitlines())))
    if not cases and not failed:
        die("no part wrote results in " + a.parts)
    env = {}
    if os.path.exists(a.env):
        with open(a.env) as f:
            env = json.load(f)
    tmp = a.json + ".tmp"
    with open(tmp, "w") as f:
        f.write("[\n" + ",\n".join("  " + json.dumps(c) for c in cases) + ("\n" if cases else "") + "]\n")
    os.replace(tmp, a.json)
    plots = []
    if a.plots and cases:
        if not shutil.which("gnuplot"):
            die("gnuplot is missing (scripts/install-deps.sh bench installs it)")
        os.makedirs(a.plots, exist_ok=True)
        plots = make_plots(cases, a.plots)
    if a.doc:
        os.makedirs(os.path.dirname(a.doc) or ".", exist_ok=True)
        write_doc(a.doc, cases, measured, env, plots, a.elapsed, a.ran.split(), failed)
    if a.readme and cases:
        write_readme_block(a.readme, cases, env)
    print("bench-report: %d cases -> %s%s%s" % (len(cases), a.json, ", " + a.doc if a.doc else "",
                                                ", " + a.readme if a.readme else ""))


if __name__ == "__main__":
    main()
