#!/usr/bin/env python3
"""map_agree.py - the agreed service map's part of the cluster bench
(tests/bench/cluster.sh): how long from an instance's death to the same
map revision on every node.

  map_agree.py --lab P --rounds N --out FILE

In the lab of tests/e2e/cluster.bash (namespaces P-gw1, P-gw2, P-a, P-b,
P-etcd; gateways probing casb-a and casb-b on :3128): each round kills the
health target of casb-a or casb-b (alternately) and polls, every 2 ms, the
chain's map in etcd and both gateways' metrics until etcd's map says the
instance is down and both gateways' tables are built from that map's
revision; then serves the target again and waits until it is up everywhere.
One clock (CLOCK_MONOTONIC of this host); the polling adds up to a few ms.
"""
import argparse
import base64
import ctypes
import json
import os
import signal
import socket
import statistics
import subprocess
import time

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL("libc.so.6", use_errno=True)
MAPKEY = "/cloudsteer/v1/lab/map/casb"
HOST_NS = os.open("/proc/self/ns/net", os.O_RDONLY)


def in_netns(path, fn):
    """fn() with this thread in the namespace at path; back after."""
    fd = os.open(path, os.O_RDONLY) if path else HOST_NS
    try:
        if libc.setns(fd, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), "setns " + str(path))
        return fn()
    finally:
        libc.setns(HOST_NS, CLONE_NEWNET)
        if path:
            os.close(fd)


def http(host, port, method, path, body=b""):
    s = socket.create_connection((host, port), timeout=1)
    try:
        s.sendall(b"%s %s HTTP/1.0\r\nHost: %s\r\nContent-Length: %d\r\n\r\n" %
                  (method.encode(), path.encode(), host.encode(), len(body)) + body)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    finally:
        s.close()
    return out.split(b"\r\n\r\n", 1)[1]


def etcd_map(lab):
    """(mod_revision, {instance: state}) of the chain's map, or (0, {})."""
    body = json.dumps({"key": base64.b64encode(MAPKEY.encode()).decode()}).encode()
    r = json.loads(in_netns("/run/netns/%s-etcd" % lab,
                            lambda: http("10.40.0.1", 2379, "POST", "/v3/kv/range", body)))
    if not r.get("kvs"):
        return 0, {}
    kv = r["kvs"][0]
    v = json.loads(base64.b64decode(kv["value"]))
    return int(kv["mod_revision"]), {i["name"]: i["state"] for i in v["instances"]}


def table_revision(lab, gw):
    text = in_netns("/run/netns/%s-%s" % (lab, gw),
                    lambda: http("127.0.0.1", 9477, "GET", "/metrics")).decode()
    for line in text.splitlines():
        if line.startswith('cloudsteer_cluster_table_revision{chain="casb"}'):
            return int(line.split()[1])
    return -1


def wait_agreed(lab, inst, state, limit_s=30):
    """Seconds until etcd's map says inst is state and both gateways steer
    by that revision; and the revision."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        rev, states = etcd_map(lab)
        if states.get(inst) == state and all(table_revision(lab, g) == rev for g in ("gw1", "gw2")):
            return time.monotonic(), rev
        time.sleep(0.002)
    raise SystemExit("map_agree: %s not agreed %s within %d s" % (inst, state, limit_s))


def serve(lab, ns):
    return subprocess.Popen(["ip", "netns", "exec", "%s-%s" % (lab, ns), "socat",
                             "TCP-LISTEN:3128,reuseaddr,fork", "SYSTEM:true"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lab", required=True)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--pid-a", type=int, required=True, help="casb-a's health target (socat)")
    ap.add_argument("--pid-b", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    pids = {"a": a.pid_a, "b": a.pid_b}
    procs = {}
    down, back, revs = [], [], []
    wait_agreed(a.lab, "casb-a", "up")
    wait_agreed(a.lab, "casb-b", "up")
    try:
        for i in range(a.rounds):
            ns = "ab"[i % 2]
            inst = "casb-" + ns
            t0 = time.monotonic()
            if ns in procs:
                procs.pop(ns).kill()
            else:
                os.kill(pids[ns], signal.SIGTERM)
            t1, rev = wait_agreed(a.lab, inst, "down")
            down.append((t1 - t0) * 1000)
            revs.append(rev)
            procs[ns] = serve(a.lab, ns)
            t2 = time.monotonic()
            t3, _ = wait_agreed(a.lab, inst, "up")
            back.append((t3 - t2) * 1000)
    finally:
        for p in procs.values():
            p.kill()
            p.wait()
    out = {"rounds": a.rounds, "down_ms": [round(x, 1) for x in down], "back_ms": [round(x, 1) for x in back],
           "down_p50_ms": round(statistics.median(down), 1), "down_max_ms": round(max(down), 1),
           "back_p50_ms": round(statistics.median(back), 1), "revisions": revs}
    with open(a.out, "w") as f:
        json.dump(out, f)
    print("cluster: an instance's death to the same map revision on every node: p50 %.0f ms, max %.0f ms "
          "(%d rounds); back up: p50 %.0f ms" % (out["down_p50_ms"], out["down_max_ms"], a.rounds,
                                                  out["back_p50_ms"]))


if __name__ == "__main__":
    main()
