#!/usr/bin/env python3
"""zones.py - write the zones the live corpus servers load.

  zones.py DIR [--ns4 ADDR] [--ns6 ADDR]

Writes DIR/<zone>.zone (RFC 1035 master files, read by knotd, named and, as
the back end of the resolvers, by the same servers) for the zones below, and
DIR/zones.txt with their names. The rules of tests/corpus/rules.yaml name
example.test, cloudapp.test, cdn.test, wild.test and big.test; other.test is
under no rule (chains that enter or leave the ruled names).

What the zones hold, so the captures have it:
  single and many A/AAAA (1, 2, 3, 8, 16, 20, 40, 42, 60, 72, 74, 100 records),
  CNAME chains of 1..18 hops, in the zone and leaving it (cloudapp.test ->
  cdn.test -> other.test), CNAME loops, CNAME to NXDOMAIN and to NODATA,
  DNAME, wildcards (A, AAAA, CNAME, and a name that exists beside them),
  long names (253 characters, 122 labels), TTL 0, 1, 86400, 2^31-1 and
  top-bit TTLs (2^31, 2^32-1), a delegation (glue in additional), MX with
  addresses in additional, TXT that needs TCP, edge addresses (0.0.0.0,
  255.255.255.255, ::, ::ffff:192.0.2.1 (IPv4-mapped), fe80::1).
"""
import argparse
import os

LONG = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 44 + "-end"])   # + .example.test = 253
MANY_LABELS = ".".join(["x"] * 120)                                     # + .example.test = 122 labels


def soa(zone, ns4, ns6):
    return [
        "$ORIGIN %s." % zone,
        "$TTL 300",
        "@ 3600 IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60",
        "@ 3600 IN NS ns1.example.test.",
    ] + ([
        "ns1 3600 IN A %s" % ns4,
        "ns1 3600 IN AAAA %s" % ns6,
    ] if zone == "example.test" else [])


def example(ns4, ns6):
    z = soa("example.test", ns4, ns6)
    z += [
        "www A 192.0.2.10",
        "www AAAA 2001:db8::10",
        "alias-ip A 192.0.2.10",
        "single A 198.51.100.7",
        "v6only AAAA 2001:db8:0:1::1",
        "dual A 192.0.2.21", "dual A 192.0.2.22",
        "dual AAAA 2001:db8:0:2::21", "dual AAAA 2001:db8:0:2::22", "dual AAAA 2001:db8:0:2::23",
        "edgeips A 0.0.0.0", "edgeips A 10.0.0.1", "edgeips A 127.0.0.1", "edgeips A 255.255.255.255",
        "edgeips AAAA ::", "edgeips AAAA ::1", "edgeips AAAA ::ffff:192.0.2.1",
        "edgeips AAAA fe80::1", "edgeips AAAA ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "ttl0 0 A 192.0.2.100", "ttl0 0 AAAA 2001:db8::100",
        "ttl1 1 A 192.0.2.101",
        "ttl86400 86400 A 192.0.2.103",
        "ttlmax 2147483647 A 192.0.2.104", "ttlmax 2147483647 AAAA 2001:db8::104",
        "ttl2p31 2147483648 A 192.0.2.105",
        "ttlbig 4294967295 A 192.0.2.106",
        "%s A 192.0.2.50" % LONG, "%s AAAA 2001:db8::50" % LONG,
        "longcname CNAME %s" % LONG,
        "%s A 192.0.2.52" % MANY_LABELS,
        "MiXeDcAsE A 192.0.2.36",
        "host-01 A 192.0.2.31", "123 A 192.0.2.32", "xn--bcher-kva A 192.0.2.34",
        "cname1 CNAME www",
        "chain2 CNAME chain2b", "chain2b CNAME www",
        "chain3 CNAME login.cloudapp.test.",
        "cname-ext CNAME www.cloudapp.test.",
        "cname-other CNAME plain.other.test.",
        "cname-nx CNAME does-not-exist",
        "cname-nodata CNAME txt",
        "olddept DNAME cloudapp.test.",
        "sub NS ns.sub", "ns.sub A 192.0.2.253",
        "txt TXT \"v=spf1 -all\"",
        "mx MX 10 mail1", "mx MX 20 mail2", "mail1 A 192.0.2.25", "mail2 A 192.0.2.26",
        "mail1 AAAA 2001:db8::25",
    ]
    for i in range(1, 9):
        z.append("multi8 A 203.0.113.%d" % i)
    for i in range(1, 17):
        z.append("multi16 A 203.0.113.%d" % (100 + i))
    # hop18 -> hop17 -> ... -> hop1 -> www: 18 CNAMEs, past CS_CHAIN_MAX (16 names)
    for i in range(18, 0, -1):
        z.append("hop%d CNAME %s" % (i, "hop%d" % (i - 1) if i > 1 else "www"))
    # 12 hops: question + 12 targets fits CS_CHAIN_MAX
    for i in range(12, 0, -1):
        z.append("mid%d CNAME %s" % (i, "mid%d" % (i - 1) if i > 1 else "dual"))
    return z


