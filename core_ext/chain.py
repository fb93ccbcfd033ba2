"""The journal's hash chain and signed chain heads: one definition for the gateway and the center.

`hash = sha256(prev_hash + body)` over the ASCII hex of the previous entry's hash and the body's
bytes exactly as journalled and sent (canonical JSON), with GENESIS_HASH before the first entry.

A gateway signs its chain head with its Ed25519 key: the message is the ASCII bytes of
`custody-chain-head:<gateway_id>:<signed_seq>:<signed_hash>` (docs/uplink.md). This module only
builds and checks; the key lives with the gateway (private) and at the center (public).
"""

from __future__ import annotations

import base64
import binascii
import hashlib

GENESIS_HASH = "0" * 64
SIGNATURE_KIND = "signature"  # the journal entry kind that carries a signed chain head


def chain_hash(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


def head_message(gateway_id: str, signed_seq: int, signed_hash: str) -> bytes:
    """The bytes a gateway signs for its chain head at `signed_seq`."""
    return f"custody-chain-head:{gateway_id}:{signed_seq}:{signed_hash}".encode("ascii")


def key_id(raw_public_key: bytes) -> str:
    """First 16 hex digits of sha256 of the raw 32-byte Ed25519 public key."""
    return hashlib.sha256(raw_public_key).hexdigest()[:16]


class KeyProblem(ValueError):
    """A public key or signature that cannot be used; the message says why."""


def load_public_key(pem: str):
    """Parse a PEM SubjectPublicKeyInfo Ed25519 key; raise KeyProblem naming the problem."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise KeyProblem(f"not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyProblem(f"not an Ed25519 key but {type(key).__name__}")
    return key


def raw_public_key(key) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def verify_head(key, gateway_id: str, signed_seq: int, signed_hash: str, sig_b64: str) -> bool:
    """True when `sig_b64` is the key's signature of the chain head (gateway_id, signed_seq, signed_hash)."""
    from cryptography.exceptions import InvalidSignature

    try:
        signature = base64.b64decode(sig_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        key.verify(signature, head_message(gateway_id, signed_seq, signed_hash))
    except InvalidSignature:
        return False
    return True
