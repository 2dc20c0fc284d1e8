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

SIGNAL_TYPES: dict[str, SignalType] = {s.name: s for s in (*CRYPTOGRAPHIC, PDQ, VPDQ)}


__all__ = [
    "CRYPTOGRAPHIC",
    "DIHEDRAL_NAMES",
    "MD5",
    "PDQ",
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
]
