"""Interop with flute-alc 1.11.7 (PyPI, module `flute`) in one Python process, both ways:
its datagrams into our receivers, ours into its receiver with its memory and file
writers. No-Code and Reed-Solomon GF(2^8) (ID 5; and 129) with and without loss,
Content-Encoding, several files.

flute-alc's memory writer cannot be read from Python (one of its gaps); its completions
are counted from the log records its Rust side sends to Python's `logging`."""

import logging
import pathlib

import pytest

import flute  # flute-alc
from flute import receiver as alc_receiver
from flute import sender as alc_sender

import flute_rs
from flute_rs.compat import sender as compat_sender

from conftest import completed, drop_every, pseudo_random

FILES = {
    "file:///dir/a.bin": pseudo_random(200_000, 1),
    "file:///dir/b.bin": pseudo_random(70_000, 2),
    "file:///c.txt": b"several files " * 3000,
}


def alc_oti(scheme):
    if scheme == "no_code":
        return alc_sender.Oti.new_no_code(1400, 64)
    if scheme == "rs28":
        return alc_sender.Oti.new_reed_solomon_rs28(1400, 50, 10)
    if scheme == "rs129":
        return alc_sender.Oti.new_reed_solomon_rs28_under_specified(1400, 50, 10)
    raise AssertionError(scheme)


def our_oti(scheme):
    return {
        "no_code": (flute_rs.Oti.no_code(1400, 64), None),
        "rs28": (flute_rs.Oti.reed_solomon_gf28(1400, 50, 60), 10),
        "rs129": (flute_rs.Oti.reed_solomon_small_block(1400, 50, 60), 10),
    }[scheme]


def read_all(s):
    out = []
    while (p := s.read()) is not None:
        out.append(p)
    return out


def their_packets(scheme, files, tmp_path=None, cenc=0):
    s = alc_sender.Sender(1, alc_oti(scheme), alc_sender.Config())
    for loc, data in files.items():
        if cenc:
            path = tmp_path / pathlib.PurePosixPath(loc).name
            path.write_bytes(data)
            s.add_file(str(path), cenc, "application/octet-stream", loc, None)
        else:
            s.add_object_from_buffer(data, "application/octet-stream", loc, None)
    s.publish()
    return read_all(s)


def our_packets(scheme, files, encoding=None):
    oti, repair = our_oti(scheme)
    tx = flute_rs.Sender(1, oti=oti)
    for loc, data in files.items():
        tx.insert(data, loc, repair=repair, content_encoding=encoding, content_md5=encoding is None)
    tx.close()
    out = []
    while batch := tx.read_many(1024):
        out.extend(batch)
    return out


def into_ours(packets):
    rx = flute_rs.Receiver()
    rx.push_many(packets)
    return {e.content_location: e.data for e in completed(rx.events())}


def into_theirs_files(packets, dest):
    r = alc_receiver.Receiver(
        alc_receiver.UDPEndpoint("224.0.0.1", 3400),
        1,
        alc_receiver.ObjectWriterBuilder(str(dest)),
        alc_receiver.Config(),
    )
    for p in packets:
        r.push(p)
    return {
        f"file:///{p.relative_to(dest).as_posix()}": p.read_bytes()
        for p in dest.rglob("*")
        if p.is_file()
    }


@pytest.fixture
def alc_log(caplog):
    caplog.set_level(logging.INFO, logger="flute")
    return caplog


def into_theirs_memory(packets, log):
    r = alc_receiver.Receiver(
        alc_receiver.UDPEndpoint("224.0.0.1", 3400),
        1,
        alc_receiver.ObjectWriterBuilder.new_buffer(),
        alc_receiver.Config(),
    )
    log.clear()
    for p in packets:
        r.push(p)
    done = [r for r in log.records if r.getMessage() == "Object complete !"]
    errors = [r for r in log.records if "error" in r.getMessage().lower()]
    return len(done), errors


CASES = [("no_code", None), ("rs28", None), ("rs28", 11), ("rs129", None), ("rs129", 13)]


@pytest.mark.parametrize("scheme,loss", CASES)
def test_theirs_into_ours(scheme, loss):
    packets = their_packets(scheme, FILES)
    if loss:
        packets = drop_every(packets, loss)
    assert into_ours(packets) == FILES


@pytest.mark.parametrize("scheme,loss", CASES)
def test_theirs_into_our_compat_file_writer(scheme, loss, tmp_path):
    from flute_rs.compat import receiver

    packets = their_packets(scheme, FILES)
    if loss:
        packets = drop_every(packets, loss)
    r = receiver.Receiver(
        receiver.UDPEndpoint("224.0.0.1", 3400), 1, receiver.ObjectWriterBuilder(str(tmp_path)), receiver.Config()
    )
    for p in packets:
        r.push(p)
    assert (tmp_path / "dir" / "a.bin").read_bytes() == FILES["file:///dir/a.bin"]
    assert (tmp_path / "dir" / "b.bin").read_bytes() == FILES["file:///dir/b.bin"]
    assert (tmp_path / "c.txt").read_bytes() == FILES["file:///c.txt"]


@pytest.mark.parametrize("scheme,loss", CASES)
def test_ours_into_their_file_writer(scheme, loss, tmp_path):
    packets = our_packets(scheme, FILES)
    if loss:
        packets = drop_every(packets, loss)
    assert into_theirs_files(packets, tmp_path) == FILES


