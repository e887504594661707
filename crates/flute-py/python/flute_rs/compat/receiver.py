"""``flute.receiver`` of flute-alc 1.11.7, on the flute-rs receiver: ``Config``,
``ObjectWriterBuilder``, ``UDPEndpoint``, ``Receiver``, ``MultiReceiver``, ``LCTHeader``."""

from __future__ import annotations

import collections
import ipaddress
import os
from typing import Any, Deque, Dict, List, Optional

import flute_rs

from ._common import U64, check_int

__all__ = [
    "Config",
    "LCTHeader",
    "MultiReceiver",
    "ObjectWriterBuilder",
    "Receiver",
    "UDPEndpoint",
]

# flute-alc keeps sessions without a timeout when session_timeout_ms is None.
_FOREVER = 100 * 365 * 86400.0
# Events kept by a compat receiver for events() (the oldest are dropped beyond this).
_EVENT_MEMORY = 4096
_DRAIN_EVERY = 1024


class Config:
    """Receiver configuration (flute-alc defaults)."""

    def __init__(self) -> None:
        self._max_objects_error = 0
        self._session_timeout_ms: Optional[int] = None
        self._object_timeout_ms: Optional[int] = 10_000

    @property
    def max_objects_error(self) -> int:
        """Accepted for compatibility (flute-rs reports every failure as an event)."""
        return self._max_objects_error

    @max_objects_error.setter
    def max_objects_error(self, value: int) -> None:
        self._max_objects_error = check_int("max_objects_error", value, 0, U64)

    @property
    def session_timeout_ms(self) -> Optional[int]:
        """A session without datagrams for this long ends (None: never)."""
        return self._session_timeout_ms

    @session_timeout_ms.setter
    def session_timeout_ms(self, value: Optional[int]) -> None:
        self._session_timeout_ms = None if value is None else check_int("session_timeout_ms", value, 0, U64)

    @property
    def object_timeout_ms(self) -> Optional[int]:
        """An object without new symbols for this long fails (None: never)."""
        return self._object_timeout_ms

    @object_timeout_ms.setter
    def object_timeout_ms(self, value: Optional[int]) -> None:
        self._object_timeout_ms = None if value is None else check_int("object_timeout_ms", value, 0, U64)

    def _native_options(self) -> Dict[str, Any]:
        def secs(ms: Optional[int]) -> float:
            return _FOREVER if ms is None else min(ms / 1000.0, _FOREVER)

        return {
            "session_idle_timeout": secs(self._session_timeout_ms),
            "object_idle_timeout": secs(self._object_timeout_ms),
        }


class ObjectWriterBuilder:
    """Where objects go: ``ObjectWriterBuilder(path)`` writes each object to
    ``path/<Content-Location path>`` (the directory must exist);
    ``ObjectWriterBuilder.new_buffer()`` keeps them in memory (read them back with
    ``Receiver.events()``, a flute-rs addition)."""

    def __init__(self, path: str) -> None:
        p = os.fspath(path)
        if not os.path.isdir(p):
            raise TypeError(f"{p!r} is not a directory")
        self._path: Optional[str] = p

    @staticmethod
    def new_buffer() -> "ObjectWriterBuilder":
        w = ObjectWriterBuilder.__new__(ObjectWriterBuilder)
        w._path = None
        return w


class UDPEndpoint:
    """The UDP endpoint a session is received on."""

    def __init__(
        self, destination_group_address: str, port: int, source_address: Optional[str] = None
    ) -> None:
        check_int("port", port, 0, 65535)
        self.destination_group_address = str(destination_group_address)
        self.port = port
        self.source_address = source_address

    def _native(self) -> Dict[str, Optional[str]]:
        try:
            ip = ipaddress.ip_address(self.destination_group_address)
            dst = f"[{ip}]:{self.port}" if ip.version == 6 else f"{ip}:{self.port}"
        except ValueError:
            dst = f"0.0.0.0:{self.port}"
        src = None
        if self.source_address is not None:
            try:
                src = str(ipaddress.ip_address(self.source_address))
            except ValueError:
                src = None
        return {"destination": dst, "source": src}


class _Base:
    def __init__(self, writer: ObjectWriterBuilder, config: Config, **native: Any) -> None:
        if not isinstance(writer, ObjectWriterBuilder):
            raise TypeError(f"writer must be an ObjectWriterBuilder, not {type(writer).__name__}")
        if not isinstance(config, Config):
            raise TypeError(f"config must be a receiver.Config, not {type(config).__name__}")
        self._native = flute_rs.Receiver(writer._path, **config._native_options(), **native)
        self._events: Deque[flute_rs.ReceiverEvent] = collections.deque(maxlen=_EVENT_MEMORY)
        self._pushes = 0

    def _count(self) -> None:
        self._pushes += 1
        if self._pushes >= _DRAIN_EVERY:
            self._drain()

    def _drain(self) -> None:
        self._pushes = 0
        for ev in self._native.events():
            if not isinstance(ev, flute_rs.ObjectProgress):
                self._events.append(ev)

    def events(self) -> List[flute_rs.ReceiverEvent]:
        """flute-rs addition: the events since the last call (``ObjectComplete`` carries
        the object's ``data`` with ``new_buffer()``, its ``path`` otherwise). The newest
        4096 are kept; progress events are left out."""
        self._drain()
        out = list(self._events)
        self._events.clear()
        return out

    @property
    def stats(self) -> flute_rs.ReceiverStats:
        """flute-rs addition: the receiver's counters."""
        return self._native.stats


class Receiver(_Base):
    """``Receiver(endpoint, tsi, writer, config)``: one session; ``push(data)`` per datagram."""

    def __init__(
        self, endpoint: UDPEndpoint, tsi: int, writer: ObjectWriterBuilder, config: Config
    ) -> None:
        if not isinstance(endpoint, UDPEndpoint):
            raise TypeError(f"endpoint must be a UDPEndpoint, not {type(endpoint).__name__}")
        check_int("tsi", tsi, 0, U64)
        super().__init__(writer, config, tsi=tsi, **endpoint._native())
        self._push = self._native.push

    def push(self, data: bytes) -> None:
        """Hands one datagram to the receiver (a bad one is counted, not raised)."""
        self._push(data)
        self._pushes += 1
        if self._pushes >= _DRAIN_EVERY:
            self._drain()


class MultiReceiver(_Base):
    """``MultiReceiver(writer, config)``: any session; ``push(endpoint, data)``."""

    def __init__(self, writer: ObjectWriterBuilder, config: Config) -> None:
        super().__init__(writer, config)

    def push(self, endpoint: UDPEndpoint, data: bytes) -> None:
        if not isinstance(endpoint, UDPEndpoint):
            raise TypeError(f"endpoint must be a UDPEndpoint, not {type(endpoint).__name__}")
        ep = endpoint._native()
        self._native.push(data, destination=ep["destination"], source=ep["source"])
        self._count()


class LCTHeader:
    """The LCT header fields of an ALC packet: ``cci``, ``toi``, ``tsi``, ``sbn``, ``esi``."""

    def __init__(self, data: bytes) -> None:
        try:
            p = flute_rs.parse_packet(data)
        except ValueError as e:
            raise TypeError(str(e)) from None
        self.cci: int = p.cci
        self.toi: int = p.toi if p.toi is not None else 0
        self.tsi: int = p.tsi if p.tsi is not None else 0
        self.sbn: Optional[int] = p.sbn
        self.esi: Optional[int] = p.esi
