"""FLUTE (RFC 6726) file delivery from Python, on the flute-rs sans-IO Rust cores.

- ``Sender`` / ``Receiver``: objects in, ALC/LCT datagrams out, and back; explicit or
  default time; typed events; stats as attributes.
- ``Oti``: every FEC scheme of the toolkit (No-Code, Reed-Solomon GF(2^8), GF(2^m) and
  Small Block, Raptor, RaptorQ).
- ``send_file_to_pcap`` / ``receive_pcap`` / ``send_file_udp`` / ``receive_udp``: the I/O
  loops of ``flute-io``, with the GIL released.
- ``flute_rs.compat``: the ``flute-alc`` API (``from flute_rs.compat import sender, receiver``).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Tuple, Union

from ._errors import (
    DuplicateObjectError,
    FluteError,
    InternalError,
    InvalidArgumentError,
    InvalidPacketError,
    SessionClosedError,
    UnknownObjectError,
)
from ._flute_rs import (
    CarouselPassDone,
    FdtFailed,
    FdtPublished,
    FdtReceived,
    MissingBlock,
    ObjectComplete,
    ObjectFailed,
    ObjectProgress,
    ObjectRemoved,
    ObjectSent,
    ObjectStarted,
    Oti,
    PacketInfo,
    Receiver,
    ReceiverEvent,
    ReceiverStats,
    SendFailed,
    SendStarted,
    Sender,
    SenderClosed,
    SenderEvent,
    SenderStats,
    SessionClosed,
    __version__,
    parse_packet,
)

__all__ = [
    "CarouselPassDone",
    "DuplicateObjectError",
    "FdtFailed",
    "FdtPublished",
    "FdtReceived",
    "FluteError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidPacketError",
    "MissingBlock",
    "ObjectComplete",
    "ObjectFailed",
    "ObjectProgress",
    "ObjectRemoved",
    "ObjectSent",
    "ObjectStarted",
    "Oti",
    "PacketInfo",
    "Receiver",
    "ReceiverEvent",
    "ReceiverStats",
    "SendFailed",
    "SendStarted",
    "Sender",
    "SenderClosed",
    "SenderEvent",
    "SenderStats",
    "SessionClosed",
    "SessionClosedError",
    "UnknownObjectError",
    "__version__",
    "parse_packet",
    "receive_pcap",
    "receive_udp",
    "send_file_to_pcap",
    "send_file_udp",
]

PathLike = Union[str, "os.PathLike[str]"]

_SENDER_OPTIONS = {
    "oti",
    "profile",
    "max_datagram_size",
    "fdt_mode",
    "fdt_interval",
    "fdt_expires",
    "fdt_oti",
    "fdt_content_encoding",
    "fdt_ext_time",
    "fti",
    "pacing_bps",
    "pacing_burst_bytes",
    "objects_per_queue",
    "first_fdt_instance_id",
    "wall_time",
}


def _split_sender_options(options: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    sender = {k: v for k, v in options.items() if k in _SENDER_OPTIONS}
    obj = {k: v for k, v in options.items() if k not in _SENDER_OPTIONS}
    return sender, obj


def send_file_to_pcap(
    path: PathLike,
    pcap_path: PathLike,
    *,
    tsi: int = 1,
    content_location: Optional[str] = None,
    destination: str = "224.0.0.1:3400",
    source: Optional[str] = None,
    **options: Any,
) -> Tuple[int, int]:
    """Sends the file ``path`` as a complete FLUTE session into the capture ``pcap_path``
    (UDP to ``destination``), the way ``flute send --no-send --pcap`` does. The file is
    streamed block by block and the GIL is released while the capture is written.

    ``options`` are those of ``Sender(...)`` (``oti``, ``profile``, ``pacing_bps``...) and of
    ``Sender.insert_file(...)`` (``repair``, ``content_encoding``, ``content_type``...).
    Returns ``(datagrams, bytes)``.
    """
    sender_options, object_options = _split_sender_options(options)
    sender = Sender(tsi, **sender_options)
    sender.insert_file(os.fspath(path), content_location, **object_options)
    return sender.run_pcap(os.fspath(pcap_path), destination=destination, source=source)


def receive_pcap(
    pcap_path: PathLike,
    output_dir: Optional[PathLike] = None,
    *,
    port: Optional[int] = None,
    **options: Any,
) -> List[ReceiverEvent]:
    """Receives every FLUTE session in the capture ``pcap_path`` (pcap or pcapng, IP
    fragments reassembled), the way ``flute recv --pcap`` does, into ``output_dir`` (or
    into memory when ``None``). ``port`` keeps only datagrams to that UDP port;
    ``options`` are those of ``Receiver(...)``. The GIL is released while it runs.
    Returns the receiver's events (``ObjectComplete`` has ``path`` or ``data``).

    Sessions replayed from a capture do not time out between packets: the session idle
    timeout defaults to an hour here, as in ``flute recv --pcap``.
    """
    options.setdefault("session_idle_timeout", 3600.0)
    out = os.fspath(output_dir) if output_dir is not None else None
    receiver = Receiver(out, **options)
    receiver.run_pcap(os.fspath(pcap_path), port=port)
    return list(receiver.events())


def send_file_udp(
    path: PathLike,
    destination: str,
    *,
    tsi: int = 1,
    content_location: Optional[str] = None,
    bind: Optional[str] = None,
    interface: Optional[str] = None,
    ttl: int = 1,
    timeout: Optional[float] = None,
    **options: Any,
) -> Tuple[int, int]:
    """Sends the file ``path`` as a complete FLUTE session over UDP to ``destination``
    (``"ip:port"``, unicast or multicast), paced when ``pacing_bps`` is given, with the
    GIL released. ``options`` as for ``send_file_to_pcap``. Returns ``(datagrams, bytes)``.
    """
    sender_options, object_options = _split_sender_options(options)
    sender = Sender(tsi, **sender_options)
    sender.insert_file(os.fspath(path), content_location, **object_options)
    return sender.run_udp(
        destination, bind=bind, interface=interface, ttl=ttl, timeout=timeout
    )


def receive_udp(
    listen: str,
    output_dir: Optional[PathLike] = None,
    *,
    source: Optional[str] = None,
    interface: Optional[str] = None,
    timeout: Optional[float] = None,
    max_objects: Optional[int] = None,
    until_closed: bool = True,
    **options: Any,
) -> List[ReceiverEvent]:
    """Receives FLUTE over UDP on ``listen`` (``"ip:port"``; a multicast group is joined,
    source-specifically with ``source``) until the session closes, ``max_objects``
    objects are done, or ``timeout`` seconds pass, with the GIL released. ``options`` are
    those of ``Receiver(...)``. Returns the receiver's events.
    """
    out = os.fspath(output_dir) if output_dir is not None else None
    receiver = Receiver(out, **options)
    receiver.run_udp(
        listen,
        source=source,
        interface=interface,
        timeout=timeout,
        max_objects=max_objects,
        until_closed=until_closed,
    )
    return list(receiver.events())
