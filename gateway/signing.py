"""The gateway's chain-signing key and the signature entries it writes into the journal.

At first start the gateway makes an Ed25519 key in its data directory: `chain-key.pem` (PKCS#8,
unencrypted, mode 600) and `chain-key.pub.pem` (SubjectPublicKeyInfo) beside it, which is what
`custody server add-gateway --public-key` takes, and what the uplink enrols at the center itself
(PUT /api/v1/gateway/public-key, trust on first use). Every `sign_every` journal entries and at a
clean shutdown the journal gets an entry of kind `signature` (core_ext/chain.py, docs/gateway.md):

    {"ts": ms, "signed_seq": n, "signed_hash": "<hash of entry n>", "key_id": "<16 hex>", "sig": "<base64>"}

where entry n is the one right before the signature entry, and `sig` is the Ed25519 signature of
`custody-chain-head:<gateway_id>:<n>:<hash>`. The signature entry is itself part of the chain.
"""

from __future__ import annotations

import base64
import logging
import os
import stat
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from core_ext.chain import head_message, key_id

log = logging.getLogger("gateway.signing")

KEY_FILE = "chain-key.pem"
PUBLIC_KEY_FILE = "chain-key.pub.pem"


class SigningKeyError(ValueError):
    """The key file cannot be used; the message names the file and why."""


class ChainSigner:
    def __init__(self, private_key: Ed25519PrivateKey, gateway_id: str) -> None:
        self._key = private_key
        self.gateway_id = gateway_id
        public = private_key.public_key()
        self.public_pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")
        self.key_id = key_id(public.public_bytes(Encoding.Raw, PublicFormat.Raw))

    def body(self, ts: int, signed_seq: int, signed_hash: str) -> dict[str, Any]:
        """The body of the signature entry that follows entry `signed_seq` (hash `signed_hash`)."""
        sig = self._key.sign(head_message(self.gateway_id, signed_seq, signed_hash))
        return {
            "ts": ts,
            "signed_seq": signed_seq,
            "signed_hash": signed_hash,
            "key_id": self.key_id,
            "sig": base64.b64encode(sig).decode("ascii"),
        }

    @classmethod
    def load_or_create(cls, data_dir: str | os.PathLike[str], gateway_id: str) -> ChainSigner:
        directory = Path(data_dir)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / KEY_FILE
        if path.exists():
            key = _load(path)
        else:
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
            # O_EXCL: two processes on one data directory never overwrite each other's key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            log.info("chain-signing key created", extra={"fields": {"file": str(path)}})
        signer = cls(key, gateway_id)
        public_path = directory / PUBLIC_KEY_FILE
        if not public_path.exists() or public_path.read_text(encoding="ascii", errors="replace") != signer.public_pem:
            public_path.write_text(signer.public_pem, encoding="ascii")
        return signer


def _load(path: Path) -> Ed25519PrivateKey:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning(
            "chain-signing key was readable by others; set to mode 600 (anyone who read it can sign "
            "as this gateway: replace the key if that may have happened)",
            extra={"fields": {"file": str(path), "mode": oct(mode)}},
        )
        os.chmod(path, 0o600)
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path}: not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: not an Ed25519 key but {type(key).__name__}")
    return key
