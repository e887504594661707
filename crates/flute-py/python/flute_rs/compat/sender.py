"""``flute.sender`` of flute-alc 1.11.7, on the flute-rs sender: ``Config``, ``Oti``, ``Sender``."""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Optional, Set

import flute_rs

from ._common import CENC_NAMES, U16, U32, U64, check_int, check_url

__all__ = ["Config", "Oti", "Sender"]

TSI_MAX = (1 << 48) - 1
_FEC_IDS = (0, 1, 2, 5, 6, 129)


class Config:
    """Sender configuration (flute-alc defaults)."""

    def __init__(self) -> None:
        self._fdt_duration_ms = 3_600_000
        self._fdt_start_id = 1
        self._fdt_cenc = 0
        self._fdt_inband_sct = True
        self._multiplex_files = 3
        self._interleave_blocks = 4
        self._fdt_xml_profile = "extended"

    @property
    def fdt_duration_ms(self) -> int:
        """Lifetime of an FDT Instance (its ``Expires``), in milliseconds."""
        return self._fdt_duration_ms

    @fdt_duration_ms.setter
    def fdt_duration_ms(self, value: int) -> None:
        self._fdt_duration_ms = check_int("fdt_duration_ms", value, 0, U64)

    @property
    def fdt_start_id(self) -> int:
        """FDT Instance ID of the first instance."""
        return self._fdt_start_id

    @fdt_start_id.setter
    def fdt_start_id(self, value: int) -> None:
        self._fdt_start_id = check_int("fdt_start_id", value, 0, U32)

    @property
    def fdt_cenc(self) -> int:
        """Content-Encoding of FDT Instances: 0 none, 1 zlib, 2 deflate, 3 gzip."""
        return self._fdt_cenc

    @fdt_cenc.setter
    def fdt_cenc(self, value: int) -> None:
        check_int("fdt_cenc", value, 0, 255)
        if value not in CENC_NAMES:
            raise TypeError("Wrong CENC parameter")
        self._fdt_cenc = value

    @property
    def fdt_inband_sct(self) -> bool:
        """Carry the Sender Current Time (EXT_TIME) on FDT packets."""
        return self._fdt_inband_sct

    @fdt_inband_sct.setter
    def fdt_inband_sct(self, value: bool) -> None:
        self._fdt_inband_sct = bool(value)

    @property
    def fdt_xml_profile(self) -> str:
        """``"extended"`` or ``"ts-126-346-l6"`` (accepted; see the README's differences)."""
        return self._fdt_xml_profile

    @fdt_xml_profile.setter
    def fdt_xml_profile(self, value: str) -> None:
        if value not in ("extended", "ts-126-346-l6"):
            raise TypeError(
                "Wrong FDT XML profile, expected 'extended' or 'ts-126-346-l6'"
            )
        self._fdt_xml_profile = value

    @property
    def multiplex_files(self) -> int:
        """Objects sent at the same time, packet by packet."""
        return self._multiplex_files

    @multiplex_files.setter
    def multiplex_files(self, value: int) -> None:
        self._multiplex_files = check_int("multiplex_files", value, 0, U32)

    @property
    def interleave_blocks(self) -> int:
        """Source blocks of an object sent interleaved."""
        return self._interleave_blocks

    @interleave_blocks.setter
    def interleave_blocks(self, value: int) -> None:
        self._interleave_blocks = check_int("interleave_blocks", value, 0, 255)