@pytest.mark.parametrize("scheme,loss", CASES)
def test_ours_into_their_memory_writer(scheme, loss, alc_log):
    packets = our_packets(scheme, FILES)
    if loss:
        packets = drop_every(packets, loss)
    done, errors = into_theirs_memory(packets, alc_log)
    assert (done, errors) == (len(FILES), [])


def test_their_memory_writer_count_is_meaningful(alc_log):
    """The log-based check above does see a failure: half the packets of a No-Code
    object cannot complete it."""
    packets = our_packets("no_code", {"file:///x.bin": pseudo_random(50_000)})
    done, _ = into_theirs_memory(packets[: len(packets) // 2], alc_log)
    assert done == 0


@pytest.mark.parametrize("cenc", [1, 2, 3])
def test_known_gap_e_their_content_encoding_into_ours(cenc, tmp_path):
    """Gap E: flute-alc's Python `add_file(path, cenc, ...)` always puts EXT_CENC on the
    data packets too (in-band CENC). RFC 6726 §3.4.3 defines EXT_CENC for FDT Instance
    packets, and our receiver drops a data packet that carries it (bad-input catalogue
    item 21, counted as `ext_fdt_on_data`), so no such object completes. Its FDT and the
    Content-Encoding in it are fine; this test fails when either side changes."""
    packets = their_packets("no_code", FILES, tmp_path, cenc=cenc)
    data = [p for p in packets if flute_rs.parse_packet(p).toi != 0]
    assert all(flute_rs.parse_packet(p).cenc == cenc for p in data)
    rx = flute_rs.Receiver()
    rx.push_many(packets)
    assert completed(rx.events()) == []
    assert rx.stats.dropped == {"ext_fdt_on_data": len(data)}
    # Without Content-Encoding the same objects complete (test_theirs_into_ours).


@pytest.mark.parametrize("cenc", [1, 2, 3])
def test_their_compressed_fdt_into_ours(cenc):
    """Content-Encoding of the FDT (EXT_CENC on TOI 0, RFC 6726 §3.4.3): zlib, deflate, gzip."""
    config = alc_sender.Config()
    config.fdt_cenc = cenc
    s = alc_sender.Sender(1, alc_oti("rs28"), config)
    for loc, data in FILES.items():
        s.add_object_from_buffer(data, "application/octet-stream", loc, None)
    s.publish()
    packets = read_all(s)
    assert flute_rs.parse_packet(packets[0]).cenc == cenc
    assert into_ours(drop_every(packets, 11)) == FILES


@pytest.mark.parametrize("encoding", ["zlib", "deflate", "gzip"])
def test_our_compressed_fdt_into_theirs(encoding, tmp_path):
    tx = flute_rs.Sender(1, oti=flute_rs.Oti.no_code(), fdt_content_encoding=encoding)
    for loc, data in FILES.items():
        tx.insert(data, loc)
    tx.close()
    packets = tx.read_many(100_000)
    assert flute_rs.parse_packet(packets[0]).cenc in (1, 2, 3)
    assert into_theirs_files(packets, tmp_path) == FILES


@pytest.mark.parametrize("name", ["zlib", "gzip"])
@pytest.mark.parametrize("scheme,loss", [("no_code", None), ("rs28", 11)])
def test_our_content_encoding_into_theirs(name, scheme, loss, tmp_path, alc_log):
    packets = our_packets(scheme, FILES, encoding=name)
    if loss:
        packets = drop_every(packets, loss)
    assert into_theirs_files(packets, tmp_path) == FILES
    assert into_theirs_memory(packets, alc_log) == (len(FILES), [])


def test_known_gap_d_deflate_into_theirs(tmp_path):
    """docs/interop.md gap D: we send HTTP `deflate` (zlib-wrapped, RFC 9110), flute-alc
    reads raw DEFLATE, so its receiver completes nothing. This fails when either side
    changes."""
    packets = our_packets("no_code", FILES, encoding="deflate")
    assert into_theirs_files(packets, tmp_path) == {}
    assert into_ours(packets) == FILES


def test_compat_sender_into_theirs_with_add_file(tmp_path):
    """Our compat sender used exactly like flute-alc's: add_file with every cenc that
    flute-alc reads, RS 28, interleaved blocks, several files."""
    src = tmp_path / "src"
    src.mkdir()
    s = compat_sender.Sender(1, compat_sender.Oti.new_reed_solomon_rs28(1400, 50, 10), compat_sender.Config())
    expected = {}
    for i, (cenc, data) in enumerate([(0, FILES["file:///dir/a.bin"]), (1, FILES["file:///c.txt"]), (3, FILES["file:///dir/b.bin"])]):
        p = src / f"f{i}.bin"
        p.write_bytes(data)
        s.add_file(str(p), cenc, "application/octet-stream")
        expected[f"file:///f{i}.bin"] = data
    s.publish()
    packets = drop_every(read_all(s), 11)
    dest = tmp_path / "dest"
    dest.mkdir()
    assert into_theirs_files(packets, dest) == expected


def test_one_process_both_ways_share_the_session_layout():
    """The same packets parse the same in both: flute-alc's LCTHeader and our parse_packet."""
    for packets in (their_packets("rs28", FILES), our_packets("rs28", FILES)):
        for p in packets[:200]:
            theirs = alc_receiver.LCTHeader(p)
            ours = flute_rs.parse_packet(p)
            assert (theirs.tsi, theirs.toi, theirs.cci) == (ours.tsi, ours.toi, ours.cci)
            if ours.toi != 0:
                assert (theirs.sbn, theirs.esi) == (ours.sbn, ours.esi)
    assert flute.__name__ == "flute"
