"""flute_rs.compat against flute-alc's own documentation and tests: its README's Python
examples and its Python test module run with only the import changed."""

import json
import logging
import os
import pathlib
import re
import subprocess
import textwrap
import types
import unittest

import pytest

import flute_rs
from flute_rs.compat import receiver, sender

from conftest import pseudo_random

REPO = pathlib.Path(__file__).resolve().parents[3]
IMPORT = "from flute import"
COMPAT_IMPORT = "from flute_rs.compat import"


def flute_alc_source() -> pathlib.Path:
    """The source of the `flute` crate 1.11.7 (flute-alc's Rust side, a dev-dependency of
    the workspace), as cargo fetched it: its README and py_tests are flute-alc's documented
    Python examples."""
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    for p in json.loads(meta.stdout)["packages"]:
        if p["name"] == "flute" and p["version"] == "1.11.7":
            return pathlib.Path(p["manifest_path"]).parent
    raise AssertionError("the flute 1.11.7 crate is not in cargo metadata")


def python_examples(readme: str):
    section = readme[readme.index("# Python bindings") :]
    return [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", section, re.S)]


class _Done(Exception):
    pass


def test_flute_alc_readme_examples_run_unchanged_but_the_import(tmp_path, monkeypatch):
    examples = python_examples((flute_alc_source() / "README.md").read_text())
    assert len(examples) == 2
    send_src, recv_src = examples
    assert IMPORT in send_src and IMPORT in recv_src

    content = pseudo_random(300_000)
    src = tmp_path / "file"
    src.write_bytes(content)
    dest = tmp_path / "dest"
    dest.mkdir()

    # Capture what the sender example reads, to feed the receiver example.
    sent = []
    real_read = sender.Sender.read

    def read(self):
        p = real_read(self)
        if p is not None:
            sent.append(p)
        return p

    monkeypatch.setattr(sender.Sender, "read", read)

    def adapt(code: str) -> str:
        # The only edits: the import, and the placeholder paths.
        return (
            code.replace(IMPORT, COMPAT_IMPORT)
            .replace('"/path/to/file"', repr(str(src)))
            .replace('"/path/to/dest"', repr(str(dest)))
        )

    exec(compile(adapt(send_src), "flute-alc README (sender)", "exec"), {})
    assert len(sent) > 200

    queue = list(sent)

    def receive_from_udp_socket():
        if not queue:
            raise _Done
        return queue.pop(0)

    ns = {"receive_from_udp_socket": receive_from_udp_socket}
    with pytest.raises(_Done):
        exec(compile(adapt(recv_src), "flute-alc README (receiver)", "exec"), ns)
    assert (dest / "file").read_bytes() == content


def test_flute_alc_python_test_module_passes_with_compat():
    code = (flute_alc_source() / "py_tests" / "__init__.py").read_text()
    assert IMPORT in code
    module = types.ModuleType("flute_alc_py_tests_on_compat")
    exec(compile(code.replace(IMPORT, COMPAT_IMPORT), "flute-alc py_tests", "exec"), module.__dict__)
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(module.SenderReceiverTestCase)
    assert suite.countTestCases() >= 8
    result = unittest.TextTestRunner(verbosity=0).run(suite)
    assert result.wasSuccessful(), result.failures + result.errors
    logging.getLogger().setLevel(logging.WARNING)  # the module turned DEBUG on


def test_defaults_match_flute_alc():
    c = sender.Config()
    assert (c.fdt_duration_ms, c.fdt_start_id, c.fdt_cenc, c.fdt_inband_sct) == (3_600_000, 1, 0, True)
    assert (c.multiplex_files, c.interleave_blocks, c.fdt_xml_profile) == (3, 4, "extended")
    o = sender.Oti()
    assert (o.fec_encoding_id, o.encoding_symbol_length, o.maximum_source_block_length) == (0, 1424, 64)
    o = sender.Oti.new_reed_solomon_rs28(1400, 64, 20)
    assert (o.fec_encoding_id, o.max_number_of_parity_symbols, o.parity_symbols_percentage) == (5, 20, None)
    o = sender.Oti.new_reed_solomon_rs28_under_specified(1400, 64, 20)
    assert (o.fec_encoding_id, o.fec_instance_id, o.inband_fti) == (129, 0, True)
    assert sender.Oti.new_no_code(1400, 64).max_transfer_length > 1 << 30
    r = receiver.Config()
    assert (r.max_objects_error, r.session_timeout_ms, r.object_timeout_ms) == (0, None, 10_000)


def test_same_exceptions_as_flute_alc(tmp_path):
    c = sender.Config()
    with pytest.raises(TypeError):
        c.fdt_cenc = 9
    with pytest.raises(TypeError):
        c.fdt_xml_profile = "unknown"
    with pytest.raises(TypeError):
        sender.Oti.new_reed_solomon_rs28(1400, 250, 20)  # k + parity > 255
    with pytest.raises(OverflowError):
        sender.Oti.new_reed_solomon_rs28(1400, 300, 20)
    o = sender.Oti()
    with pytest.raises(TypeError):
        o.fec_encoding_id = 3
    with pytest.raises(ValueError):
        sender.Sender(1 << 50, sender.Oti.new_no_code(1400, 64), c)
    s = sender.Sender(1, sender.Oti.new_no_code(1400, 64), c)
    with pytest.raises(TypeError):
        s.add_object_from_buffer(b"x", "text", "relative.txt", None)
    with pytest.raises(TypeError):
        s.add_file(str(tmp_path / "missing"), 0, "text")
    with pytest.raises(TypeError):
        s.add_file(__file__, 7, "text")
    assert s.remove_object(99) is False
    with pytest.raises(TypeError):
        receiver.ObjectWriterBuilder(__file__)
    with pytest.raises(TypeError):
        receiver.LCTHeader(b"xx")


def test_toi_nb_objects_remove_and_lct_header():
    s = sender.Sender(1234, sender.Oti.new_no_code(1400, 64), sender.Config())
    t1 = s.add_object_from_buffer(b"a" * 5000, "text", "file:///a.txt", None)
    t2 = s.add_object_from_buffer(b"b", "text", "http://host/b.txt")
    assert (t1, t2, s.nb_objects()) == (1, 2, 2)
    assert s.remove_object(t2) is True and s.nb_objects() == 1
    s.publish()
    first = s.read()
    h = receiver.LCTHeader(first)
    assert (h.tsi, h.toi, h.cci, h.sbn, h.esi) == (1234, 0, 0, 0, 0)
    while s.read() is not None:
        pass
    assert s.nb_objects() == 0


def test_buffer_writer_objects_can_be_read_back():
    s = sender.Sender(1, sender.Oti.new_reed_solomon_rs28(1400, 50, 10), sender.Config())
    a, b = pseudo_random(100_000, 1), pseudo_random(70_000, 2)
    s.add_object_from_buffer(a, "application/octet-stream", "file:///a.bin")
    s.add_object_from_buffer(b, "application/octet-stream", "file:///b.bin")
    s.publish()
    r = receiver.MultiReceiver(receiver.ObjectWriterBuilder.new_buffer(), receiver.Config())
    ep = receiver.UDPEndpoint("224.0.0.1", 1234)
    while (p := s.read()) is not None:
        r.push(ep, p)
    got = {e.content_location: e.data for e in r.events() if isinstance(e, flute_rs.ObjectComplete)}
    assert got == {"file:///a.bin": a, "file:///b.bin": b}
    assert r.stats.objects_completed == 2


def test_raptorq_and_gf2m_additions(tmp_path):
    for oti in (
        sender.Oti.new_raptorq(1400, 64, 8),
        sender.Oti.new_raptor(1400, 64, 16),
        sender.Oti.new_reed_solomon_gf2m(1400, 50, 10),
    ):
        s = sender.Sender(1, oti, sender.Config())
        data = pseudo_random(150_000, oti.fec_encoding_id)
        s.add_object_from_buffer(data, "x", "file:///x.bin")
        w = receiver.ObjectWriterBuilder(str(tmp_path))
        r = receiver.Receiver(receiver.UDPEndpoint("224.0.0.1", 1234), 1, w, receiver.Config())
        i = 0
        while (p := s.read()) is not None:
            i += 1
            if i % 13 != 5:
                r.push(p)
        assert (tmp_path / "x.bin").read_bytes() == data
        os.remove(tmp_path / "x.bin")
