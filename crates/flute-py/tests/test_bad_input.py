"""Bad input: garbage datagrams, wrong types, huge sizes, closed senders and receivers,
and a Rust panic, which must surface as an exception."""

import gc
import math
import random

import pytest

import flute_rs
from flute_rs import Oti, Receiver, Sender

from conftest import completed, send_all


def test_garbage_datagrams_are_counted_never_raised():
    rng = random.Random(42)
    tx = Sender(1)
    # FLUTE has no checksum of its own (UDP's covers the datagram): a flipped bit in the
    # symbol data is caught by Content-MD5 (RFC 6726 §3.4.2), never delivered.
    tx.insert(b"ok" * 5000, "ok.bin", content_md5=True, now=0.0)
    good = send_all(tx)
    garbage = [b"", b"\x00", b"\xff" * 3, bytes(64 * 1024)]
    garbage += [rng.randbytes(rng.randrange(1, 1500)) for _ in range(2000)]
    # Real packets with bits flipped and truncated: every header field gets hit.
    for _ in range(2000):
        p = bytearray(rng.choice(good))
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(len(p))
            p[i] ^= 1 << rng.randrange(8)
        garbage.append(bytes(p[: rng.randrange(len(p) + 1)]))
    rx = Receiver(max_object_size=1 << 20)
    for g in garbage:
        rx.push(g, now=0.0)
    rx.push_many(good, now=0.0)
    rx.handle_timeout(now=1.0)
    st = rx.stats
    assert st.datagrams == len(garbage) + len(good)
    assert st.dropped_total > 0 and st.dropped.get("malformed", 0) > 0
    assert all(isinstance(k, str) and v > 0 for k, v in st.dropped.items())
    # The receiver is still usable, and nothing wrong was ever delivered.
    for e in completed(rx.events()):
        assert e.content_location == "ok.bin" and e.data == b"ok" * 5000


def test_parse_packet_rejects_garbage_with_invalid_packet_error():
    for bad in (b"", b"\x10\x00", b"\xff" * 40):
        with pytest.raises(flute_rs.InvalidPacketError) as ei:
            flute_rs.parse_packet(bad)
        assert isinstance(ei.value, ValueError) and str(ei.value)
    with pytest.raises(TypeError):
        flute_rs.parse_packet("not bytes")


@pytest.mark.parametrize("bad", [123, "text", None, 1.5, [1, 2, 3], object()])
def test_push_wrong_types(bad):
    rx = Receiver()
    with pytest.raises(TypeError):
        rx.push(bad)
    with pytest.raises(TypeError):
        rx.push_many([b"ok", bad])
    with pytest.raises(TypeError):
        rx.push_many(5)


def test_sender_wrong_types_and_values():
    with pytest.raises(TypeError):
        Sender("1")
    with pytest.raises(TypeError):
        Sender(1, oti="raptorq")
    with pytest.raises(ValueError):
        Sender(1 << 48)  # TSI is 48 bits
    with pytest.raises(ValueError):
        Sender(2**200)
    with pytest.raises(ValueError):
        Sender(-1)
    with pytest.raises(ValueError):
        Sender(1, profile="http")
    with pytest.raises(ValueError):
        Sender(1, fdt_interval=-1.0)
    with pytest.raises(ValueError):
        Sender(1, fdt_expires=math.inf)
    with pytest.raises(ValueError):
        Sender(1, max_datagram_size=10)
    with pytest.raises(ValueError):
        Sender(1, fdt_oti=Oti.raptorq())
    tx = Sender(1)
    with pytest.raises(TypeError):
        tx.insert("a str is not bytes", "a.txt")
    with pytest.raises(TypeError):
        tx.insert(b"x", 42)
    with pytest.raises(ValueError):
        tx.insert(b"x", "a.txt", content_encoding="brotli")
    with pytest.raises(ValueError):
        tx.insert(b"x", "a.txt", repair=1, repair_percent=1)
    with pytest.raises(ValueError):
        tx.insert(b"x", "a.txt", priority=256)
    with pytest.raises(ValueError):
        tx.insert(b"x", "")  # RFC 6726 §3.4.2: Content-Location is mandatory
    with pytest.raises(ValueError):
        tx.insert(b"x", "a.txt", toi=0)  # TOI 0 is the FDT (RFC 6726 §3.3)
    with pytest.raises(ValueError):
        tx.insert(b"x", "a.txt", toi=1 << 112)  # RFC 5651 §5.1: 112 bits at most
    with pytest.raises(FileNotFoundError):
        tx.insert_file("/nonexistent/file")


@pytest.mark.parametrize("now", [-1.0, math.nan, math.inf, 1e30])
def test_bad_times(now):
    tx = Sender(1)
    with pytest.raises(ValueError):
        tx.read(now=now)
    rx = Receiver()
    with pytest.raises(ValueError):
        rx.push(b"x", now=now)
    with pytest.raises(ValueError):
        rx.handle_timeout(now=now)


def test_bad_otis():
    with pytest.raises(ValueError):
        Oti.no_code(symbol_length=0)
    with pytest.raises(ValueError):
        Oti.no_code(symbol_length=70_000)
    with pytest.raises(ValueError):
        Oti.no_code(max_source_block_length=0)
    with pytest.raises(ValueError):
        Oti.reed_solomon_gf28(max_source_block_length=300)  # RFC 5510: k <= 255
    with pytest.raises(ValueError):
        Oti.reed_solomon_gf2m(m=17)
    with pytest.raises(ValueError):
        Oti.raptorq(source_blocks=0)
    with pytest.raises(TypeError):
        Oti.no_code("1400")
    # An object the scheme cannot carry is refused at insert.
    tx = Sender(1, oti=Oti.no_code(16, 1))  # at most 2^16 blocks of 16 bytes
    with pytest.raises(ValueError):
        tx.insert(b"x" * 2_000_000, "big.bin")
    with pytest.raises(ValueError):
        Oti.no_code(16, 1).for_transfer_length(1 << 48)


