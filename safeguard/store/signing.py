"""Ed25519 signatures on what a store hands to others: list exports and feed pages.

A partner who holds the public key (``ed25519:`` and 32 bytes in base64, printed by
``safeguard keys signing create``) can tell that a file or a page came from this store
unchanged. The private key lives in the store, as everything else this service trusts
does; the newest key signs. Verification needs only the public key, never the store.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Engine, select

from safeguard.errors import UsageError
from safeguard.store.audit import Audit, audited
from safeguard.store.schema import signing_keys

PREFIX = "ed25519:"
SIGNATURE_HEADER = "X-Safeguard-Signature"  # on feed pages: "<public key>;<signature>"


def public_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return PREFIX + base64.b64encode(raw).decode()


def parse_public(text: str) -> Ed25519PublicKey:
    if not text.startswith(PREFIX):
        raise UsageError(f"a public key is written {PREFIX}BASE64, not {text[:20]!r}")
    try:
        raw = base64.b64decode(text[len(PREFIX) :], validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise UsageError(f"{text!r} is not an Ed25519 public key") from None


def verify(public: str, signature: str, data: bytes) -> None:
    """Refuse ``data`` unless ``signature`` (base64) is the key's signature of it."""
    key = parse_public(public)
    try:
        key.verify(base64.b64decode(signature, validate=True), data)
    except (InvalidSignature, binascii.Error, ValueError):
        raise UsageError(
            f"the signature does not verify with {public}: the data was changed, or signed "
            "by another key"
        ) from None


class Signer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, name: str, *, audit: Audit = None) -> str:
        """A new key pair; returns its public key (the newest key signs from now on)."""
        private = Ed25519PrivateKey.generate()
        public = public_text(private.public_key())
        with self.engine.begin() as connection:
            if connection.execute(
                select(signing_keys.c.id).where(signing_keys.c.name == name)
            ).first():
                raise UsageError(f"a signing key named {name!r} exists")
            connection.execute(
                signing_keys.insert().values(
                    name=name,
                    public_key=public,
                    private_key=private.private_bytes_raw(),
                    created_at=datetime.now(UTC),
                )
            )
            audited(connection, audit, {"name": name, "public_key": public})
        return public

    def listed(self) -> list[tuple[str, str, datetime]]:
        with self.engine.connect() as connection:
            return [
                (row.name, row.public_key, row.created_at)
                for row in connection.execute(select(signing_keys).order_by(signing_keys.c.id))
            ]

    def sign(self, data: bytes) -> tuple[str, str] | None:
        """(public key, base64 signature) with the newest key; None if the store has none."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(signing_keys).order_by(signing_keys.c.id.desc()).limit(1)
            ).first()
        if row is None:
            return None
        private = Ed25519PrivateKey.from_private_bytes(bytes(row.private_key))
        return row.public_key, base64.b64encode(private.sign(data)).decode()
