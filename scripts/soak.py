#!/usr/bin/env python3
"""The soak test behind scripts/soak.sh (read its header for the knobs); Python 3 stdlib only.

Runs `flute recv` (continuous, --out) and `flute send --watch` over loopback for a while, feeds
the watched directory with files of mixed sizes, samples both processes' RSS, fds and threads,
then checks that every file arrived byte-identical, that nothing grew, and that both processes
were alive at the end and stop cleanly on SIGINT. Exits 1 with the failed checks named.
"""

import csv
import hashlib
import math
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

MIB = 1024 * 1024


def env(name, default, conv=str):
    v = os.environ.get(name)
    return conv(v) if v not in (None, "") else conv(default)


def log(msg):
    print(f"[soak {time.strftime('%H:%M:%S', time.gmtime())}] {msg}", flush=True)


def multicast_on_lo_works(group, port):
    """True when a datagram sent to `group` with IP_MULTICAST_IF 127.0.0.1 reaches a socket
    joined to it on 127.0.0.1 (the `lo` interface)."""
    rx = tx = None
    try:
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        rx.bind((group, port))
        mreq = struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton("127.0.0.1"))
        rx.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        rx.settimeout(1.0)
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        tx.sendto(b"soak-probe", (group, port))
        return rx.recv(64) == b"soak-probe"
    except OSError:
        return False
    finally:
        for s in (rx, tx):
            if s is not None:
                s.close()


def proc_sample(pid):
    """(rss_kib, fds, threads) of a live process, or None when it is gone."""
    try:
        rss = threads = None
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        if rss is None or threads is None:
            return None
        return rss, fds, threads
    except (OSError, ValueError):
        return None


class Generator(threading.Thread):
    """Writes files of log-uniform random size into the watched directory at a steady pace,
    each under a hidden temporary name and then renamed into place, and remembers their MD5."""

    def __init__(self, in_dir, every, min_size, max_size, seed):
        super().__init__(daemon=True)
        self.in_dir = in_dir
        self.every = every
        self.min_size = max(1, min_size)
        self.max_size = max(self.min_size, max_size)
        self.rng = random.Random(seed)
        self.files = []  # (name, size, md5 hex, monotonic time of the rename)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.error = None

    def run(self):
        n = 0
        next_at = time.monotonic()
        lo, hi = math.log(self.min_size), math.log(self.max_size + 1)
        try:
            while not self.stop.is_set():
                size = min(self.max_size, int(math.exp(self.rng.uniform(lo, hi))))
                data = self.rng.randbytes(size)
                name = f"f{n:06d}-{size}.bin"
                tmp = os.path.join(self.in_dir, f".{name}.tmp")
                with open(tmp, "wb") as f:
                    f.write(data)
                os.rename(tmp, os.path.join(self.in_dir, name))
                with self.lock:
                    self.files.append((name, size, hashlib.md5(data).hexdigest(), time.monotonic()))
                n += 1
                next_at += self.every
                self.stop.wait(max(0.0, next_at - time.monotonic()))
        except OSError as e:
            self.error = f"generator: {e}"

    def snapshot(self):
        with self.lock:
            return list(self.files)


class Verifier(threading.Thread):
    """Checks received files as they appear (MD5 against the generator's), then deletes the
    received copy and, with `clean_input`, the input file, so that a long run's disk use stays
    bounded. A file received twice (a carousel repetition the receiver no longer remembers)
    is checked again and counted."""

    def __init__(self, gen, in_dir, out_dir, clean_input):
        super().__init__(daemon=True)
        self.gen = gen
        self.in_dir = in_dir
        self.out_dir = out_dir
        self.clean_input = clean_input
        self.ok = {}  # name -> monotonic time it was first seen verified
        self.bad = {}  # name -> reason
        self.unknown = set()
        self.redelivered = 0
        self.stop = threading.Event()

    def scan(self):
        expected = {name: (size, md5) for name, size, md5, _ in self.gen.snapshot()}
        try:
            names = os.listdir(self.out_dir)
        except OSError:
            return
        for name in names:
            if name.startswith("."):
                continue  # the receiver's temporary file of an object in progress
            path = os.path.join(self.out_dir, name)
            if name not in expected:
                self.unknown.add(name)
                continue
            size, md5 = expected[name]
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if len(data) != size or hashlib.md5(data).hexdigest() != md5:
                self.bad[name] = f"{len(data)} bytes, md5 {hashlib.md5(data).hexdigest()}; sent {size} bytes, md5 {md5}"
            elif name in self.ok:
                self.redelivered += 1
            else:
                self.ok[name] = time.monotonic()
            try:
                os.remove(path)
                if self.clean_input:
                    os.remove(os.path.join(self.in_dir, name))
            except FileNotFoundError:
                pass

    def run(self):
        while not self.stop.wait(1.0):
            self.scan()