def cloudapp(ns4, ns6):
    z = soa("cloudapp.test", ns4, ns6)
    z += [
        "login CNAME edge.cdn.test.",
        "www CNAME edge.cdn.test.",
        "app A 192.0.2.120", "app AAAA 2001:db8:120::1",
        "x A 192.0.2.121",
        "dnamed A 192.0.2.124",
        "direct 30 A 192.0.2.122",
        "chain1 CNAME final.cdn.test.",
        "chain6 CNAME c6-1.cdn.test.",
        "to-other CNAME origin.other.test.",
        "ttlbig 4294967295 A 192.0.2.123",
    ]
    return z


def cdn(ns4, ns6):
    z = soa("cdn.test", ns4, ns6)
    z += [
        "@ A 203.0.113.99",
        "edge 60 CNAME e1",
        "e1 20 A 203.0.113.10", "e1 20 A 203.0.113.11", "e1 20 AAAA 2001:db8:cd::10",
        "final A 203.0.113.20",
        "final2 A 203.0.113.21",
        "loopa CNAME loopb", "loopb CNAME loopa",
    ]
    for i in range(1, 5):
        z.append("c6-%d CNAME c6-%d" % (i, i + 1))
    z.append("c6-5 CNAME origin.other.test.")
    for i in range(6, 1, -1):
        z.append("in%d CNAME in%d" % (i, i - 1))
    z.append("in1 A 203.0.113.61")
    return z


def wild(ns4, ns6):
    z = soa("wild.test", ns4, ns6)
    z += [
        "@ A 192.0.2.76",
        "* A 192.0.2.77", "* AAAA 2001:db8:77::1",
        "explicit A 192.0.2.79", "explicit TXT \"not from the wildcard\"",
        "*.deep A 192.0.2.78",
        "*.cn CNAME edge.cdn.test.",
        "*.cn2 CNAME final2.cdn.test.",
        "*.many 120 A 192.0.2.81", "*.many 120 A 192.0.2.82", "*.many 120 A 192.0.2.83",
    ]
    return z


def big(ns4, ns6):
    z = soa("big.test", ns4, ns6)
    for i in range(1, 17):
        z.append("a16 A 198.18.0.%d" % i)
    for i in range(1, 41):
        z.append("a40 A 198.18.1.%d" % i)
    for i in range(1, 101):
        z.append("a100 A 198.18.2.%d" % i)
    for i in range(1, 73):
        z.append("a72 A 198.18.3.%d" % i)
    # 74 A records: what Knot and BIND fit in a UDP answer of 1232 octets
    for i in range(1, 75):
        z.append("a74 A 198.18.4.%d" % i)
    for i in range(1, 21):
        z.append("aaaa20 AAAA 2001:db8:b16::%x" % i)
    for i in range(1, 43):
        z.append("aaaa42 AAAA 2001:db8:b16:1::%x" % i)
    for i in range(1, 61):
        z.append("aaaa60 AAAA 2001:db8:b16:2::%x" % i)
    for i in range(1, 21):
        z.append("mixed40 A 198.18.5.%d" % i)
        z.append("mixed40 AAAA 2001:db8:b16:5::%x" % i)
    z.append("cname-big CNAME a40")
    # about 2.4 KB: more than an EDNS UDP answer of 1232 octets holds
    z.append("txtbig TXT " + " ".join('"%s"' % (("t%02d" % i) * 67)[:200] for i in range(12)))
    return z


def other(ns4, ns6):
    z = soa("other.test", ns4, ns6)
    z += [
        "origin A 198.51.100.66", "origin AAAA 2001:db8:66::1",
        "plain A 198.51.100.67",
        "to-cloud CNAME app.cloudapp.test.",
        "to-cdn CNAME edge.cdn.test.",
    ]
    return z


ZONES = [("example.test", example), ("cloudapp.test", cloudapp), ("cdn.test", cdn),
         ("wild.test", wild), ("big.test", big), ("other.test", other)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--ns4", default="10.53.0.2")
    ap.add_argument("--ns6", default="2001:db8:53::2")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    for name, fn in ZONES:
        with open(os.path.join(a.dir, name + ".zone"), "w") as f:
            f.write("\n".join(fn(a.ns4, a.ns6)) + "\n")
    with open(os.path.join(a.dir, "zones.txt"), "w") as f:
        f.write("\n".join(n for n, _ in ZONES) + "\n")


if __name__ == "__main__":
    main()
