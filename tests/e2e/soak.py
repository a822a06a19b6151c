#!/usr/bin/env python3
# soak.py - the daemon's side of tests/e2e/soak.sh, and its data stream.
#
#   soak.py run ...      start `cloudsteer run` in the host namespace and kill
#                        it with SIGKILL again and again, at moments chosen to
#                        hurt: at random, mid-sweep (on the log line of an
#                        expiry or a route removal), mid-reload (just after a
#                        SIGHUP) and mid-start (before it says "running:").
#                        Meanwhile a sampler reads the pinned records and
#                        routes every 50 ms (build/tests/tools/soakmaps) and
#                        judges each snapshot against the one before.
#                        What it saw goes to --out, as JSON.
#   soak.py report OUT   that JSON as PASS|NAME, FAIL|NAME|WHY and FIG|TEXT
#                        lines, for the shell.
#   soak.py stream IP PORT FLAG OUT
#                        a TCP stream to IP:PORT (an echo server), a line
#                        every 20 ms while FLAG exists; OUT gets what came
#                        back, as JSON. Run it in the client's namespace.
#
# Times are CLOCK_BOOTTIME nanoseconds, the dataplane's clock, so record
# expiries compare with the moments of the snapshots directly.
import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time


def now():
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME)


class Snap:
    __slots__ = ("t0", "t_rec", "t_end", "records", "routes", "packets", "emax", "routeless")

    def __init__(self, t0):
        self.t0, self.t_rec, self.t_end, self.packets = t0, 0, 0, 0
        self.records = {}   # (name id, ip) -> expires_ns
        self.routes = {}    # ip -> (acl id, flags, created_ns)
        self.emax = {}      # ip -> the latest expiry of its records
        self.routeless = set()


class Monitor(threading.Thread):
    """Reads soakmaps' snapshots and checks every one against the last:
    - a record that vanished had reached its expiry (else it was lost);
    - a route that vanished, or was made anew, had no record left that had
      not reached its expiry, and was not the live stream's;
    - a route keeps its ACL id while it exists (waiting -> an id is fine);
    - a record that has not expired has a route (two snapshots in a row, so
      that learn's record-then-route is never caught half done)."""

    KEEP = 10   # examples kept per kind of error

    def __init__(self, helper, pin_dir, ms, stream_ip):
        super().__init__(daemon=True)
        self.argv = [helper, "watch", pin_dir, str(ms)]
        self.proc = None
        self.lock = threading.Lock()
        self.stream_ip = stream_ip
        self.prev = None
        self.snaps = self.route_obs = self.record_obs = 0
        self.created = self.expired = self.routes_made = self.routes_removed = self.late_ids = 0
        self.errors = {k: [] for k in ("lost", "flap", "acl", "routeless", "stream")}
        self.counts = {k: 0 for k in self.errors}
        self.history = []   # (t0, t_end, steered packets) of each snapshot

    def error(self, kind, text):
        self.counts[kind] += 1
        if len(self.errors[kind]) < self.KEEP:
            self.errors[kind].append(text)

    def start(self):
        """Once the pins exist."""
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        super().start()

    def run(self):
        cur = None
        for line in self.proc.stdout:
            f = line.split()
            if not f:
                continue
            if f[0] == "S":
                cur = Snap(int(f[1]))
            elif cur is None:
                continue
            elif f[0] == "r":
                cur.records[(f[1], f[2])] = int(f[3])
            elif f[0] == "t":
                cur.t_rec = int(f[1])
            elif f[0] == "o":
                cur.routes[f[1]] = (int(f[2]), int(f[3]), int(f[4]))
            elif f[0] == "p":
                cur.packets = int(f[1])
            elif f[0] == "E":
                cur.t_end = int(f[1])
                self.judge(cur)
                cur = None

    def judge(self, cur):
        for (_, ip), e in cur.records.items():
            if e > cur.emax.get(ip, 0):
                cur.emax[ip] = e
        cur.routeless = {ip for ip, e in cur.emax.items() if e > cur.t_end and ip not in cur.routes}
        with self.lock:
            p = self.prev
            self.snaps += 1
            self.route_obs += len(cur.routes)
            self.record_obs += len(cur.records)
            self.history.append((cur.t0, cur.t_end, cur.packets))
            if p is None:
                self.created += len(cur.records)
                self.routes_made += len(cur.routes)
            else:
                self.compare(p, cur)
            self.prev = cur

    def compare(self, p, cur):
        for k, e in p.records.items():
            if k in cur.records:
                continue
            if e >= cur.t_rec:
                self.error("lost", f"record {k[0]} {k[1]} gone {(e - cur.t_rec) / 1e9:.3f} s before its expiry")
            else:
                self.expired += 1
        self.created += sum(1 for k in cur.records if k not in p.records)
        for ip, (acl, flags, created) in p.routes.items():
            c = cur.routes.get(ip)
            if c and c[2] == created:
                if acl and c[0] != acl:
                    self.error("acl", f"route {ip}: ACL id {acl} became {c[0]}")
                elif not acl and c[0]:
                    self.late_ids += 1
                continue
            self.routes_removed += 1
            why = "removed" if not c else f"made anew (ACL id {acl} -> {c[0]})"
            if p.emax.get(ip, 0) >= cur.t_end:
                self.error("flap", f"route {ip} {why} while a record for it lives "
                           f"{(p.emax[ip] - cur.t_end) / 1e9:.3f} s more")
            if ip == self.stream_ip:
                self.error("stream", f"route {ip} of the live stream {why}")
        self.routes_made += sum(1 for ip, r in cur.routes.items()
                                if ip not in p.routes or p.routes[ip][2] != r[2])
        for ip in cur.routeless & p.routeless:
            self.error("routeless", f"{ip} has a record that has not expired, and no route")

    def latest(self):
        with self.lock:
            return self.prev

    def stop(self):
        if not self.proc:
            return
        self.proc.stdin.close()
        self.join(timeout=10)
        self.proc.wait(timeout=10)


