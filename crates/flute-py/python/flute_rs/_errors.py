"""Exception classes of flute_rs (raised by the native module)."""

__all__ = [
    "FluteError",
    "InvalidArgumentError",
    "SessionClosedError",
    "UnknownObjectError",
    "DuplicateObjectError",
    "InvalidPacketError",
    "InternalError",
]


class FluteError(Exception):
    """Base class of every flute_rs exception."""


class InvalidArgumentError(FluteError, ValueError):
    """An argument was refused by the Rust core (an OTI the scheme cannot carry, a TOI
    out of range, a configuration value out of range...). The message is the Rust error's."""


class SessionClosedError(FluteError):
    """The sender or receiver was closed: it accepts no new objects or datagrams."""


class UnknownObjectError(FluteError, KeyError):
    """No object with this TOI."""


class DuplicateObjectError(FluteError, ValueError):
    """The TOI is already used by an object of the session."""


class InvalidPacketError(FluteError, ValueError):
    """A datagram is not a valid ALC/LCT packet (only raised by parse_packet; a Receiver
    counts bad datagrams instead of raising)."""


class InternalError(FluteError):
    """A Rust panic, caught at the Python boundary. It is a defect: please report it.
    The object that raised it refuses every later call."""
