"""Signal types: one module per kind of hash, registered here by name."""

from safeguard.signals.base import (
    IndexKind,
    Needs,
    PerceptualHash,
    RasterSignal,
    SignalType,
    StreamSignal,
    hamming,
)
from safeguard.signals.crypto import MD5, SHA1, SHA256
from safeguard.signals.pdq import DIHEDRAL_NAMES, PDQ
from safeguard.signals.vpdq import VPDQ

CRYPTOGRAPHIC: tuple[StreamSignal, ...] = (MD5, SHA1, SHA256)

SIGNAL_TYPES: dict[str, SignalType] = {}  # by name, in the order records and columns use
RASTER: list[RasterSignal] = []  # computed from every decoded picture, in this order


def register(signal: SignalType) -> None:
    """Add a signal type: every front door, format and store table then carries it.

    Call it before the modules that read the registry are imported (the record keys,
    CSV columns and API schema are made from it at import time).
    """
    if signal.name in SIGNAL_TYPES:
        raise ValueError(f"a signal named {signal.name!r} is registered")
    SIGNAL_TYPES[signal.name] = signal
    if isinstance(signal, RasterSignal):
        RASTER.append(signal)


for _built_in in (*CRYPTOGRAPHIC, PDQ, VPDQ):
    register(_built_in)


__all__ = [
    "CRYPTOGRAPHIC",
    "DIHEDRAL_NAMES",
    "MD5",
    "PDQ",
    "RASTER",
    "SHA1",
    "SHA256",
    "SIGNAL_TYPES",
    "VPDQ",
    "IndexKind",
    "Needs",
    "PerceptualHash",
    "RasterSignal",
    "SignalType",
    "StreamSignal",
    "hamming",
    "register",
]
