#!/usr/bin/env python3
"""oracle.py - decode the DNS responses of a capture with tshark, the
independent decoder, into the oracle shape of shared/dns-corpus/README.md.

  oracle.py --pcap FILE [--server NAME] > FILE.oracle.jsonl

Runs `tshark -n -r FILE -Y 'dns.flags.response==1' -T json` and reduces each
DNS message to one JSON object: frame (1-based), dns_index (several messages
can share a TCP segment), transport (udp4, udp6, tcp), ip_version, vlan,
src/dst/sport/dport, ip_fragment_frames and tcp_segment_frames (the frames of
a message that spans several, else null), dns_id, opcode, qname (lower case,
no trailing dot), qname_raw, qtype, rcode, rcode_name, truncated, aa, dns_len,
counts, answer_types (every answer record type in wire order), answers (the
A/AAAA records of the answer section in wire order: name, type, class, ip,
ttl as the raw 32-bit value), cname_chain (every CNAME of the answer section
in wire order: name, target, ttl), dname, authority_types, authority_addrs,
additional_types, additional_addrs, edns.

tshark's JSON repeats keys (two records that print alike, two DNS messages in
one frame, the frames of a reassembled message); the reduction keeps every
repeat, in order.
"""
import argparse
import json
import os
import subprocess
import sys

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE"}
TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT",
         28: "AAAA", 33: "SRV", 39: "DNAME", 41: "OPT", 43: "DS", 44: "SSHFP", 46: "RRSIG",
         47: "NSEC", 48: "DNSKEY", 50: "NSEC3", 51: "NSEC3PARAM", 64: "SVCB", 65: "HTTPS",
         255: "ANY", 257: "CAA"}
CLASSES = {1: "IN", 3: "CH", 4: "HS", 254: "NONE", 255: "ANY"}


class Obj(list):
    """A JSON object as its list of (key, value) pairs, repeats kept."""

    def all(self, key):
        return [v for k, v in self if k == key]

    def get(self, key, default=None):
        for k, v in self:
            if k == key:
                return v
        return default


def num(v, default=None):
    if v is None:
        return default
    if isinstance(v, list):
        v = v[0]
    return int(v, 0) if isinstance(v, str) else int(v)


def flat(values):
    out = []
    for v in values:
        out.extend(v if isinstance(v, list) else [v])
    return out


def tname(t):
    return TYPES.get(t, "TYPE%d" % t)


def dname_text(s):
    if s in ("<Root>", ""):
        return ""
    return s.rstrip(".")


def records(section):
    """The records of a section (Obj of summary -> fields), in wire order."""
    out = []
    if not isinstance(section, Obj):
        return out
    for _, rr in section:
        if not isinstance(rr, Obj):
            continue
        t = num(rr.get("dns.resp.type"), 0)
        rec = {"name": dname_text(rr.get("dns.resp.name", "")), "type": tname(t)}
        if t != 41:
            rec["class"] = CLASSES.get(num(rr.get("dns.resp.class"), 1), "?")
            rec["ttl"] = num(rr.get("dns.resp.ttl"), 0)
        if t == 1:
            rec["ip"] = rr.get("dns.a")
        elif t == 28:
            rec["ip"] = rr.get("dns.aaaa")
        elif t == 5:
            rec["target"] = dname_text(rr.get("dns.cname", ""))
        elif t == 39:
            rec["target"] = dname_text(rr.get("dns.dname", ""))
        elif t == 41:
            rec["udp_size"] = num(rr.get("dns.rr.udp_payload_size"), 0)
            z = rr.get("dns.resp.z_tree") or Obj()
            rec["do"] = num(z.get("dns.resp.z.do"), 0) == 1
            rec["version"] = num(rr.get("dns.resp.edns0_version"), 0)
            rec["options"] = [num(o.get("dns.opt.code"), 0) for o in rr.all("dns.opt")
                              if isinstance(o, Obj)]
        out.append(rec)
    return out


def addrs(recs):
    return [{"name": r["name"].lower(), "type": r["type"], "ip": r["ip"], "ttl": r["ttl"]}
            for r in recs if r["type"] in ("A", "AAAA")]