class Daemon:
    """One `cloudsteer run` at a time; its log lines go to the log file, and a
    trigger (texts, delay) set before a line arrives kills it on that line."""

    def __init__(self, args, log):
        self.args, self.log = args, log
        self.n = 0
        self.proc = None
        self.recovered = 0     # ACL ids the daemon's start put back
        self.kills = self.kills_unready = 0
        self.mode = "fresh start"
        self.lines = {"expired": 0, "removed": 0, "nameless": 0}
        self.nameless = []

    def start(self):
        self.n += 1
        self.ready = threading.Event()
        self.t_exec, self.t_ready, self.t_kill = now(), None, None
        self.trigger = None
        self.killed = False
        self.klock = threading.Lock()
        # nsenter execs the daemon: the pid is the daemon's
        self.proc = subprocess.Popen(["nsenter", "--net=" + self.args.netns, self.args.cs, "run", "-v", "-c",
                                      self.args.config], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.reader = threading.Thread(target=self.read, args=(self.proc, self.n), daemon=True)
        self.reader.start()

    def read(self, proc, n):
        for raw in iter(proc.stderr.readline, b""):
            line = raw.decode(errors="replace")
            trig = self.trigger
            if trig and any(s in line for s in trig[0]):
                self.trigger = None
                if trig[1]:
                    time.sleep(trig[1])
                self.kill()
            t = now()
            if "running:" in line and not self.t_ready:
                self.t_ready = t
                self.ready.set()
            if "expired " in line:
                self.lines["expired"] += 1
                # "expired NAME IP": "?" says cs_names had no text for it
                if "expired ? " in line:
                    self.lines["nameless"] += 1
                    if len(self.nameless) < 5:
                        self.nameless.append(line.split("expired ")[1].split(" (")[0])
            if "route " in line and " removed: " in line:
                self.lines["removed"] += 1
            if "acl: recovered" in line:
                self.recovered += int(line.split("acl: recovered")[1].split()[0])
            self.log.write(f"{t / 1e9:.6f} [{n}] {line}")
        proc.stderr.close()

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        with self.klock:
            if self.killed:
                return
            self.killed = True
            self.t_kill = now()
            # (send_signal: never to a pid that was reaped, and may be reused)
            self.proc.send_signal(signal.SIGKILL)
            self.log.write(f"{self.t_kill / 1e9:.6f} [{self.n}] --- SIGKILL ({self.mode})\n")
            self.kills += 1
            self.kills_unready += not self.t_ready

    def reap(self):
        """The exit status: -9 after our SIGKILL; anything else says the
        daemon ended by itself."""
        rc = self.proc.wait(timeout=10)
        self.reader.join(timeout=5)
        return rc


MODES = (("random", 35), ("sweep", 35), ("reload", 15), ("start", 15))


def drive(args):
    random.seed(args.seed)
    sys.setswitchinterval(0.0002)   # the log reader kills within a fraction of a ms
    log = open(args.log, "a", buffering=1)
    mon = Monitor(args.helper, args.pin_dir, args.sample_ms, args.stream_ip)
    d = Daemon(args, log)
    fails, figs = [], {}
    rounds = {m: 0 for m, _ in MODES}
    kill_to_ready, exec_to_ready, windows = [], [], []
    across_kills = {"carried": 0, "lost": 0, "examples": []}

    def fail(kind, what):
        fails.append((kind, what))

    def log_tail():
        log.flush()
        with open(args.log) as f:
            return "".join(f.readlines()[-15:])

    def start_ready():
        d.start()
        if not d.ready.wait(timeout=20) or not d.alive():
            fail("starts", f"start {d.n} did not say running: (exit {d.proc.poll()})\n{log_tail()}")
            return False
        exec_to_ready.append(d.t_ready - d.t_exec)
        return True

    def kill_reap(delay=None):
        if delay is not None:
            time.sleep(delay)
        d.kill()
        rc = d.reap()
        if rc != -signal.SIGKILL:
            fail("starts", f"daemon {d.n} ended by itself (status {rc}) before the kill\n{log_tail()}")
        return rc == -signal.SIGKILL

    def compare_across(pre):
        post = mon.latest()
        if pre is not None and post is not None:
            c, lost, ex = across(pre, post)
            across_kills["carried"] += c
            across_kills["lost"] += lost
            across_kills["examples"] += ex[:3]
        return post

    # The first start makes the pins: kill it somewhere in that (a pin
    # directory half made is what the next start must take over).
    d.start()
    if not kill_reap(random.uniform(0.005, 0.12)):
        return finish(args, d, mon, fails, figs, log)
    log.write(f"--- the fresh start was killed {'after' if d.t_ready else 'before'} it was ready\n")
    if not start_ready():
        return finish(args, d, mon, fails, figs, log)
    mon.start()
    open(args.up, "w").close()      # the shell starts DNS and traffic now
    wait_for(lambda: os.path.exists(args.traffic), 60)
    time.sleep(args.warmup)

    t_stop = time.monotonic() + args.seconds
    pre = None
    n = 0
    while (not args.rounds or n < args.rounds) and time.monotonic() < t_stop:
        mode = d.mode = random.choices([m for m, _ in MODES], [w for _, w in MODES])[0]
        time.sleep(random.uniform(0.3, args.max_uptime))
        if not d.alive():
            fail("starts", f"daemon {d.n} ended by itself (status {d.proc.poll()})\n{log_tail()}")
            break
        pre = compare_across(pre)
        if mode == "sweep":
            # the kill lands within the sweep pass that logs the line: an
            # expiry (routes are settled next) or a route removal (between
            # the route's delete and its ACL id's return, or close by)
            d.trigger = (random.choice([("expired ",), (" removed: ",), (" removed: ",)]), random.uniform(0, 0.003))
            if not wait_for(lambda: d.killed or not d.alive(), 8):
                d.trigger = None    # nothing in time: an ordinary kill
            ok = kill_reap()
        elif mode == "reload":
            d.proc.send_signal(signal.SIGHUP)
            ok = kill_reap(random.uniform(0, 0.03))
        else:
            ok = kill_reap()
        # a start killed before it is ready, then one that lives
        if ok and mode == "start":
            time.sleep(random.uniform(0, 0.2))
            d.start()
            ok = kill_reap(random.uniform(0.005, 0.08))
        if not ok:
            break
        t_kill = d.t_kill
        rounds[mode] += 1
        n += 1
        time.sleep(random.uniform(0, args.max_down))
        if not start_ready():
            break
        kill_to_ready.append(d.t_ready - t_kill)
        windows.append((t_kill, d.t_ready))

    # The end: the stream's route has lived through every kill; traffic
    # stops; the last daemon sweeps once more and is stopped with SIGTERM,
    # which must leave everything on the pins.
    last = mon.latest()
    if args.stream_ip and (last is None or args.stream_ip not in last.routes):
        fail("stream", f"the stream's route {args.stream_ip} is not there at the end")
    mon.stream_ip = None
    try:
        os.unlink(args.flag)
    except FileNotFoundError:
        pass
    wait_for(lambda: all(os.path.exists(f) for f in args.done), 30)
    if d.alive():
        time.sleep(args.settle)
        compare_across(pre)
    if across_kills["lost"]:
        fail("lost", f"{across_kills['lost']} records that had not expired were missing after a restart: "
             + "; ".join(across_kills["examples"][:10]))
    figs.update(rounds=sum(rounds.values()), rounds_by_mode=rounds, kills=d.kills,
                kills_before_ready=d.kills_unready, restarts=len(kill_to_ready), starts=d.n,
                carried=across_kills["carried"],
                kill_to_ready_ms=max(kill_to_ready, default=0) / 1e6,
                kill_to_ready_median_ms=median(kill_to_ready) / 1e6,
                start_ms=max(exec_to_ready, default=0) / 1e6,
                start_median_ms=median(exec_to_ready) / 1e6, windows=windows)
    return finish(args, d, mon, fails, figs, log)


def wait_for(cond, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.005)
    return cond()


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else 0


def across(pre, post):
    """Records of the snapshot before a kill that had not reached their
    expiry when the snapshot after the restart was taken, and of those how
    many were missing."""
    carried = lost = 0
    ex = []
    for k, e in pre.records.items():
        if e >= post.t_rec:
            carried += 1
            if k not in post.records:
                lost += 1
                ex.append(f"{k[1]} ({(e - post.t_rec) / 1e9:.3f} s left)")
    return carried, lost, ex


def finish(args, d, mon, fails, figs, log):
    if d.proc and d.alive():
        d.proc.send_signal(signal.SIGTERM)
        rc = d.reap()
        if rc != 0:
            fails.append(("starts", f"SIGTERM: the last daemon exited with status {rc}"))
    time.sleep(0.2)     # one more snapshot, after the last daemon
    mon.stop()
    log.close()
    windows = figs.pop("windows", [])
    down_pk = measured = with_pk = 0
    for k, r in windows:
        inside = [h for h in mon.history if h[0] >= k and h[1] <= r]
        if len(inside) >= 2:
            measured += 1
            delta = inside[-1][2] - inside[0][2]
            down_pk += delta
            with_pk += delta > 0
    hist = mon.history
    figs.update(snapshots=mon.snaps, routes_sampled=mon.route_obs, records_sampled=mon.record_obs,
                records_created=mon.created, records_expired=mon.expired,
                routes_made=mon.routes_made, routes_removed=mon.routes_removed,
                ids_late=mon.late_ids, ids_recovered=d.recovered,
                log_expired=d.lines["expired"], log_removed=d.lines["removed"],
                log_nameless=d.lines["nameless"], nameless=d.nameless,
                steered=(hist[-1][2] - hist[0][2]) if hist else 0,
                down_windows=measured, down_windows_steered=with_pk, down_steered=down_pk,
                sample_ms=median([b[0] - a[0] for a, b in zip(hist, hist[1:])]) / 1e6 if len(hist) > 1 else 0)
    figs["errors"] = {k: mon.errors[k] for k in mon.errors if mon.counts[k]}
    figs["error_counts"] = mon.counts
    figs["fails"] = fails
    with open(args.out, "w") as f:
        json.dump(figs, f, indent=1)
    return 0


def stream(ip, port, flag, out):
    """A line every 20 ms; each comes back from the echo server. Gaps are
    measured between echoes, so a stall anywhere on the way shows."""
    s = socket.create_connection((ip, port), timeout=10)
    s.settimeout(None)
    res = {"sent": 0, "echoed": 0, "max_gap_ms": 0.0, "out_of_order": 0, "error": None}
    last = [time.monotonic()]

    def receive():
        buf, want = b"", 0
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    t = time.monotonic()
                    res["max_gap_ms"] = max(res["max_gap_ms"], (t - last[0]) * 1000)
                    last[0] = t
                    if int(line.split()[0]) != want:
                        res["out_of_order"] += 1
                    want = int(line.split()[0]) + 1
                    res["echoed"] += 1
        except OSError as e:
            res["error"] = str(e)

    rx = threading.Thread(target=receive, daemon=True)
    rx.start()
    end = time.monotonic() + 3600
    try:
        while os.path.exists(flag) and time.monotonic() < end:
            s.sendall(f"{res['sent']} {time.monotonic():.3f} soak\n".encode())
            res["sent"] += 1
            time.sleep(0.02)
        # what is on its way comes back, then the stream ends
        wait_for(lambda: res["echoed"] >= res["sent"], 5)
        s.shutdown(socket.SHUT_WR)
    except OSError as e:
        res["error"] = str(e)
    rx.join(timeout=5)
    with open(out, "w") as f:
        json.dump(res, f)


def report(path):
    """The verdicts of a run, for the shell: PASS|NAME, FAIL|NAME|WHY, and
    FIG|TEXT lines."""
    with open(path) as f:
        r = json.load(f)
    fails, cnt, ex = r.get("fails", []), r.get("error_counts", {}), r.get("errors", {})

    def verdict(name, kinds, fail_kinds=()):
        why = [w for k, w in fails if k in fail_kinds]
        for k in kinds:
            if cnt.get(k):
                why.append(f"{cnt[k]} times, e.g. " + "; ".join(ex.get(k, [])[:5]))
        print(f"FAIL|{name}|{' / '.join(why)}" if why else f"PASS|{name}")

    verdict(f"the daemon starts every time and dies only by our SIGKILL ({r.get('starts', 0)} starts, "
            f"{r.get('kills', 0)} kills, {r.get('kills_before_ready', 0)} of them before it was ready)",
            (), ("starts",))
    verdict(f"no record lost: none vanished before its expiry ({r.get('records_created', 0)} made, "
            f"{r.get('records_expired', 0)} expired; {r.get('carried', 0)} carried across kills)",
            ("lost",), ("lost",))
    verdict(f"no route flaps: none vanished while a record for it lived ({r.get('routes_made', 0)} made, "
            f"{r.get('routes_removed', 0)} removed, {r.get('routes_sampled', 0)} sampled)", ("flap",))
    verdict("no route changed its ACL id while it existed", ("acl",))
    verdict("every record that had not expired had a route", ("routeless",))
    verdict("the live stream's route lived through every kill, kept by its flow", ("stream",), ("stream",))
    if r.get("log_nameless", 0):
        print(f"FAIL|every record had its name's text to the end|{r['log_nameless']} expired with "
              f"none, e.g. {', '.join(r.get('nameless', []))}")
    else:
        print(f"PASS|every record had its name's text to the end ({r.get('log_expired', 0)} expiries logged "
              "with their names)")
    w, ws = r.get("down_windows", 0), r.get("down_windows_steered", 0)
    if r.get("down_steered", 0) > 0 and ws * 2 >= w:
        print(f"PASS|steering went on while no daemon ran ({r['down_steered']} packets in {ws} of {w} "
              "windows long enough to measure)")
    else:
        print(f"FAIL|steering went on while no daemon ran|{r.get('down_steered', 0)} packets, "
              f"{ws} of {w} windows")
    by = r.get("rounds_by_mode", {})
    print(f"FIG|kills {r.get('kills', 0)} in {r.get('rounds', 0)} rounds (at random {by.get('random', 0)}, "
          f"mid-sweep {by.get('sweep', 0)}, mid-reload {by.get('reload', 0)}, mid-start {by.get('start', 0)}; "
          f"{r.get('kills_before_ready', 0)} before ready), restarts {r.get('restarts', 0)}")
    print(f"FIG|records created {r.get('records_created', 0)}, expired {r.get('records_expired', 0)} "
          f"(daemon logs: {r.get('log_expired', 0)} expired, {r.get('log_removed', 0)} routes removed)")
    print(f"FIG|restart, kill to ready: max {r.get('kill_to_ready_ms', 0):.0f} ms, median "
          f"{r.get('kill_to_ready_median_ms', 0):.0f} ms (including up to the chosen downtime); "
          f"start, exec to ready: max {r.get('start_ms', 0):.0f} ms, median {r.get('start_median_ms', 0):.0f} ms")
    print(f"FIG|routes sampled {r.get('routes_sampled', 0)} in {r.get('snapshots', 0)} snapshots "
          f"(every {r.get('sample_ms', 0):.0f} ms), records sampled {r.get('records_sampled', 0)}")
    print(f"FIG|ACL ids put back by a start's check {r.get('ids_recovered', 0)}; "
          f"routes that waited for an id then got one {r.get('ids_late', 0)}")
    print(f"FIG|steered packets {r.get('steered', 0)}, {r.get('down_steered', 0)} of them while no daemon ran")


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "stream":
        stream(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "report":
        report(sys.argv[2])
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["run"])
    ap.add_argument("--cs", required=True)
    ap.add_argument("--netns", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--pin-dir", required=True)
    ap.add_argument("--helper", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--up", required=True, help="made once the daemon first runs")
    ap.add_argument("--traffic", required=True, help="made by the shell once traffic runs")
    ap.add_argument("--flag", required=True, help="removed to stop the traffic")
    ap.add_argument("--done", nargs="*", default=[], help="made by each traffic loop as it stops")
    ap.add_argument("--stream-ip")
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--sample-ms", type=int, default=50)
    ap.add_argument("--warmup", type=float, default=3)
    ap.add_argument("--settle", type=float, default=1.5)
    ap.add_argument("--max-uptime", type=float, default=2.0)
    ap.add_argument("--max-down", type=float, default=0.4)
    return drive(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
