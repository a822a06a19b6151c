#!/usr/bin/env python3
"""compare.py - run `cloudsteer replay --json` on a capture and check every
response against the reference learner (expect.py) fed by the tshark oracle.

  compare.py --suite NAME --config FILE --oracle FILE.jsonl --pcap FILE
             [--cloudsteer build/cloudsteer]

Prints one line per DNS response of the oracle (frames that hold several
messages count once):
  PASS: SUITE: frame N TRANSPORT QNAME QTYPE: what was learned (or why nothing)
  FAIL: SUITE: frame N TRANSPORT QNAME QTYPE: every mismatch, field by field
and a FAIL for any record that replay reports on a frame that is not a
response. Exit status 1 if anything failed.
"""
import argparse
import collections
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import expect  # noqa: E402

FIELDS = ("qname", "name", "rule", "ip", "ttl", "new")


def abbrev(name, width=60):
    """Long names shortened for one-line reports (the records keep them whole)."""
    if len(name) <= width:
        return name
    return "%s..%s(%d chars)" % (name[:24], name[-24:], len(name))


def short(rec):
    return "%s %s ttl=%s rule=%s new=%s" % (rec["name"], rec["ip"], rec["ttl"], rec["rule"],
                                          str(rec["new"]).lower())


def diff(exp, act):
    """Every mismatch between two record lists of one frame, as text."""
    if [{k: r[k] for k in FIELDS} for r in exp] == [{k: r[k] for k in FIELDS} for r in act]:
        return []
    out = []
    ek = collections.OrderedDict()
    for i, r in enumerate(exp):
        ek.setdefault((r["name"], r["ip"]), []).append((i, r))
    ak = collections.OrderedDict()
    for i, r in enumerate(act):
        ak.setdefault((r["name"], r["ip"]), []).append((i, r))
    for k in ek:
        el, al = ek[k], ak.get(k, [])
        for j, (i, e) in enumerate(el):
            if j >= len(al):
                out.append("missing #%d %s" % (i, short(e)))
                continue
            a = al[j][1]
            bad = ["%s expected %s got %s" % (f, json.dumps(e[f]), json.dumps(a[f]))
                   for f in FIELDS if e[f] != a[f]]
            if bad:
                out.append("%s %s: %s" % (k[0], k[1], ", ".join(bad)))
        for i, a in al[len(el):]:
            out.append("extra #%d %s" % (i, short(a)))
    for k in ak:
        if k not in ek:
            for i, a in ak[k]:
                out.append("extra #%d %s" % (i, short(a)))
    if not out:
        out.append("same records in another order: expected %s, got %s" % (
            [r["ip"] for r in exp], [r["ip"] for r in act]))
    return out


def run_replay(cs, config, pcap):
    p = subprocess.run([cs, "replay", "--config", config, "--json", pcap],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError("replay exited %d: %s" % (p.returncode, p.stderr.strip()[-500:]))
    recs = []
    for line in p.stdout.splitlines():
        if line.strip():
            r = json.loads(line)
            r = {k: r.get(k) for k in ("frame",) + FIELDS}
            r["ip"] = expect.norm_ip(r["ip"])
            recs.append(r)
    return recs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--suite", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--oracle", required=True)
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--cloudsteer", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "cloudsteer"))
    ap.add_argument("--verbose", action="store_true", help="print the expected records of PASS frames too")
    a = ap.parse_args()
    suite = a.suite

    conf = expect.load_config(a.config)
    rows = expect.load_oracle(a.oracle)
    why = {}

    def note(r, text):
        why.setdefault(r["frame"], []).append(text)

    try:
        exp = expect.expect(rows, conf, note)
        act = run_replay(a.cloudsteer, a.config, a.pcap)
    except Exception as e:  # noqa: BLE001 - report any breakage as one failure
        print("FAIL: %s: run: %s" % (suite, e))
        return 1

    by_exp = collections.defaultdict(list)
    for r in exp:
        by_exp[r["frame"]].append(r)
    by_act = collections.defaultdict(list)
    for r in act:
        by_act[r["frame"]].append(r)
    frames = collections.OrderedDict()
    for r in sorted(rows, key=lambda r: (r["frame"], r.get("dns_index", 0))):
        frames.setdefault(r["frame"], []).append(r)

    failed = 0
    totals = collections.Counter()
    for frame, rs in frames.items():
        r0 = rs[0]
        label = "frame %d %s %s %s" % (frame, r0.get("transport", "?"), abbrev(r0["qname"]),
                                       r0.get("qtype", "?"))
        if len(rs) > 1:
            label += " (+%d more messages)" % (len(rs) - 1)
        e, g = by_exp.get(frame, []), by_act.get(frame, [])
        d = diff(e, g)
        totals["records"] += len(e)
        totals["new"] += sum(1 for x in e if x["new"])
        if d:
            failed += 1
            print("FAIL: %s: %s: %s [reference: %s]" % (suite, label, "; ".join(d),
                                                        " | ".join(why.get(frame, []))))
        else:
            print("PASS: %s: %s: %s" % (suite, label, " | ".join(why.get(frame, []))))
            if a.verbose:
                for x in e:
                    print("    " + short(x))
    for frame in sorted(set(by_act) - set(frames)):
        failed += 1
        print("FAIL: %s: frame %d: replay learned from a frame that holds no DNS response: %s"
              % (suite, frame, "; ".join(short(x) for x in by_act[frame])))
    print("%s: %d responses, %d records expected (%d new), %d replayed, %d frames differ"
          % (suite, len(frames), totals["records"], totals["new"], len(act), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
