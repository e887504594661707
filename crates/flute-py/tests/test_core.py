"""The flute_rs API over the sans-IO cores: round trips for every FEC scheme, time,
events, stats, content encodings, profiles, priorities."""

import pathlib

import pytest

import flute_rs
from flute_rs import Oti, Receiver, Sender

from conftest import completed, drop_every, pseudo_random, send_all

SCHEMES = {
    "no_code": (Oti.no_code(1400, 64), None),
    "rs_gf28": (Oti.reed_solomon_gf28(1400, 50, 60), 10),
    "rs_gf2m": (Oti.reed_solomon_gf2m(1400, 50, 60, m=8, g=1), 10),
    "rs_small_block": (Oti.reed_solomon_small_block(1400, 50, 60), 10),
    "raptor": (Oti.raptor(1400, 60), 20),
    "raptorq": (Oti.raptorq(1400, 60), 12),
    "ldpc_staircase": (Oti.ldpc_staircase(1400, 50, 70), 20),
}


def roundtrip(data, oti, repair, loss=None, **insert):
    tx = Sender(7, oti=oti)
    toi = tx.insert(data, "file:///dir/a.bin", repair=repair, now=0.0, **insert)
    tx.close()
    packets = send_all(tx)
    assert tx.closed
    if loss:
        packets = drop_every(packets, loss)
    rx = Receiver()
    assert rx.push_many(packets, now=0.0) == len(packets)
    return toi, rx, rx.events()


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_every_scheme_round_trip(name, payload):
    oti, repair = SCHEMES[name]
    toi, rx, events = roundtrip(payload, oti, repair)
    done = completed(events)
    assert [(e.toi, e.data) for e in done] == [(toi, payload)]
    assert done[0].content_location == "file:///dir/a.bin"
    assert done[0].path is None
    assert rx.stats.objects_completed == 1


@pytest.mark.parametrize("name", sorted(set(SCHEMES) - {"no_code"}))
def test_every_fec_scheme_recovers_loss(name, payload):
    oti, repair = SCHEMES[name]
    # 1 in 11 data packets lost; the repair symbols make up for it.
    _, rx, events = roundtrip(payload, oti, repair, loss=11)
    assert [e.data for e in completed(events)] == [payload]
    assert rx.stats.objects_failed == 0


def test_no_code_loss_reports_missing_symbols(payload):
    tx = Sender(1)
    toi = tx.insert(payload, "a.bin", now=0.0)
    packets = drop_every(send_all(tx), 50)
    rx = Receiver()
    rx.push_many(packets, now=0.0)
    assert completed(rx.events()) == []
    missing = rx.missing(toi)
    assert missing, "the lost symbols are reported"
    lost = sum(len(m.missing_esis) if not m.untouched else m.source_symbols for m in missing)
    assert lost == 3  # 143 data packets; numbers 3, 53 and 103 dropped
    assert all(isinstance(m, flute_rs.MissingBlock) for m in missing)
    assert rx.missing(toi + 1000) is None


