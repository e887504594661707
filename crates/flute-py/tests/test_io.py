"""The I/O helpers: pcap files and UDP on the loopback interface, driven by flute-io's
loops with the GIL released."""

import pathlib
import threading
import time

import pytest

import flute_rs

from conftest import completed, free_udp_port, pseudo_random


def test_file_to_pcap_and_back(tmp_path):
    data = pseudo_random(1_000_000, 5)
    src = tmp_path / "video.bin"
    src.write_bytes(data)
    cap = tmp_path / "session.pcap"
    n, nbytes = flute_rs.send_file_to_pcap(
        src, cap, tsi=3, oti=flute_rs.Oti.raptorq(), repair_percent=10, content_md5=True
    )
    assert n > 700 and cap.stat().st_size > nbytes > len(data)
    out = tmp_path / "out"
    events = flute_rs.receive_pcap(cap, out)
    done = completed(events)
    assert [(e.tsi, e.content_location) for e in done] == [(3, "video.bin")]
    assert pathlib.Path(done[0].path).read_bytes() == data
    # Into memory, and with a port filter that keeps nothing.
    assert [e.data for e in completed(flute_rs.receive_pcap(cap))] == [data]
    assert completed(flute_rs.receive_pcap(cap, port=9)) == []


def test_run_pcap_on_objects_and_receiver(tmp_path):
    tx = flute_rs.Sender(1, fdt_interval=0.5, pacing_bps=10_000_000)
    tx.insert(b"a" * 50_000, "a.txt")
    tx.insert(b"b" * 50_000, "b.txt", priority=1)
    cap = tmp_path / "two.pcap"
    datagrams, _ = tx.run_pcap(cap, destination="[ff02::1234]:4000")
    assert tx.closed and datagrams == tx.stats.packets
    rx = flute_rs.Receiver()
    counters = rx.run_pcap(cap, port=4000)
    assert counters["datagrams"] == datagrams and counters["malformed"] == 0
    got = {e.content_location: e.data for e in completed(rx.events())}
    assert got == {"a.txt": b"a" * 50_000, "b.txt": b"b" * 50_000}
    with pytest.raises(FileNotFoundError):
        rx.run_pcap(tmp_path / "missing.pcap")
    with pytest.raises(ValueError):
        tx.run_pcap(cap, destination="nowhere")


def test_receive_pcap_of_garbage_file_raises_oserror(tmp_path):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"this is not a capture file at all")
    with pytest.raises(OSError):
        flute_rs.receive_pcap(bad)


def test_udp_loopback_both_sides_release_the_gil(tmp_path):
    """A receiver thread and the sending main thread run at the same time: if either held
    the GIL while it waits on its socket, the other could not run and nothing would
    arrive before the receiver's timeout."""
    port = free_udp_port()
    data = pseudo_random(300_000, 9)
    src = tmp_path / "f.bin"
    src.write_bytes(data)
    out = tmp_path / "out"
    result = {}

    def receive():
        result["events"] = flute_rs.receive_udp(f"127.0.0.1:{port}", out, timeout=20.0, max_objects=1)

    t = threading.Thread(target=receive)
    t.start()
    time.sleep(0.3)  # let it bind
    started = time.monotonic()
    n, _ = flute_rs.send_file_udp(src, f"127.0.0.1:{port}", pacing_bps=50_000_000)
    t.join(30)
    assert not t.is_alive()
    assert time.monotonic() - started < 15.0
    done = completed(result["events"])
    assert [e.content_location for e in done] == ["f.bin"]
    assert pathlib.Path(done[0].path).read_bytes() == data
    assert n > 200


def test_run_udp_needs_a_stop_condition():
    rx = flute_rs.Receiver()
    with pytest.raises(ValueError):
        rx.run_udp("127.0.0.1:0", until_closed=False)
    with pytest.raises(ValueError):
        rx.run_udp("not an address", timeout=0.1)
    # A short timeout with nothing arriving returns.
    assert rx.run_udp("127.0.0.1:0", timeout=0.2)["datagrams"] == 0