def slope_mib_per_hour(rows, col, warm_until):
    """Least-squares trend of column `col` (KiB) after the warm-up, in MiB per hour."""
    pts = [(r[0], r[col]) for r in rows if r[0] >= warm_until]
    if len(pts) < 2:
        return 0.0
    mt = sum(t for t, _ in pts) / len(pts)
    mv = sum(v for _, v in pts) / len(pts)
    den = sum((t - mt) ** 2 for t, _ in pts)
    if den == 0:
        return 0.0
    return sum((t - mt) * (v - mv) for t, v in pts) / den * 3600 / 1024


def quarter_means(rows, col, warm_until):
    vals = [r[col] for r in rows if r[0] >= warm_until]
    if len(vals) < 8:
        return None
    q = len(vals) // 4
    first, last = vals[:q], vals[-q:]
    return sum(first) / q, sum(last) / q, first, last, vals


def main():
    flute = sys.argv[1]
    work = sys.argv[2]
    minutes = float(sys.argv[3])
    duration = minutes * 60
    mode = env("MODE", "auto")
    rate = env("RATE", "30M")
    fec = env("FEC", "raptorq")
    repair = env("REPAIR", "20%")
    keep = env("KEEP", "64")
    keep_for = env("KEEP_FOR", "60")
    every = env("FILE_EVERY", "0.5", float)
    min_size = env("MIN_SIZE", "1", int)
    max_size = env("MAX_SIZE", str(4 * MIB), int)
    sample_every = env("SAMPLE_EVERY", "5", float)
    # Until the carousel is full (KEEP files, or KEEP_FOR seconds of them) the sender's RSS
    # and fds (one open file per object in the carousel) rise by design: not judged.
    fill = min(int(keep) * every, float(keep_for))
    warmup = env("WARMUP", str(fill + 15), float)
    exclude = env("EXCLUDE_LAST", "10", float)
    ratio = env("RSS_RATIO", "1.25", float)
    slack_kib = env("RSS_SLACK_MIB", "4", float) * 1024
    trend_limit = env("RSS_TREND_MIB_H", "4", float)
    trend_after = env("RSS_TREND_AFTER_MIN", "30", float) * 60
    fd_slack = env("FD_SLACK", "4", int)
    thread_slack = env("THREAD_SLACK", "2", int)
    seed = env("SEED", str(int(time.time())), int)
    port = env("PORT", str(20000 + random.randrange(20000)), int)
    group = env("GROUP", "239.255.77.77")
    clean_input = env("CLEAN_INPUT", "1") != "0"
    stop_timeout = env("STOP_TIMEOUT", "30", float)

    in_dir = os.path.join(work, "in")
    out_dir = os.path.join(work, "out")
    os.makedirs(in_dir)
    os.makedirs(out_dir)
    recv_out = os.path.join(out_dir)
    received_dir = os.path.join(out_dir, os.path.basename(in_dir))

    if mode == "auto":
        mode = "multicast" if multicast_on_lo_works(group, port) else "unicast"
        if mode == "unicast":
            log(f"multicast on lo does not deliver here (probe to {group}): using 127.0.0.1 unicast")
    if mode == "multicast":
        addr, iface = f"{group}:{port}", ["--interface", "lo"]
    elif mode == "unicast":
        addr, iface = f"127.0.0.1:{port}", []
    else:
        print(f"soak: MODE must be auto, multicast or unicast, not {mode!r}", file=sys.stderr)
        return 2

    recv_cmd = [flute, "recv", "--listen", addr, *iface, "--out", recv_out]
    send_cmd = [flute, "send", "--watch", in_dir, "--dest", addr, *iface, "--rate", rate,
                "--fec", fec, "--repair", repair, "--carousel", "forever",
                "--keep", keep, "--keep-for", keep_for]
    log(f"{minutes:g} min, {mode} {addr}, seed {seed}, work dir {work}")
    log("recv: " + " ".join(recv_cmd))
    log("send: " + " ".join(send_cmd))
    log(f"files: one every {every:g} s, {min_size} B .. {max_size} B (log-uniform)")

    procs = {}
    logs = {}
    pidfile = os.path.join(work, "pids")

    def start(name, cmd):
        logs[name] = (open(os.path.join(work, f"{name}.stdout"), "wb"),
                      open(os.path.join(work, f"{name}.stderr"), "wb"))
        # Own process group: the terminal's Ctrl-C reaches only this script, which then
        # stops the tools itself.
        procs[name] = subprocess.Popen(cmd, stdout=logs[name][0], stderr=logs[name][1],
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        with open(pidfile, "a") as f:
            f.write(f"{procs[name].pid}\n")

    failures = []
    gen = Generator(in_dir, every, min_size, max_size, seed)
    ver = Verifier(gen, in_dir, received_dir, clean_input)
    samples = []  # (t, recv rss, fds, threads, send rss, fds, threads)
    csv_path = os.path.join(work, "samples.csv")
    stop_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    signal.signal(signal.SIGINT, lambda *_: stop_requested.set())
    try:
        start("recv", recv_cmd)
        time.sleep(0.5)
        start("send", send_cmd)
        time.sleep(0.5)
        t0 = time.monotonic()
        gen.start()
        ver.start()
        with open(csv_path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["t_s", "recv_rss_kib", "recv_fds", "recv_threads",
                        "send_rss_kib", "send_fds", "send_threads", "files_generated", "files_ok"])
            next_sample = t0
            next_report = t0 + 60
            while True:
                now = time.monotonic()
                if now - t0 >= duration or stop_requested.is_set():
                    break
                dead = [n for n, p in procs.items() if p.poll() is not None]
                if dead:
                    failures.append(", ".join(f"flute {n} exited early with status {procs[n].returncode}" for n in dead))
                    break
                if gen.error:
                    failures.append(gen.error)
                    break
                if now >= next_sample:
                    r, s = proc_sample(procs["recv"].pid), proc_sample(procs["send"].pid)
                    if r and s:
                        row = (round(now - t0, 1), *r, *s)
                        samples.append(row)
                        w.writerow([*row, len(gen.files), len(ver.ok)])
                        f.flush()
                    next_sample += sample_every
                if now >= next_report:
                    last = samples[-1] if samples else None
                    log(f"{now - t0:.0f} s: {len(gen.files)} files generated, {len(ver.ok)} received ok"
                        + (f"; RSS recv {last[1] / 1024:.1f} MiB, send {last[4] / 1024:.1f} MiB" if last else ""))
                    next_report += 60
                time.sleep(0.2)
        elapsed = time.monotonic() - t0
        if stop_requested.is_set():
            failures.append(f"interrupted after {elapsed:.0f} s")
        log(f"{elapsed:.0f} s: stopping the generator and checking")
        gen.stop.set()
        gen.join()
        ver.scan()
        ver.stop.set()
        ver.join()
        ver.scan()
        check_time = time.monotonic()

        # 1. Every file, but those of the last `exclude` seconds, arrived intact.
        files = gen.snapshot()
        judged = [f for f in files if check_time - f[3] >= exclude]
        excluded = len(files) - len(judged)
        excluded_in = sum(1 for f in files[len(judged):] if f[0] in ver.ok)
        lost = [f for f in judged if f[0] not in ver.ok and f[0] not in ver.bad]
        total_bytes = sum(f[1] for f in files)
        ok_bytes = sum(f[1] for f in files if f[0] in ver.ok)
        if ver.bad:
            for name, why in sorted(ver.bad.items())[:10]:
                log(f"CORRUPT {name}: {why}")
            failures.append(f"{len(ver.bad)} file(s) received corrupted")
        if lost:
            for name, size, _, at in lost[:10]:
                log(f"LOST {name} ({size} B, added at {at - t0:.1f} s)")
            failures.append(f"{len(lost)} of {len(judged)} file(s) never received")
        unknown = sorted(n for n in ver.unknown if n not in ver.ok and n not in ver.bad)
        if unknown:
            failures.append(f"{len(unknown)} unexpected file(s) in the output: {unknown[:5]}")
        if not judged:
            failures.append("no file old enough to be judged: run longer")

        # 2. Both processes still alive at the end.
        for n, p in procs.items():
            if p.poll() is not None and not any(n in x for x in failures):
                failures.append(f"flute {n} was not alive at the end (status {p.returncode})")

        # 3. Nothing grows: RSS (first vs last quarter after warm-up), fds, threads.
        summary_rows = []
        for name, base in (("recv", 1), ("send", 4)):
            qm = quarter_means(samples, base, warmup)
            if qm is None:
                failures.append(f"{name}: too few samples after the {warmup:.0f} s warm-up to judge growth "
                                f"({len(samples)} in all): run longer or sample more often")
                continue
            first, last, _, _, vals = qm
            limit = first * ratio + slack_kib
            fds = [r[base + 1] for r in samples if r[0] >= warmup]
            thr = [r[base + 2] for r in samples if r[0] >= warmup]
            q = len(fds) // 4
            # A trend over a few minutes says nothing per hour (the carousel's mix of files
            # moves RSS by MiB): it is given for 10 minutes or more of judged samples.
            span = samples[-1][0] - warmup
            slope = slope_mib_per_hour(samples, base, warmup)
            trend = (f"trend {slope:+.1f} MiB/h" if span >= 600
                     else "trend: needs 10 min after the warm-up")
            # The quarter means miss a slow leak (the 45-minute run with the receiver's FDT
            # leak: 10.3 -> 15.4 MiB, under its limit of 16.9 MiB, but +9.0 MiB/h). Over 30
            # minutes or more the trend is judged too; the runs without it showed at most +1.8 MiB/h.
            if span >= trend_after and slope > trend_limit:
                failures.append(f"{name}: RSS keeps growing: trend {slope:+.1f} MiB/h over "
                                f"{span / 60:.0f} min after the warm-up > {trend_limit:g} MiB/h")
            summary_rows.append(
                f"{name}: RSS min {min(vals) / 1024:.1f} MiB, max {max(vals) / 1024:.1f} MiB, "
                f"mean first quarter {first / 1024:.1f} MiB, last quarter {last / 1024:.1f} MiB "
                f"(limit {limit / 1024:.1f} MiB), {trend}; "
                f"fds {min(fds)}..{max(fds)}; threads {min(thr)}..{max(thr)}")
            if last > limit:
                failures.append(f"{name}: RSS grew: mean of the last quarter {last / 1024:.1f} MiB > "
                                f"{ratio} x first quarter {first / 1024:.1f} MiB + {slack_kib / 1024:.0f} MiB")
            if max(fds[-q:]) > max(fds[:q]) + fd_slack:
                failures.append(f"{name}: open fds grew: last quarter up to {max(fds[-q:])}, "
                                f"first quarter up to {max(fds[:q])} (slack {fd_slack})")
            if max(thr[-q:]) > max(thr[:q]) + thread_slack:
                failures.append(f"{name}: threads grew: last quarter up to {max(thr[-q:])}, "
                                f"first quarter up to {max(thr[:q])} (slack {thread_slack})")

        # 4. Clean stop on SIGINT: the sender first (it closes the session), then the receiver.
        for n in ("send", "recv"):
            p = procs[n]
            if p.poll() is None:
                t_int = time.monotonic()
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(timeout=stop_timeout)
                    log(f"flute {n} stopped on SIGINT in {time.monotonic() - t_int:.1f} s, status {p.returncode}")
                except subprocess.TimeoutExpired:
                    failures.append(f"flute {n} did not stop within {stop_timeout:g} s of SIGINT")
                    p.kill()
                    p.wait()
                    continue
                # The first Ctrl-C makes `send --watch` close its session and exit 0, and
                # `recv` print its summary and exit 130 (1 if an object failed).
                want = 0 if n == "send" else 130
                if p.returncode != want:
                    failures.append(f"flute {n} exited with status {p.returncode} after SIGINT, "
                                    f"not {want}: see {work}/{n}.stdout and {n}.stderr")
            time.sleep(1.0 if n == "send" else 0)
        for n in procs:
            for fh in logs[n]:
                fh.close()
            with open(os.path.join(work, f"{n}.stderr"), "rb") as fh:
                err = fh.read().decode("utf-8", "replace")
            if "panicked" in err or "RUST_BACKTRACE" in err:
                failures.append(f"flute {n} panicked: see {work}/{n}.stderr")
        with open(os.path.join(work, "recv.stdout"), "rb") as fh:
            recv_summary = fh.read().decode("utf-8", "replace")

        # Summary.
        print()
        print(f"== soak summary ({mode} {addr}, {elapsed / 60:.1f} min, seed {seed})")
        print(f"files: {len(files)} generated ({total_bytes / 1e6:.1f} MB), {len(ver.ok)} received intact "
              f"({ok_bytes / 1e6:.1f} MB, {ok_bytes * 8 / elapsed / 1e6:.2f} Mbit/s of files), "
              f"{len(ver.bad)} corrupted, {len(lost)} lost; {excluded} added in the last {exclude:g} s "
              f"excluded from the check ({excluded_in} of them arrived anyway); "
              f"{ver.redelivered} delivered a second time")
        for row in summary_rows:
            print(row)
        print(f"samples: {len(samples)} every {sample_every:g} s in {csv_path} (warm-up {warmup:.0f} s)")
        print("receiver's last lines:")
        for line in recv_summary.strip().splitlines()[-8:]:
            print("  " + line)
        if failures:
            print("\nSOAK FAILED:")
            for x in failures:
                print("  - " + x)
            return 1
        print("\nSOAK PASSED")
        return 0
    finally:
        gen.stop.set()
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        # All reaped: the ids may be reused from now on, so soak.sh's trap must not use them.
        if os.path.exists(pidfile):
            os.remove(pidfile)


if __name__ == "__main__":
    sys.exit(main())