def test_oti_properties_and_transfer_length():
    o = Oti.raptorq(1400, 1024)
    assert (o.name, o.encoding_id, o.instance_id, o.symbol_length) == ("RaptorQ", 6, None, 1400)
    d = o.for_transfer_length(64 << 20)
    assert d["encoding_id"] == 6 and d["transfer_length"] == 64 << 20
    assert d["scheme_specific"]["z"] == -(-((64 << 20) // 1400 + 1) // 1024)
    small = Oti.reed_solomon_small_block()
    assert (small.encoding_id, small.instance_id) == (129, 0)
    assert Oti.reed_solomon_gf2m(m=4, max_encoding_symbols=15, max_source_block_length=10).for_transfer_length(
        1000
    )["scheme_specific"] == {"m": 4, "g": 1}
    assert Oti.no_code() == Oti.no_code(1400, 64)
    assert "raptorq" in repr(o)


def test_explicit_time_drives_the_fdt_carousel():
    tx = Sender(1, fdt_interval=2.0)
    tx.insert(b"x" * 3000, "a.txt", until_removed=True, carousel_interval=10.0, now=0.0)
    first = send_all(tx, now=0.0)
    assert len(first) == 4  # FDT + 3 data
    assert tx.poll_timeout() == pytest.approx(2.0)
    assert tx.read(now=1.0) is None
    again = tx.read(now=2.0)
    assert again is not None and flute_rs.parse_packet(again).toi == 0
    assert tx.poll_timeout() == pytest.approx(4.0)
    # At 10 s the FDT repetition and the object's second pass are both due.
    tois = [flute_rs.parse_packet(p).toi for p in send_all(tx, now=10.0)]
    assert tois == [0, 1, 1, 1]


def test_default_time_is_the_real_clock():
    tx = Sender(1)
    tx.insert(b"hello", "h.txt")
    packets = send_all(tx, now=None)
    rx = Receiver()
    rx.push_many(packets)
    assert [e.data for e in completed(rx.events())] == [b"hello"]
    assert 0.0 <= tx.time < 60.0 and 0.0 <= rx.time < 60.0


def test_object_timeout_and_session_close_events(payload):
    tx = Sender(3)
    toi = tx.insert(payload, "big.bin", now=0.0)
    packets = send_all(tx)
    rx = Receiver(object_idle_timeout=5.0, session_idle_timeout=20.0)
    rx.push_many(packets[:-10], now=0.0)
    rx.handle_timeout(now=6.0)
    # Idle with blocks decoded: the object waits, dormant, for the carousel to bring the
    # rest (a slow bearer must not lose it); it fails when its session ends.
    assert [e for e in rx.events() if isinstance(e, flute_rs.ObjectFailed)] == []
    rx.handle_timeout(now=21.0)
    failed = [e for e in rx.events() if isinstance(e, flute_rs.ObjectFailed)]
    assert [(e.toi, e.kind, e.tsi) for e in failed] == [(toi, "timeout", 3)]
    assert "source blocks" in failed[0].reason
    assert isinstance(failed[0], flute_rs.ReceiverEvent)

    # With no block decoded, the object idle timeout itself fails the object.
    rx = Receiver(object_idle_timeout=5.0)
    rx.push_many(packets[:4], now=0.0)
    rx.handle_timeout(now=6.0)
    failed = [e for e in rx.events() if isinstance(e, flute_rs.ObjectFailed)]
    assert [(e.toi, e.kind) for e in failed] == [(toi, "timeout")]

    tx2 = Sender(4)
    tx2.insert(b"abc", "c.txt", now=0.0)
    tx2.close()
    rx2 = Receiver(close_session_grace=0.5)
    rx2.push_many(send_all(tx2), now=0.0)
    rx2.handle_timeout(now=1.0)
    closed = [e for e in rx2.events() if isinstance(e, flute_rs.SessionClosed)]
    assert [(e.tsi, e.reason) for e in closed] == [(4, "close_session")]


def test_sender_events_and_stats():
    tx = Sender(1)
    toi = tx.insert(b"a" * 5000, "a.txt", now=0.0)
    tx.close()
    packets = send_all(tx)
    kinds = [type(e) for e in tx.events()]
    assert kinds == [
        flute_rs.FdtPublished,
        flute_rs.SendStarted,
        flute_rs.CarouselPassDone,
        flute_rs.ObjectSent,
        flute_rs.SenderClosed,
    ]
    st = tx.stats
    assert (st.packets, st.fdt_packets, st.source_symbols, st.objects_sent) == (len(packets), 1, 4, 1)
    assert st.bytes == sum(map(len, packets))
    rx = Receiver()
    rx.push_many(packets, now=0.0)
    rs = rx.stats
    assert (rs.datagrams, rs.objects_completed, rs.fdt_instances, rs.sessions) == (len(packets), 1, 1, 1)
    assert rs.bytes == st.bytes and rs.dropped == {} and rs.dropped_total == 0
    assert [e.toi for e in completed(rx.events())] == [toi]


@pytest.mark.parametrize("encoding", ["gzip", "zlib", "deflate", "zstd"])
def test_content_encodings(encoding):
    data = b"compressible " * 20_000
    tx = Sender(1)
    tx.insert(data, "c.txt", content_encoding=encoding, content_md5=True, now=0.0)
    packets = send_all(tx)
    assert len(packets) < 20  # the object was compressed
    rx = Receiver()
    rx.push_many(packets, now=0.0)
    done = completed(rx.events())
    assert [(e.data, e.content_length) for e in done] == [(data, len(data))]


def test_output_dir_and_insert_file(tmp_path, payload):
    src = tmp_path / "in.bin"
    src.write_bytes(payload)
    tx = Sender(1, oti=Oti.raptorq())
    tx.insert_file(src, "http://example.com/sub/out.bin", repair_percent=5, now=0.0)
    tx.insert_file(str(src), now=0.0)  # Content-Location: the file name
    out = tmp_path / "out"
    rx = Receiver(out)
    rx.push_many(send_all(tx), now=0.0)
    done = completed(rx.events())
    assert sorted(e.content_location for e in done) == ["http://example.com/sub/out.bin", "in.bin"]
    for e in done:
        assert e.data is None
        assert pathlib.Path(e.path).read_bytes() == payload
    assert (out / "sub" / "out.bin").exists() and (out / "in.bin").exists()


def test_priorities_pre_empt():
    tx = Sender(1)
    low = tx.insert(b"l" * 14000, "low.bin", priority=0, now=0.0)
    high = tx.insert(b"h" * 14000, "high.bin", priority=5, now=0.0)
    order = [flute_rs.parse_packet(p).toi for p in send_all(tx)]
    data = [t for t in order if t != 0]
    assert data[:10] == [high] * 10 and data[10:] == [low] * 10


@pytest.mark.parametrize("profile,version", [("rfc6726", 2), ("rfc3926", 1), ("mbms", 1)])
def test_profiles(profile, version):
    tx = Sender(1, profile=profile)
    tx.insert(b"p", "p.txt", now=0.0, etag="v1", groups=["g"])
    packets = send_all(tx)
    assert flute_rs.parse_packet(packets[0]).flute_version == version
    rx = Receiver()
    rx.push_many(packets, now=0.0)
    assert [e.data for e in completed(rx.events())] == [b"p"]


def test_tsi_filter_and_endpoints():
    a, b = Sender(1), Sender(2)
    a.insert(b"from a", "a.txt", now=0.0)
    b.insert(b"from b", "b.txt", now=0.0)
    rx = Receiver(tsi=[2])
    rx.push_many(send_all(a) + send_all(b), now=0.0)
    assert [e.data for e in completed(rx.events())] == [b"from b"]
    assert rx.stats.dropped["tsi_filtered"] == 2
    # The same TSI on two endpoints is two sessions.
    c = Sender(9)
    c.insert(b"x", "x.txt", now=0.0)
    pk = send_all(c)
    rx2 = Receiver()
    rx2.push_many(pk, now=0.0, destination="224.0.0.1:3400")
    rx2.push_many(pk, now=0.0, destination="224.0.0.2:3400", source="10.0.0.1")
    done = completed(rx2.events())
    assert sorted((e.destination, e.source) for e in done) == [
        ("224.0.0.1:3400", None),
        ("224.0.0.2:3400", "10.0.0.1"),
    ]


def test_batch_calls_accept_iterables_and_read_many_bounds():
    tx = Sender(1)
    tx.insert(b"z" * 14000, "z.bin", now=0.0)
    first = tx.read_many(3, now=0.0)
    assert len(first) == 3 and all(isinstance(p, bytes) for p in first)
    rest = tx.read_many(1000, now=0.0)
    assert len(rest) == 8
    assert tx.read_many(10, now=0.0) == []
    rx = Receiver()
    assert rx.push_many(tuple(first), now=0.0) == 3
    assert rx.push_many((bytearray(p) for p in rest[:4]), now=0.0) == 4
    assert rx.push_many([memoryview(p) for p in rest[4:]], now=0.0) == 4
    assert [e.data for e in completed(rx.events())] == [b"z" * 14000]


def test_carousel_until_removed_and_remove():
    tx = Sender(1, fdt_interval=None)
    toi = tx.insert(b"c" * 1400, "c.bin", until_removed=True, carousel_interval=1.0, now=0.0)
    assert len(send_all(tx, now=0.0)) == 2
    assert len(send_all(tx, now=1.0)) == 1
    tx.remove(toi)
    assert send_all(tx, now=5.0) == []
    assert any(isinstance(e, flute_rs.ObjectRemoved) for e in tx.events())


def test_readme_example_runs():
    """The README's example, as a doctest (also run by pytest --doctest-glob)."""
    import doctest

    readme = pathlib.Path(__file__).resolve().parent.parent / "README.md"
    failures, tried = doctest.testfile(str(readme), module_relative=False)
    assert tried > 0 and failures == 0


def test_pseudo_random_is_deterministic():
    assert pseudo_random(16, 3) == pseudo_random(16, 3)
