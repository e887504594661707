"""A drop-in layer for users of ``flute-alc`` (PyPI; module ``flute``).

Change one line::

    from flute import sender, receiver            # flute-alc
    from flute_rs.compat import sender, receiver  # flute-rs

The classes, method names, argument orders and defaults are those of flute-alc 1.11.7;
the work is done by the flute-rs cores. The differences are listed in the README of
``crates/flute-py`` ("Differences from flute-alc").
"""

from . import receiver, sender

__all__ = ["receiver", "sender"]
