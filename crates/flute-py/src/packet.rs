//! `flute_rs.parse_packet`: one ALC/LCT datagram decoded through the same `alc` parser as
//! `flute inspect`.

use alc::AlcParser;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::args::datagram;
use crate::errors::{Kind, error};
use crate::fec::{REGISTRY, oti_dict};
use crate::guarded::guard;

/// The header fields of one ALC packet (RFC 5775: LCT header, FEC Payload ID, symbols).
#[pyclass(module = "flute_rs", frozen, get_all)]
pub(crate) struct PacketInfo {
    /// Transport Session Identifier, if the header carries one.
    tsi: Option<u64>,
    /// Transport Object Identifier (0: an FDT Instance), if the header carries one.
    toi: Option<u128>,
    /// Congestion Control Information.
    cci: u128,
    /// LCT codepoint (the FEC Encoding ID by default).
    codepoint: u8,
    /// FEC Encoding ID the packet was parsed with.
    encoding_id: u8,
    /// Close-session flag A.
    close_session: bool,
    /// Close-object flag B.
    close_object: bool,
    /// Source Block Number, if the Payload ID could be read without the FDT.
    sbn: Option<u32>,
    /// Encoding Symbol ID, likewise.
    esi: Option<u32>,
    /// FDT Instance ID (EXT_FDT), for FDT packets.
    fdt_instance_id: Option<u32>,
    /// FLUTE version in EXT_FDT.
    flute_version: Option<u8>,
    /// EXT_CENC content encoding code.
    cenc: Option<u8>,
    /// The OTI from EXT_FTI (see `Oti.for_transfer_length` for the keys), or `None`.
    oti: Option<Py<PyDict>>,
    /// Length of the encoding symbol data.
    symbols_length: usize,
}

#[pymethods]
impl PacketInfo {
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        crate::events::repr_fields(
            slf.as_any(),
            "PacketInfo",
            &[
                "tsi",
                "toi",
                "codepoint",
                "sbn",
                "esi",
                "fdt_instance_id",
                "close_object",
                "close_session",
                "symbols_length",
            ],
        )
    }
}

/// Parses one ALC/LCT datagram. Raises `InvalidPacketError` (a `ValueError`) with the
/// parser's reason when the datagram is not a valid ALC packet.
#[pyfunction]
pub(crate) fn parse_packet(py: Python<'_>, datagram: &Bound<'_, PyAny>) -> PyResult<PacketInfo> {
    let data = self::datagram(datagram)?;
    guard(|| {
        // The same verdict as `flute inspect` and the receiver (alc's parse_checked).
        let parser = AlcParser::new(&**REGISTRY);
        let p = parser
            .parse_checked(&data, None)
            .map_err(|e| error(Kind::InvalidPacket, e.to_string()))?;
        let lct = p.lct();
        let oti = match p.oti() {
            Some(o) => Some(oti_dict(py, o)?.unbind()),
            None => None,
        };
        let pid = p
            .payload_id()
            .or_else(|| p.oti().and_then(|o| p.payload_id_with(o).ok()));
        let fdt = p.fdt();
        Ok(PacketInfo {
            tsi: lct.tsi.map(|t| t.0),
            toi: lct.toi.map(|t| t.0),
            cci: lct.cci.0,
            codepoint: lct.codepoint,
            encoding_id: p.encoding_id().0,
            close_session: lct.close_session,
            close_object: lct.close_object,
            sbn: pid.map(|i| i.sbn),
            esi: pid.map(|i| i.esi),
            fdt_instance_id: fdt.map(|f| f.instance_id),
            flute_version: fdt.map(|f| f.version),
            cenc: p.cenc().and_then(|c| c.encoding.cenc_code()),
            oti,
            symbols_length: p.symbols().len(),
        })
    })
}
