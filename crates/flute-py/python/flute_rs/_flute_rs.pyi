"""Type stubs of the native module flute_rs._flute_rs (re-exported by flute_rs)."""

import os
from typing import Dict, Iterable, List, Optional, Tuple, Union, final

_Datagram = Union[bytes, bytearray, memoryview]
_Path = Union[str, "os.PathLike[str]"]

__version__: str

@final
class Oti:
    """How objects are FEC-coded (RFC 5052 OTI without the transfer length)."""

    @staticmethod
    def no_code(symbol_length: int = 1400, max_source_block_length: int = 64) -> Oti: ...
    @staticmethod
    def reed_solomon_gf28(
        symbol_length: int = 1400,
        max_source_block_length: int = 200,
        max_encoding_symbols: int = 255,
    ) -> Oti: ...
    @staticmethod
    def reed_solomon_gf2m(
        symbol_length: int = 1400,
        max_source_block_length: int = 200,
        max_encoding_symbols: int = 255,
        m: int = 8,
        g: int = 1,
    ) -> Oti: ...
    @staticmethod
    def reed_solomon_small_block(
        symbol_length: int = 1400,
        max_source_block_length: int = 200,
        max_encoding_symbols: int = 255,
    ) -> Oti: ...
    @staticmethod
    def raptor(
        symbol_length: int = 1400,
        max_source_block_length: int = 1024,
        source_blocks: Optional[int] = None,
        sub_blocks: int = 1,
        alignment: Optional[int] = None,
    ) -> Oti: ...
    @staticmethod
    def ldpc_staircase(
        symbol_length: int = 1400,
        max_source_block_length: int = 1024,
        max_encoding_symbols: int = 1280,
        n1: int = 3,
        seed: int = 1,
    ) -> Oti: ...
    @staticmethod
    def raptorq(
        symbol_length: int = 1400,
        max_source_block_length: int = 1024,
        source_blocks: Optional[int] = None,
        sub_blocks: int = 1,
        alignment: int = 1,
    ) -> Oti: ...
    @property
    def name(self) -> str: ...
    @property
    def encoding_id(self) -> int: ...
    @property
    def instance_id(self) -> Optional[int]: ...
    @property
    def symbol_length(self) -> int: ...
    @property
    def max_source_block_length(self) -> int: ...
    @property
    def max_encoding_symbols(self) -> Optional[int]: ...
    def for_transfer_length(self, transfer_length: int) -> Dict[str, object]: ...

@final
class SenderStats:
    packets: int
    bytes: int
    fdt_packets: int
    fdt_instances: int
    source_symbols: int
    repair_symbols: int
    objects_sent: int
    objects_failed: int
    paced: int
    fdt_errors: int

@final
class Sender:
    """A sans-IO FLUTE sender. Times are seconds on its own clock (0.0 at creation);
    ``now=None`` is the real monotonic time."""

    def __init__(
        self,
        tsi: int = 1,
        *,
        oti: Optional[Oti] = None,
        profile: str = "rfc6726",
        max_datagram_size: int = 1472,
        fdt_mode: str = "full",
        fdt_interval: Optional[float] = 1.0,
        fdt_expires: float = 3600.0,
        fdt_oti: Optional[Oti] = None,
        fdt_content_encoding: Optional[str] = None,
        fdt_ext_time: bool = False,
        fti: str = "always",
        pacing_bps: Optional[int] = None,
        pacing_burst_bytes: int = 15000,
        objects_per_queue: int = 1,
        first_fdt_instance_id: int = 0,
        wall_time: Optional[float] = None,
    ) -> None: ...
    def insert(
        self,
        data: Union[bytes, bytearray],
        content_location: str,
        *,
        content_type: Optional[str] = None,
        toi: Optional[int] = None,
        oti: Optional[Oti] = None,
        repair: Optional[int] = None,
        repair_percent: Optional[int] = None,
        content_encoding: Optional[str] = None,
        content_md5: bool = False,
        priority: int = 0,
        carousel: int = 1,
        carousel_interval: float = 0.0,
        until_removed: bool = False,
        interleave: int = 1,
        etag: Optional[str] = None,
        groups: Optional[List[str]] = None,
        now: Optional[float] = None,
    ) -> int: ...
    def insert_file(
        self,
        path: _Path,
        content_location: Optional[str] = None,
        *,
        content_type: Optional[str] = None,
        toi: Optional[int] = None,
        oti: Optional[Oti] = None,
        repair: Optional[int] = None,
        repair_percent: Optional[int] = None,
        content_encoding: Optional[str] = None,
        content_md5: bool = False,
        priority: int = 0,
        carousel: int = 1,
        carousel_interval: float = 0.0,
        until_removed: bool = False,
        interleave: int = 1,
        etag: Optional[str] = None,
        groups: Optional[List[str]] = None,
        now: Optional[float] = None,
    ) -> int: ...
    def remove(self, toi: int) -> None: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    def read(self, now: Optional[float] = None) -> Optional[bytes]: ...
    def read_many(self, n: int, now: Optional[float] = None) -> List[bytes]: ...
    def poll_timeout(self) -> Optional[float]: ...
    def handle_timeout(self, now: Optional[float] = None) -> None: ...
    def events(self) -> List[SenderEvent]: ...
    @property
    def stats(self) -> SenderStats: ...
    def run_pcap(
        self, path: _Path, *, destination: str = "224.0.0.1:3400", source: Optional[str] = None
    ) -> Tuple[int, int]: ...
    def run_udp(
        self,
        destination: str,
        *,
        bind: Optional[str] = None,
        interface: Optional[str] = None,
        ttl: int = 1,
        multicast_loop: bool = True,
        timeout: Optional[float] = None,
    ) -> Tuple[int, int]: ...
    @property
    def time(self) -> float: ...
    @property
    def tsi(self) -> int: ...