def reduce_frame(pcap, pkt, server):
    layers = pkt.get("_source").get("layers")
    frame = num(layers.get("frame").get("frame.number"))
    ip4, ip6 = layers.get("ip"), layers.get("ipv6")
    udp, tcp = layers.get("udp"), layers.get("tcp")
    vlans = layers.all("vlan")
    ipl = ip4 if ip4 is not None else ip6
    pfx = "ip" if ip4 is not None else "ipv6"
    frag = None
    fr = layers.get("ip.fragments") or layers.get("ipv6.fragments")
    if fr is not None:
        frag = [num(x) for x in flat(fr.all("ip.fragment") + fr.all("ipv6.fragment"))]
    seg = None
    sg = layers.get("tcp.segments")
    if sg is not None:
        seg = [num(x) for x in flat(sg.all("tcp.segment"))]
    if tcp is not None:
        transport, l4, lp = "tcp", tcp, "tcp"
    else:
        transport, l4, lp = ("udp4" if ip4 is not None else "udp6"), udp, "udp"
    out = []
    for idx, dns in enumerate(layers.all("dns")):
        fl = dns.get("dns.flags_tree") or Obj()
        if num(fl.get("dns.flags.response"), 0) != 1:
            continue
        qs = dns.get("Queries")
        qlist = [q for _, q in qs] if isinstance(qs, Obj) else []
        q0 = qlist[0] if qlist else Obj()
        qraw = dname_text(q0.get("dns.qry.name", ""))
        an = records(dns.get("Answers"))
        ns = records(dns.get("Authoritative nameservers"))
        ar = records(dns.get("Additional records"))
        if transport == "tcp":
            dns_len = num(dns.get("dns.length"), 0)
        else:
            dns_len = num(udp.get("udp.length"), 8) - 8
        rcode = num(fl.get("dns.flags.rcode"), 0)
        opt = [r for r in ar if r["type"] == "OPT"]
        row = {
            "pcap": os.path.basename(pcap), "frame": frame, "dns_index": idx,
            "transport": transport, "ip_version": 4 if ip4 is not None else 6,
            "vlan": bool(vlans), "vlan_ids": [num(v.get("vlan.id")) for v in vlans],
            "src": ipl.get(pfx + ".src"), "dst": ipl.get(pfx + ".dst"),
            "sport": num(l4.get(lp + ".srcport")), "dport": num(l4.get(lp + ".dstport")),
            "server": server,
            "ip_fragment_frames": frag,
            "tcp_segment_frames": seg if idx == 0 else None,
            "dns_id": num(dns.get("dns.id")),
            "opcode": num(fl.get("dns.flags.opcode"), 0),
            "qname": qraw.lower(), "qname_raw": qraw,
            "qtype": tname(num(q0.get("dns.qry.type"), 0)),
            "rcode": rcode, "rcode_name": RCODES.get(rcode, str(rcode)),
            "truncated": num(fl.get("dns.flags.truncated"), 0) == 1,
            "aa": num(fl.get("dns.flags.authoritative"), 0) == 1,
            "dns_len": dns_len,
            "counts": {"qd": num(dns.get("dns.count.queries"), 0),
                       "an": num(dns.get("dns.count.answers"), 0),
                       "ns": num(dns.get("dns.count.auth_rr"), 0),
                       "ar": num(dns.get("dns.count.add_rr"), 0)},
            "answer_types": [r["type"] for r in an],
            "answers": [dict(a, **{"class": r["class"]}) for a, r in
                        zip(addrs(an), [r for r in an if r["type"] in ("A", "AAAA")])],
            "cname_chain": [{"name": r["name"].lower(), "target": r["target"].lower(),
                             "ttl": r["ttl"], "class": r["class"]}
                            for r in an if r["type"] == "CNAME"],
            "dname": [{"name": r["name"].lower(), "target": r["target"].lower(), "ttl": r["ttl"]}
                      for r in an if r["type"] == "DNAME"],
            "answer_names_mixed_case": any(r["name"] != r["name"].lower() for r in an),
            "authority_types": [r["type"] for r in ns],
            "authority_addrs": addrs(ns),
            "additional_types": [r["type"] for r in ar],
            "additional_addrs": addrs(ar),
            "edns": ({k: opt[0][k] for k in ("udp_size", "do", "version", "options")}
                     if opt else None),
        }
        if "_ws.malformed" in [k for k, _ in layers] or dns.get("_ws.malformed") is not None:
            row["malformed"] = True
        out.append(row)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--server", default="")
    ap.add_argument("--tshark", default="tshark")
    a = ap.parse_args()
    p = subprocess.run([a.tshark, "-n", "-r", a.pcap, "-Y", "dns.flags.response==1", "-T", "json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.stderr.write("oracle.py: tshark failed: %s\n" % p.stderr.decode(errors="replace"))
        return 1
    pkts = json.loads(p.stdout.decode("utf-8", errors="replace"), object_pairs_hook=Obj)
    for pkt in pkts:
        for row in reduce_frame(a.pcap, pkt, a.server):
            print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
