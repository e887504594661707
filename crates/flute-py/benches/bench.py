"""Benchmarks of the Python binding (issue 15), in one run, against the Rust end-to-end
figure and against flute-alc 1.11.7 on the same data. Not a test: it prints a Markdown
table for docs/benchmarks.md.

    python crates/flute-py/benches/bench.py [--size 64] [--rss-size 1024] [--e2e PATH]

Needs `flute_rs` and `flute` (flute-alc) installed, and the Rust bench binary
(`cargo build --release -p flute-benches --bin e2e`, found in target/release by default).

Measured:
1. 64 MiB No-Code in memory, sender to receiver in one process through the batch API
   (`read_many` / `push_many`), against the Rust `e2e` bench (flute-sender ->
   flute-receiver, memory sink) run by this script. Target: at least 50 %.
2. One datagram per call (`read()` / `push()`) through flute_rs, against flute-alc's
   `read()` / `push()` loop on the same content. Target: at least 2x.
3. A file of `--rss-size` MiB through `send_file_to_pcap` and then `receive_pcap` to
   disk, each in its own child process, whose peak RSS (`VmHWM` of /proc/self/status; not
   `ru_maxrss`, which Linux carries over from the forking parent) is reported. Target:
   < 64 MiB for 1 GiB.
"""

import argparse
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

import flute_rs

MIB = 1 << 20


def content(n):
    # Cheap pseudo-random bytes (the content does not matter to No-Code).
    block = bytes((i * 131 + 7) & 0xFF for i in range(MIB))
    return (block * (n // MIB + 1))[:n]


def ours_batch(data):
    tx = flute_rs.Sender(1, oti=flute_rs.Oti.no_code(1400, 64))
    t0 = time.perf_counter()
    tx.insert(data, "file:///big.bin", now=0.0)
    tx.close()
    rx = flute_rs.Receiver()
    while True:
        got = tx.read_many(4096, now=0.0)
        if not got:
            break
        rx.push_many(got, now=0.0)
    done = [e for e in rx.events() if isinstance(e, flute_rs.ObjectComplete)]
    dt = time.perf_counter() - t0
    assert len(done) == 1 and len(done[0].data) == len(data), "object not delivered"
    return dt


def ours_single(data):
    tx = flute_rs.Sender(1, oti=flute_rs.Oti.no_code(1400, 64))
    t0 = time.perf_counter()
    tx.insert(data, "file:///big.bin", now=0.0)
    tx.close()
    rx = flute_rs.Receiver()
    while (p := tx.read(now=0.0)) is not None:
        rx.push(p, now=0.0)
    done = [e for e in rx.events() if isinstance(e, flute_rs.ObjectComplete)]
    dt = time.perf_counter() - t0
    assert len(done) == 1 and len(done[0].data) == len(data), "object not delivered"
    return dt


def theirs_single(data):
    from flute import receiver, sender

    t0 = time.perf_counter()
    s = sender.Sender(1, sender.Oti.new_no_code(1400, 64), sender.Config())
    s.add_object_from_buffer(data, "application/octet-stream", "file:///big.bin", None)
    s.publish()
    r = receiver.Receiver(
        receiver.UDPEndpoint("224.0.0.1", 3400),
        1,
        receiver.ObjectWriterBuilder.new_buffer(),
        receiver.Config(),
    )
    n = 0
    while (p := s.read()) is not None:
        r.push(p)
        n += 1
    dt = time.perf_counter() - t0
    assert n > len(data) // 1400, "flute-alc sent too few packets"
    return dt


def rust_e2e(binary, size_mib):
    out = subprocess.run(
        [binary, "--size", f"{size_mib}M", "--schemes", "nocode", "--loss", "0",
         "--sink", "mem", "--impl", "ours"],
        check=True, capture_output=True, text=True,
    ).stdout
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) >= 7 and cells[1].startswith("No-Code") and cells[4].startswith("flute-sender"):
            return float(cells[6])
    raise RuntimeError("no No-Code row in the e2e output:\n" + out)


SEND_CHILD = r"""
import sys, flute_rs
src, cap = sys.argv[1:3]
flute_rs.send_file_to_pcap(src, cap, tsi=1, oti=flute_rs.Oti.no_code(1400, 64))
print(next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")))
"""

RECV_CHILD = r"""
import sys, flute_rs
cap, out = sys.argv[1:3]
events = flute_rs.receive_pcap(cap, out)
ok = [e for e in events if isinstance(e, flute_rs.ObjectComplete)]
assert len(ok) == 1, events
print(next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")))
"""


def rss_run(size_mib):
    with tempfile.TemporaryDirectory() as d:
        d = pathlib.Path(d)
        src = d / "big.bin"
        with open(src, "wb") as f:
            chunk = content(16 * MIB)
            for _ in range(size_mib // 16):
                f.write(chunk)
        out = d / "out"
        out.mkdir()
        cap = d / "s.pcap"
        res = subprocess.run(
            [sys.executable, "-c", SEND_CHILD, str(src), str(cap)],
            check=True, capture_output=True, text=True,
        )
        before = int(res.stdout)
        t0 = time.perf_counter()
        res = subprocess.run(
            [sys.executable, "-c", RECV_CHILD, str(cap), str(out)],
            check=True, capture_output=True, text=True,
        )
        dt = time.perf_counter() - t0
        after = int(res.stdout)
        got = out / "big.bin"
        assert got.stat().st_size == src.stat().st_size, "received file has the wrong size"
        return before / 1024, after / 1024, dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=64, help="MiB for the in-memory runs")
    ap.add_argument("--rss-size", type=int, default=1024, help="MiB for the pcap RSS run (0: skip)")
    ap.add_argument("--e2e", default=str(pathlib.Path(__file__).resolve().parents[3] / "target/release/e2e"))
    a = ap.parse_args()
    data = content(a.size * MIB)
    rust = rust_e2e(a.e2e, a.size)
    batch = min(ours_batch(data) for _ in range(3))
    single = min(ours_single(data) for _ in range(2))
    theirs = min(theirs_single(data) for _ in range(2))
    mibs = lambda dt: a.size / dt  # noqa: E731
    print(f"| measurement | MiB/s | ratio | target |")
    print(f"|---|---:|---:|---|")
    print(f"| Rust e2e (flute-sender -> flute-receiver, memory) | {rust:.0f} | | |")
    print(f"| flute_rs batch (read_many / push_many) | {mibs(batch):.0f} | {mibs(batch) / rust:.2f} of Rust | >= 0.50 |")
    print(f"| flute_rs one datagram per call (read / push) | {mibs(single):.0f} | {theirs / single:.2f}x flute-alc | >= 2x |")
    print(f"| flute-alc 1.11.7 read / push | {mibs(theirs):.0f} | | |")
    if a.rss_size:
        before, after, dt = rss_run(a.rss_size)
        print()
        print(f"{a.rss_size} MiB: send_file_to_pcap peak RSS {before:.1f} MiB (own process); "
              f"receive_pcap to disk peak RSS {after:.1f} MiB (target < 64), {dt:.1f} s")


if __name__ == "__main__":
    main()
