#!/usr/bin/env python3
"""expect.py - the reference learner: what cloudsteer must learn from a capture.

Reads a tshark-derived oracle (JSONL, one object per DNS response; the shape of
shared/dns-corpus/*.oracle.jsonl, or what oracle.py writes) and a cloudsteer
config, and applies the rules of docs/design.md and docs/concepts.md,
independently of bpf/ and user/:

  * only responses with QR=1, OPCODE QUERY, RCODE NOERROR, exactly one question;
  * UDP, or TCP when the whole message sits in one segment (the oracle's
    tcp_segment_frames is null); IP fragments are never whole in one frame;
  * the answer section only, walked in wire order, at most learn.max_records
    records (default 64); the chain starts with the question name and grows
    by the target of every CNAME whose owner is already on it (a DNAME works
    through the CNAME the server synthesizes); an A/AAAA record is learned
    when its owner is on the chain at that point;
  * the winning rule is the most specific pattern over the question and every
    chain name: deeper suffix first, at the same depth "=x" > "*.x" > "x";
    on a tie the name nearer the question wins; one rule per response;
  * TTL: the top bit set counts as 0, then clamp to the rule's [min, max];
  * AAAA records that hold IPv4-mapped addresses (::ffff:0:0/96) are skipped;
  * a TC answer teaches the records it holds whole (the oracle lists only
    whole records);
  * "new" is true the first time (owner, ip) is learned in the run.

Bounds of the contract header (headers/cloudsteer.h) that a capture can reach
are modelled too, each named where it is used: CS_MSG_MAX, CS_CHAIN_MAX,
CS_ADDRS_MAX.

The config is read as JSON: the corpus configs are written in YAML's flow
style (a JSON document with '#' comment lines), which libyaml and Python both
read. Only learn.ttl, learn.max_records and rules[].match/ttl are used.

  expect.py --config FILE --oracle FILE.jsonl [--explain]
prints one JSON object per expected record:
  {"frame","qname","name","rule","ip","ttl","new"}
and with --explain, a line per response saying why it teaches what it does.
"""
import argparse
import ipaddress
import json
import sys

# headers/cloudsteer.h
CS_MSG_MAX = 4096         # DNS message octets copied for parsing
CS_CHAIN_MAX = 16         # question name + CNAME targets on one chain
CS_ADDRS_MAX = 512        # A/AAAA records learned from one response (= CS_RECORDS_MAX)
CS_RECORDS_DEFAULT = 512  # learn.max_records default (= CS_RECORDS_MAX)
TTL_DEFAULT = {"min": 60, "max": 86400, "grace": 30}

EXACT, WILD, SUBTREE = 0, 1, 2
KINDS = 3


def load_config(path):
    """A corpus config: JSON, full-line '#' comments allowed."""
    with open(path) as f:
        text = "".join(l for l in f if not l.lstrip().startswith("#"))
    conf = json.loads(text)
    learn = conf.get("learn", {})
    dflt = dict(TTL_DEFAULT)
    dflt.update(learn.get("ttl", {}))
    out = {"max_records": int(learn.get("max_records", CS_RECORDS_DEFAULT)), "patterns": []}
    for ri, rule in enumerate(conf.get("rules", [])):
        if "file" in rule:
            raise SystemExit("expect.py: rule files are not supported in corpus configs")
        ttl = dict(dflt)
        ttl.update(rule.get("ttl", {}))
        match = rule["match"]
        if isinstance(match, str):
            match = [match]
        for text in match:
            out["patterns"].append(parse_pattern(text, ri, ttl))
    return out


def parse_pattern(text, rule, ttl):
    kind, name = SUBTREE, text
    if name.startswith("="):
        kind, name = EXACT, name[1:]
    elif name.startswith("*."):
        kind, name = WILD, name[2:]
    name = name.rstrip(".").lower()
    shown = {EXACT: "=", WILD: "*.", SUBTREE: ""}[kind] + name
    return {"kind": kind, "labels": name.split("."), "text": shown, "rule": rule,
            "ttl_min": int(ttl["min"]), "ttl_max": int(ttl["max"])}


def best_match(name, patterns):
    """(score, pattern) of the most specific pattern for `name`, or (0, None)."""
    labels = name.lower().split(".") if name else []
    best = (0, None)
    for p in patterns:
        d = len(p["labels"])
        if d > len(labels) or labels[len(labels) - d:] != p["labels"]:
            continue
        if p["kind"] == EXACT and d != len(labels):
            continue
        if p["kind"] == WILD and d == len(labels):
            continue
        score = d * 4 + (KINDS - p["kind"])
        if score > best[0]:
            best = (score, p)
    return best


def clamp_ttl(raw, p):
    ttl = 0 if raw & 0x80000000 else raw
    return min(max(ttl, p["ttl_min"]), p["ttl_max"])