def test_huge_sizes_are_refused_or_bounded():
    tx = Sender(1)
    tx.insert(b"x" * 1000, "x.txt", now=0.0)
    with pytest.raises(ValueError):
        tx.read_many(10**30)
    with pytest.raises(ValueError):
        tx.read_many(-1)
    # A huge but representable count returns what is due, without allocating for it.
    assert len(tx.read_many(2**62, now=0.0)) == 2
    with pytest.raises(ValueError):
        Receiver(max_object_size=-5)
    with pytest.raises(ValueError):
        Receiver(max_sessions=2**70)
    with pytest.raises(ValueError):
        Receiver(object_idle_timeout=1e300)
    # An announced object larger than max_object_size fails, nothing is allocated for it.
    big = Sender(1)
    big.insert(b"y" * 100_000, "y.bin", now=0.0)
    rx = Receiver(max_object_size=10_000)
    rx.push_many(send_all(big), now=0.0)
    kinds = [e.kind for e in rx.events() if isinstance(e, flute_rs.ObjectFailed)]
    assert kinds == ["too_large"]


def test_closed_sender():
    tx = Sender(1)
    tx.insert(b"a", "a.txt", now=0.0)
    tx.close()
    tx.close()  # idempotent
    with pytest.raises(flute_rs.SessionClosedError):
        tx.insert(b"b", "b.txt", now=0.0)
    packets = send_all(tx)
    assert tx.closed and len(packets) == 2
    assert flute_rs.parse_packet(packets[-1]).close_session
    assert tx.read(now=100.0) is None and tx.read_many(10, now=100.0) == []
    with pytest.raises(flute_rs.SessionClosedError):
        tx.insert_file(__file__)


def test_unknown_and_duplicate_toi():
    tx = Sender(1)
    tx.insert(b"a", "a.txt", toi=5, now=0.0)
    with pytest.raises(flute_rs.DuplicateObjectError):
        tx.insert(b"b", "b.txt", toi=5, now=0.0)
    with pytest.raises(flute_rs.UnknownObjectError) as ei:
        tx.remove(6)
    assert isinstance(ei.value, KeyError)
    with pytest.raises(ValueError):
        tx.remove(-1)


def test_closed_receiver_and_context_manager():
    tx = Sender(1)
    tx.insert(b"a" * 3000, "a.txt", now=0.0)
    packets = send_all(tx)
    with Receiver() as rx:
        rx.push_many(packets[:-1], now=0.0)  # one symbol short
    assert rx.closed
    with pytest.raises(flute_rs.SessionClosedError):
        rx.push(packets[-1])
    with pytest.raises(flute_rs.SessionClosedError):
        rx.push_many(packets)
    with pytest.raises(flute_rs.SessionClosedError):
        _ = rx.stats
    # Events from before the close are still there; the incomplete object is not.
    events = rx.events()
    assert any(isinstance(e, flute_rs.FdtReceived) for e in events)
    assert completed(events) == []
    rx.close()  # idempotent


def test_receiver_fed_after_it_was_dropped(tmp_path):
    tx = Sender(1)
    tx.insert(b"late" * 1000, "late.bin", now=0.0)
    packets = send_all(tx)
    rx = Receiver(tmp_path)
    push, events = rx.push, rx.events
    del rx
    gc.collect()
    # The bound methods keep the receiver alive: feeding it still works.
    for p in packets:
        push(p, now=0.0)
    assert [e.content_location for e in completed(events())] == ["late.bin"]
    assert (tmp_path / "late.bin").read_bytes() == b"late" * 1000


def test_a_rust_panic_is_an_exception_not_an_abort():
    with pytest.raises(flute_rs.InternalError) as ei:
        flute_rs._flute_rs._panic_for_test()
    assert "deliberate panic" in str(ei.value)
    assert isinstance(ei.value, flute_rs.FluteError)
    # The interpreter and the module are fine afterwards.
    assert flute_rs.Sender(1).read(now=0.0) is None


def test_exception_hierarchy():
    assert issubclass(flute_rs.InvalidArgumentError, ValueError)
    assert issubclass(flute_rs.InvalidPacketError, ValueError)
    assert issubclass(flute_rs.DuplicateObjectError, ValueError)
    assert issubclass(flute_rs.UnknownObjectError, KeyError)
    for cls in (
        flute_rs.InvalidArgumentError,
        flute_rs.SessionClosedError,
        flute_rs.UnknownObjectError,
        flute_rs.DuplicateObjectError,
        flute_rs.InvalidPacketError,
        flute_rs.InternalError,
    ):
        assert issubclass(cls, flute_rs.FluteError)


def test_output_dir_refuses_unsafe_content_locations(tmp_path):
    out = tmp_path / "out"
    tx = Sender(1)
    tx.insert(b"evil", "../escape.txt", now=0.0)
    tx.insert(b"fine", "ok/fine.txt", now=0.0)
    rx = Receiver(out)
    rx.push_many(send_all(tx), now=0.0)
    events = rx.events()
    assert [e.content_location for e in completed(events)] == ["ok/fine.txt"]
    failed = [e for e in events if isinstance(e, flute_rs.ObjectFailed)]
    assert [e.kind for e in failed] == ["sink"]
    assert not (tmp_path / "escape.txt").exists()