@final
class MissingBlock:
    sbn: int
    source_symbols: int
    untouched: bool
    missing_esis: List[int]

@final
class ReceiverStats:
    datagrams: int
    bytes: int
    symbols_accepted: int
    dropped: Dict[str, int]
    dropped_total: int
    buffered: int
    fdt_instances: int
    blocks_decoded: int
    objects_completed: int
    objects_failed: int
    buffered_bytes: int
    pending_bytes: int
    active_objects: int
    sessions: int

@final
class Receiver:
    """A sans-IO FLUTE receiver; objects in memory or under ``output_dir``."""

    def __init__(
        self,
        output_dir: Optional[_Path] = None,
        *,
        tsi: Union[int, List[int], None] = None,
        destination: Optional[str] = None,
        source: Optional[str] = None,
        check_expires: bool = False,
        wall_time: Optional[float] = None,
        max_sessions: Optional[int] = None,
        max_concurrent_objects: Optional[int] = None,
        max_object_size: Optional[int] = None,
        max_buffered_bytes: Optional[int] = None,
        max_pending_bytes: Optional[int] = None,
        pending_timeout: Optional[float] = None,
        object_idle_timeout: Optional[float] = None,
        session_idle_timeout: Optional[float] = None,
        close_session_grace: Optional[float] = None,
        max_fdt_size: Optional[int] = None,
        max_fdt_files: Optional[int] = None,
        max_finished_memory: Optional[int] = None,
        zstd_window_log_max: Optional[int] = None,
    ) -> None: ...
    def push(
        self,
        datagram: _Datagram,
        now: Optional[float] = None,
        *,
        destination: Optional[str] = None,
        source: Optional[str] = None,
    ) -> None: ...
    def push_many(
        self,
        datagrams: Iterable[_Datagram],
        now: Optional[float] = None,
        *,
        destination: Optional[str] = None,
        source: Optional[str] = None,
    ) -> int: ...
    def handle_timeout(self, now: Optional[float] = None) -> None: ...
    def poll_timeout(self) -> Optional[float]: ...
    def events(self) -> List[ReceiverEvent]: ...
    def missing(self, toi: int) -> Optional[List[MissingBlock]]: ...
    @property
    def stats(self) -> ReceiverStats: ...
    def run_pcap(self, path: _Path, *, port: Optional[int] = None) -> Dict[str, int]: ...
    def run_udp(
        self,
        listen: str,
        *,
        source: Optional[str] = None,
        interface: Optional[str] = None,
        timeout: Optional[float] = None,
        max_objects: Optional[int] = None,
        until_closed: bool = True,
    ) -> Dict[str, int]: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def time(self) -> float: ...
    def __enter__(self) -> Receiver: ...
    def __exit__(self, *exc: object) -> bool: ...

@final
class PacketInfo:
    tsi: Optional[int]
    toi: Optional[int]
    cci: int
    codepoint: int
    encoding_id: int
    close_session: bool
    close_object: bool
    sbn: Optional[int]
    esi: Optional[int]
    fdt_instance_id: Optional[int]
    flute_version: Optional[int]
    cenc: Optional[int]
    oti: Optional[Dict[str, object]]
    symbols_length: int

def parse_packet(datagram: _Datagram) -> PacketInfo: ...

class SenderEvent: ...

@final
class SendStarted(SenderEvent):
    toi: int

@final
class ObjectSent(SenderEvent):
    toi: int

@final
class ObjectRemoved(SenderEvent):
    toi: int

@final
class SendFailed(SenderEvent):
    toi: int
    reason: str

@final
class CarouselPassDone(SenderEvent):
    toi: int
    passes: int

@final
class FdtPublished(SenderEvent):
    instance_id: int
    files: int

@final
class FdtFailed(SenderEvent):
    error: str

@final
class SenderClosed(SenderEvent): ...

class ReceiverEvent: ...

@final
class FdtReceived(ReceiverEvent):
    tsi: int
    source: Optional[str]
    destination: str
    instance_id: int
    files: int
    complete: bool

@final
class ObjectStarted(ReceiverEvent):
    tsi: int
    source: Optional[str]
    destination: str
    toi: int
    transfer_length: int
    content_location: Optional[str]

@final
class ObjectProgress(ReceiverEvent):
    tsi: int
    source: Optional[str]
    destination: str
    toi: int
    blocks_decoded: int
    blocks_total: int

@final
class ObjectComplete(ReceiverEvent):
    tsi: int
    source: Optional[str]
    destination: str
    toi: int
    content_location: str
    content_length: int
    data: Optional[bytes]
    path: Optional[str]

@final
class ObjectFailed(ReceiverEvent):
    tsi: int
    source: Optional[str]
    destination: str
    toi: int
    kind: str
    reason: str

@final
class SessionClosed(ReceiverEvent):
    tsi: int
    source: Optional[str]
    destination: str
    reason: str

def _panic_for_test() -> None: ...