def norm_ip(s):
    return str(ipaddress.ip_address(s))


def is_v4mapped(ip):
    a = ipaddress.ip_address(ip)
    return a.version == 6 and a.ipv4_mapped is not None


def skip_reason(r):
    """Why a response teaches nothing whatever the rules say, or None."""
    if r.get("ip_fragment_frames"):
        return "IP fragments: the message is never whole in one frame"
    if r.get("transport") == "tcp" and r.get("tcp_segment_frames"):
        return "TCP message spans segments %s" % r["tcp_segment_frames"]
    if r.get("opcode", 0) not in (0, None):
        return "opcode %s" % r.get("opcode")
    if r.get("rcode") != 0:
        return "rcode %s" % r.get("rcode_name", r.get("rcode"))
    if r.get("counts", {}).get("qd") != 1:
        return "qdcount %s" % r.get("counts", {}).get("qd")
    if r.get("dns_len", 0) > CS_MSG_MAX:
        return "message of %d octets > CS_MSG_MAX" % r["dns_len"]
    return None


def walk(r, max_records):
    """The chain and the A/AAAA records on it, in wire order."""
    types = r.get("answer_types", [])
    if (types.count("CNAME") != len(r.get("cname_chain", [])) or
            types.count("A") + types.count("AAAA") != len(r.get("answers", []))):
        raise ValueError("oracle frame %d: answer_types do not agree with cname_chain/answers"
                         % r["frame"])
    chain = [r["qname"].lower()]
    cnames = iter(r.get("cname_chain", []))
    addrs_in = iter(r.get("answers", []))
    addrs, notes = [], []
    for i, t in enumerate(types):
        if i >= max_records:
            notes.append("walk capped at %d records" % max_records)
            break
        if t == "CNAME":
            c = next(cnames)
            if c.get("class", "IN") != "IN":
                continue
            if c["name"].lower() in chain:
                if len(chain) >= CS_CHAIN_MAX:
                    notes.append("chain capped at CS_CHAIN_MAX")
                else:
                    chain.append(c["target"].lower())
        elif t in ("A", "AAAA"):
            a = next(addrs_in)
            if a.get("class", "IN") != "IN":
                continue
            owner = a["name"].lower()
            if owner not in chain:
                notes.append("%s %s off the chain" % (short_name(owner), a["ip"]))
            elif len(addrs) >= CS_ADDRS_MAX:
                notes.append("address cap CS_ADDRS_MAX")
            else:
                addrs.append((owner, a))
    return chain, addrs, notes


def short_name(name, width=48):
    if len(name) <= width:
        return name
    return "%s..%s(%d chars)" % (name[:20], name[-20:], len(name))


def chain_text(chain):
    names = [short_name(n) for n in chain]
    if len(names) > 4:
        names = names[:2] + ["...(%d names)" % len(names)] + names[-1:]
    return " > ".join(names)


def expect(rows, conf, explain=None):
    """Expected records, in frame and wire order. explain(frame, text) if given."""
    seen = set()
    out = []
    for r in sorted(rows, key=lambda r: (r["frame"], r.get("dns_index", 0))):
        frame = r["frame"]
        why = skip_reason(r)
        if why:
            explain and explain(r, why)
            continue
        chain, addrs, notes = walk(r, conf["max_records"])
        best = (0, None)
        for name in chain:
            m = best_match(name, conf["patterns"])
            if m[0] > best[0]:      # strictly: the name nearer the question keeps a tie
                best = m
        p = best[1]
        if not p:
            explain and explain(r, "no rule matches %s" % chain_text(chain))
            continue
        n = 0
        for owner, a in addrs:
            if a["type"] == "AAAA" and is_v4mapped(a["ip"]):
                notes.append("%s is IPv4-mapped" % a["ip"])
                continue
            ip = norm_ip(a["ip"])
            key = (owner, ip)
            out.append({"frame": frame, "qname": r["qname"].lower(), "name": owner,
                        "rule": p["text"], "ip": ip, "ttl": clamp_ttl(int(a["ttl"]), p),
                        "new": key not in seen})
            seen.add(key)
            n += 1
        explain and explain(r, "rule %s via %s: %d records%s" % (
            p["text"], chain_text(chain), n, "; " + "; ".join(notes) if notes else ""))
    return out


def load_oracle(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--oracle", required=True)
    ap.add_argument("--explain", action="store_true")
    a = ap.parse_args()
    conf = load_config(a.config)
    rows = load_oracle(a.oracle)
    ex = None
    if a.explain:
        ex = lambda r, t: print("# frame %d %s %s: %s" % (r["frame"], r["qname"], r.get("qtype", ""), t))
    for rec in expect(rows, conf, ex):
        print(json.dumps(rec))


if __name__ == "__main__":
    sys.exit(main())
