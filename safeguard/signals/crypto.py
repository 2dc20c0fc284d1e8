"""MD5, SHA-1 and SHA-256: the exact-match hashes every list in the field carries."""

from __future__ import annotations

import hashlib

from safeguard.signals.base import Hasher, StreamSignal


class CryptographicSignal(StreamSignal):
    """A :mod:`hashlib` digest; one instance per algorithm."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.size_bytes = hashlib.new(name, usedforsecurity=False).digest_size

    def new_hasher(self) -> Hasher:
        return hashlib.new(self.name, usedforsecurity=False)


MD5 = CryptographicSignal("md5")
SHA1 = CryptographicSignal("sha1")
SHA256 = CryptographicSignal("sha256")