class Oti:
    """FEC Object Transmission Information (flute-alc's fields and constructors, plus
    ``new_raptor``, ``new_raptorq`` and ``new_reed_solomon_gf2m``, which flute-alc's Python
    API does not have)."""

    def __init__(self) -> None:
        self._fec_encoding_id = 0
        self._fec_instance_id = 0
        self._maximum_source_block_length = 64
        self._encoding_symbol_length = 1424
        self._max_number_of_parity_symbols = 0
        self._parity_symbols_percentage: Optional[float] = None
        self._inband_fti = True
        self._sub_blocks = 1
        self._alignment: Optional[int] = None
        self._m = 8

    @staticmethod
    def new_no_code(encoding_symbol_length: int, maximum_source_block_length: int) -> "Oti":
        """Compact No-Code (FEC Encoding ID 0)."""
        o = Oti()
        o._encoding_symbol_length = check_int("encoding_symbol_length", encoding_symbol_length, 0, U16)
        o._maximum_source_block_length = check_int(
            "maximum_source_block_length", maximum_source_block_length, 0, U16
        )
        o._check()
        return o

    @staticmethod
    def new_reed_solomon_rs28(
        encoding_symbol_length: int,
        maximum_source_block_length: int,
        max_number_of_parity_symbols: int,
    ) -> "Oti":
        """Reed-Solomon over GF(2^8) (FEC Encoding ID 5)."""
        return Oti._rs(5, encoding_symbol_length, maximum_source_block_length,
                       max_number_of_parity_symbols, 255)

    @staticmethod
    def new_reed_solomon_rs28_under_specified(
        encoding_symbol_length: int,
        maximum_source_block_length: int,
        max_number_of_parity_symbols: int,
    ) -> "Oti":
        """Reed-Solomon over GF(2^8), Small Block Systematic (FEC Encoding ID 129)."""
        return Oti._rs(129, encoding_symbol_length, maximum_source_block_length,
                       max_number_of_parity_symbols, U16)

    @staticmethod
    def new_reed_solomon_gf2m(
        encoding_symbol_length: int,
        maximum_source_block_length: int,
        max_number_of_parity_symbols: int,
        m: int = 8,
    ) -> "Oti":
        """Reed-Solomon over GF(2^m) (FEC Encoding ID 2). Not in flute-alc."""
        o = Oti._rs(2, encoding_symbol_length, maximum_source_block_length,
                    max_number_of_parity_symbols, U16)
        o._m = check_int("m", m, 2, 16)
        o._check()
        return o

    @staticmethod
    def new_raptorq(
        encoding_symbol_length: int,
        maximum_source_block_length: int,
        max_number_of_parity_symbols: int,
        sub_blocks_length: int = 1,
        symbol_alignment: int = 1,
    ) -> "Oti":
        """RaptorQ (FEC Encoding ID 6). Not in flute-alc's Python API."""
        o = Oti()
        o._fec_encoding_id = 6
        o._encoding_symbol_length = check_int("encoding_symbol_length", encoding_symbol_length, 0, U16)
        o._maximum_source_block_length = check_int(
            "maximum_source_block_length", maximum_source_block_length, 0, U32
        )
        o._max_number_of_parity_symbols = check_int(
            "max_number_of_parity_symbols", max_number_of_parity_symbols, 0, U32
        )
        o._sub_blocks = check_int("sub_blocks_length", sub_blocks_length, 1, U16)
        o._alignment = check_int("symbol_alignment", symbol_alignment, 1, 255)
        o._check()
        return o

    @staticmethod
    def new_raptor(
        encoding_symbol_length: int,
        maximum_source_block_length: int,
        max_number_of_parity_symbols: int,
    ) -> "Oti":
        """Raptor (FEC Encoding ID 1). Not in flute-alc's Python API."""
        o = Oti()
        o._fec_encoding_id = 1
        o._encoding_symbol_length = check_int("encoding_symbol_length", encoding_symbol_length, 0, U16)
        o._maximum_source_block_length = check_int(
            "maximum_source_block_length", maximum_source_block_length, 0, U32
        )
        o._max_number_of_parity_symbols = check_int(
            "max_number_of_parity_symbols", max_number_of_parity_symbols, 0, U32
        )
        o._check()
        return o

    @staticmethod
    def _rs(fec_id: int, e: int, b: int, parity: int, limit: int) -> "Oti":
        o = Oti()
        o._fec_encoding_id = fec_id
        o._encoding_symbol_length = check_int("encoding_symbol_length", e, 0, U16)
        o._maximum_source_block_length = check_int("maximum_source_block_length", b, 0, limit)
        o._max_number_of_parity_symbols = check_int("max_number_of_parity_symbols", parity, 0, limit)
        if fec_id == 5 and b + parity > 255:
            raise TypeError(
                "Encoding Block Length (Source Block Length + Number of parity symbols) must be <= 255"
            )
        o._check()
        return o

    def _check(self) -> None:
        try:
            self.to_native()
        except ValueError as e:
            raise TypeError(str(e)) from None

    def to_native(self) -> flute_rs.Oti:
        """The flute_rs.Oti this describes (raises ValueError if it is invalid)."""
        e = self._encoding_symbol_length
        b = self._maximum_source_block_length
        # Reed-Solomon: announce the field's largest max_n (2^m - 1). RFC 5510 gives a block
        # of k symbols n = floor(k * max_n / B) encoding symbols, so a short last block can
        # still carry its parity symbols, as flute-alc sends them; the number sent is
        # max_number_of_parity_symbols (or the percentage), capped by n - k.
        n = max(b, (1 << (8 if self._fec_encoding_id != 2 else self._m)) - 1)
        fid = self._fec_encoding_id
        if fid == 0:
            return flute_rs.Oti.no_code(e, b)
        if fid == 5:
            return flute_rs.Oti.reed_solomon_gf28(e, b, n)
        if fid == 129:
            return flute_rs.Oti.reed_solomon_small_block(e, b, n)
        if fid == 2:
            return flute_rs.Oti.reed_solomon_gf2m(e, b, n, m=self._m)
        if fid == 6:
            return flute_rs.Oti.raptorq(
                e, b, sub_blocks=self._sub_blocks, alignment=self._alignment or 1
            )
        if fid == 1:
            return flute_rs.Oti.raptor(e, b, alignment=self._alignment)
        raise ValueError(f"FEC Encoding ID {fid} has no codec")

    def repair_options(self) -> Dict[str, int]:
        """The flute_rs insert options for the repair symbols this OTI asks for."""
        if self._fec_encoding_id == 0:
            return {}
        pct = self._parity_symbols_percentage
        if pct is not None:
            return {"repair_percent": max(0, int(-(-pct // 1)))}
        return {"repair": self._max_number_of_parity_symbols}

    @property
    def max_transfer_length(self) -> int:
        """Largest object this OTI can carry, in bytes (per the flute-rs schemes)."""
        native = self.to_native()
        lo, hi = 0, (1 << 48) - 1
        try:
            native.for_transfer_length(hi)
            return hi
        except ValueError:
            pass
        while lo < hi:
            mid = (lo + hi + 1) // 2
            try:
                native.for_transfer_length(mid)
                lo = mid
            except ValueError:
                hi = mid - 1
        return lo

    @property
    def fec_encoding_id(self) -> int:
        return self._fec_encoding_id

    @fec_encoding_id.setter
    def fec_encoding_id(self, value: int) -> None:
        check_int("fec_encoding_id", value, 0, 255)
        if value not in _FEC_IDS:
            raise TypeError("Invalid FEC Encoding ID")
        self._fec_encoding_id = value

    @property
    def fec_instance_id(self) -> int:
        return self._fec_instance_id

    @fec_instance_id.setter
    def fec_instance_id(self, value: int) -> None:
        self._fec_instance_id = check_int("fec_instance_id", value, 0, U16)

    @property
    def maximum_source_block_length(self) -> int:
        return self._maximum_source_block_length

    @maximum_source_block_length.setter
    def maximum_source_block_length(self, value: int) -> None:
        self._maximum_source_block_length = check_int("maximum_source_block_length", value, 0, U32)

    @property
    def encoding_symbol_length(self) -> int:
        return self._encoding_symbol_length

    @encoding_symbol_length.setter
    def encoding_symbol_length(self, value: int) -> None:
        self._encoding_symbol_length = check_int("encoding_symbol_length", value, 0, U16)

    @property
    def max_number_of_parity_symbols(self) -> int:
        return self._max_number_of_parity_symbols

    @max_number_of_parity_symbols.setter
    def max_number_of_parity_symbols(self, value: int) -> None:
        self._max_number_of_parity_symbols = check_int("max_number_of_parity_symbols", value, 0, U32)

    @property
    def parity_symbols_percentage(self) -> Optional[float]:
        return self._parity_symbols_percentage

    @parity_symbols_percentage.setter
    def parity_symbols_percentage(self, value: Optional[float]) -> None:
        if value is not None:
            value = float(value)
        self._parity_symbols_percentage = value

    @property
    def inband_fti(self) -> bool:
        return self._inband_fti

    @inband_fti.setter
    def inband_fti(self, value: bool) -> None:
        self._inband_fti = bool(value)

    def __repr__(self) -> str:
        return (
            f"Oti(fec_encoding_id={self._fec_encoding_id}, encoding_symbol_length="
            f"{self._encoding_symbol_length}, maximum_source_block_length="
            f"{self._maximum_source_block_length}, max_number_of_parity_symbols="
            f"{self._max_number_of_parity_symbols})"
        )


class Sender:
    """``Sender(tsi, oti, config)``: objects are queued at once; ``read()`` returns the next
    datagram (``bytes``) or ``None``, on the real clock."""

    def __init__(self, tsi: int, oti: Oti, config: Config) -> None:
        check_int("tsi", tsi, 0, U64)
        if tsi > TSI_MAX:
            raise ValueError("TSI does not fit in the 48-bit LCT TSI field")
        if not isinstance(oti, Oti):
            raise TypeError(f"oti must be a sender.Oti, not {type(oti).__name__}")
        if not isinstance(config, Config):
            raise TypeError(f"config must be a sender.Config, not {type(config).__name__}")
        self._oti = oti
        self._config = config
        try:
            self._native = flute_rs.Sender(
                tsi,
                oti=oti.to_native(),
                fdt_expires=config.fdt_duration_ms / 1000.0,
                first_fdt_instance_id=config.fdt_start_id & 0xFFFFF,
                fdt_content_encoding=CENC_NAMES[config.fdt_cenc],
                fdt_ext_time=config.fdt_inband_sct,
                objects_per_queue=max(1, config.multiplex_files),
                fti="always" if oti.inband_fti else "never",
            )
        except ValueError as e:
            raise TypeError(str(e)) from None
        self._next_toi = 1
        self._live: Set[int] = set()
        # Bound method, for the per-datagram path.
        self._read = self._native.read

    def _insert(self, insert: Callable[..., int], *args: Any, oti: Optional[Oti], **kwargs: Any) -> int:
        o = self._oti if oti is None else oti
        if not isinstance(o, Oti):
            raise TypeError(f"oti must be a sender.Oti or None, not {type(o).__name__}")
        toi = self._next_toi
        try:
            insert(
                *args,
                toi=toi,
                oti=o.to_native(),
                interleave=max(1, self._config.interleave_blocks),
                content_md5=True,
                **o.repair_options(),
                **kwargs,
            )
        except (ValueError, OSError, flute_rs.FluteError) as e:
            raise TypeError(str(e)) from None
        self._next_toi += 1
        self._live.add(toi)
        return toi

    def add_object_from_buffer(
        self,
        content: bytes,
        content_type: str,
        content_location: str,
        oti: Optional[Oti] = None,
    ) -> int:
        """Queues ``content`` and returns its TOI."""
        check_url(content_location)
        return self._insert(
            self._native.insert,
            bytes(content),
            content_location,
            content_type=content_type,
            oti=oti,
        )

    def add_file(
        self,
        filepath: str,
        cenc: int,
        content_type: str,
        content_location: Optional[str] = None,
        oti: Optional[Oti] = None,
    ) -> int:
        """Queues the file ``filepath`` (Content-Location ``file:///<file name>`` unless
        given) with Content-Encoding ``cenc`` (0 none, 1 zlib, 2 deflate, 3 gzip)."""
        check_int("cenc", cenc, 0, 255)
        if cenc not in CENC_NAMES:
            raise TypeError("Unknown cenc")
        if content_location is None:
            content_location = "file:///" + os.path.basename(filepath)
        else:
            check_url(content_location)
        return self._insert(
            self._native.insert_file,
            filepath,
            content_location,
            content_type=content_type,
            content_encoding=CENC_NAMES[cenc],
            oti=oti,
        )

    def _settle(self) -> None:
        for ev in self._native.events():
            if isinstance(ev, (flute_rs.ObjectSent, flute_rs.ObjectRemoved, flute_rs.SendFailed)):
                self._live.discard(ev.toi)

    def remove_object(self, toi: int) -> bool:
        """Removes an object; False if there is none with this TOI."""
        self._settle()
        try:
            self._native.remove(toi)
        except (KeyError, ValueError):
            return False
        self._live.discard(toi)
        return True

    def nb_objects(self) -> int:
        """Objects not yet completely sent."""
        self._settle()
        return len(self._live)

    def publish(self) -> None:
        """Publishes the FDT. flute-rs publishes objects as they are added, so this only
        exists for compatibility."""
        self._settle()

    def read(self) -> Optional[bytes]:
        """The next datagram, or None."""
        return self._read()
