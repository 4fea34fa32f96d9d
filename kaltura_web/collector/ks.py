"""Kaltura Session (KS) strings: issue, parse and verify, plus masking for logs.

Pure functions, no I/O.  KS v2 layout (see docs/collector.md):

    base64url(b"v2|<partnerId>|" + AES-128-CBC(key, iv=0, zero padded)(
        sha1(rand16 + fields) + rand16 + fields))

with ``key = sha1(admin_secret)[:16]`` and ``fields`` the URL-encoded privileges
followed by ``_e`` (expiry, unix seconds), ``_t`` (type) and ``_u`` (user id).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from ..core.tracker import mask_ks as _mask_ks
from .values import INT64_MAX, INT64_MIN, parse_int

KS_TYPE_USER = 0
KS_TYPE_ADMIN = 2

# Error codes of Kaltura's ks class (kSessionBase).
ERR_INVALID_STR = -1
ERR_INVALID_PARTNER = -2
ERR_INVALID_USER = -3
ERR_INVALID_TYPE = -4
ERR_EXPIRED = -5

ERROR_NAMES = {
    ERR_INVALID_STR: "INVALID_STR",
    ERR_INVALID_PARTNER: "INVALID_PARTNER",
    ERR_INVALID_USER: "INVALID_USER",
    ERR_INVALID_TYPE: "INVALID_TYPE",
    ERR_EXPIRED: "EXPIRED",
}


class KSError(ValueError):
    """A KS that cannot be accepted.  ``code`` is Kaltura's numeric ks error code."""

    def __init__(self, code: int, detail: str = ""):
        self.code = code
        self.name = ERROR_NAMES.get(code, "INVALID_STR")
        super().__init__(f"{code},{self.name}" + (f" ({detail})" if detail else ""))


class KSInvalid(KSError):
    def __init__(self, detail: str = ""):
        super().__init__(ERR_INVALID_STR, detail)


class KSExpired(KSError):
    def __init__(self, detail: str = ""):
        super().__init__(ERR_EXPIRED, detail)


class KSWrongPartner(KSError):
    def __init__(self, detail: str = ""):
        super().__init__(ERR_INVALID_PARTNER, detail)


@dataclass
class KSInfo:
    version: int
    partner_id: int
    user_id: str
    ks_type: int
    expiry: int
    privileges: dict = field(default_factory=dict)

    @property
    def app_id(self):
        return self.privileges.get("appId") or None


def mask_ks(ks) -> str:
    """The core's KS mask (an absent KS masks to "")."""
    return _mask_ks(ks, empty="")


def parse_privileges(privileges) -> dict:
    """'a:b,c:d' (session.start form) or a dict -> ordered dict of privileges."""
    if not privileges:
        return {}
    if isinstance(privileges, dict):
        return {str(k): "" if v is None else str(v) for k, v in privileges.items()}
    out = {}
    for item in str(privileges).split(","):
        item = item.strip()
        if not item:
            continue
        if item == "*":
            item = "all:*"
        name, _, value = item.partition(":")
        out[name] = value
    return out


def _aes_key(admin_secret: str) -> bytes:
    return hashlib.sha1(admin_secret.encode("utf-8")).digest()[:16]


def _cipher(admin_secret: str):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    return Cipher(algorithms.AES(_aes_key(admin_secret)), modes.CBC(b"\0" * 16))


def make_ks_v2(partner_id, admin_secret, user_id="", ks_type=KS_TYPE_USER,
               expiry_unix=None, privileges=None, rand16=None) -> str:
    """Issue a KS v2 signed and encrypted with ``admin_secret``."""
    if expiry_unix is None:
        expiry_unix = int(time.time()) + 86400
    if rand16 is None:
        rand16 = os.urandom(16)
    if len(rand16) != 16:
        raise ValueError("rand16 must be 16 bytes")
    fields = dict(parse_privileges(privileges))
    fields["_e"] = str(int(expiry_unix))
    fields["_t"] = str(int(ks_type))
    fields["_u"] = "" if user_id is None else str(user_id)
    body = urlencode(fields).encode("utf-8")
    plain = hashlib.sha1(rand16 + body).digest() + rand16 + body
    if len(plain) % 16:
        plain += b"\0" * (16 - len(plain) % 16)
    enc = _cipher(admin_secret).encryptor()
    payload = enc.update(plain) + enc.finalize()
    raw = f"v2|{int(partner_id)}|".encode("ascii") + payload
    return base64.b64encode(raw).decode("ascii").replace("+", "-").replace("/", "_")


def make_ks_v1(partner_id, admin_secret, user_id="", ks_type=KS_TYPE_USER,
               expiry_unix=None, privileges="", rand=None) -> str:
    """Issue a legacy KS v1 (sha1-signed, not encrypted).  Mostly for tests."""
    if expiry_unix is None:
        expiry_unix = int(time.time()) + 86400
    if rand is None:
        rand = int.from_bytes(os.urandom(4), "big")
    if isinstance(privileges, dict):
        privileges = ",".join(f"{k}:{v}" for k, v in privileges.items())
    info = f"{partner_id};{partner_id};{int(expiry_unix)};{int(ks_type)};{rand};{user_id or ''};{privileges or ''};;"
    sig = hashlib.sha1((admin_secret + info).encode("utf-8")).hexdigest()
    return base64.b64encode(f"{sig}|{info}".encode("utf-8")).decode("ascii")


def _b64decode(ks: str) -> bytes:
    s = ks.strip().replace("-", "+").replace("_", "/")
    s += "=" * (-len(s) % 4)
    try:
        return base64.b64decode(s, validate=True)
    except Exception as exc:  # binascii.Error, ValueError
        raise KSInvalid("not base64") from exc


def _secret_for(partner_id: int, secrets_by_partner) -> str:
    secret = secrets_by_partner.get(partner_id)
    if secret is None:
        secret = secrets_by_partner.get(str(partner_id))
    if secret is None:
        raise KSWrongPartner(f"unknown partner {partner_id}")
    return secret


_SHA1_HEX = re.compile(r"[0-9a-fA-F]{40}")


def _ks_int(text, minimum=INT64_MIN, maximum=INT64_MAX) -> int:
    """An integer field of a KS (ASCII digits, in range), else KSInvalid."""
    try:
        return parse_int(text, minimum, maximum)
    except ValueError as exc:
        raise KSInvalid("fields") from exc


def _check_expiry(expiry: int, now) -> None:
    if now is None:
        now = time.time()
    if expiry < now:
        raise KSExpired()


def parse_ks(ks, secrets_by_partner, now=None) -> KSInfo:
    """Verify and decode a KS (v2, or v1).

    ``secrets_by_partner`` maps partner id -> admin secret.  Raises ``KSInvalid``
    (bad format or signature), ``KSWrongPartner`` (partner not known here) or
    ``KSExpired``; all are ``KSError``.
    """
    if not ks or not isinstance(ks, str):
        raise KSInvalid("empty")
    raw = _b64decode(ks)
    if raw.startswith(b"v2|"):
        return _parse_v2(raw, secrets_by_partner, now)
    return _parse_v1(raw, secrets_by_partner, now)


def _parse_v2(raw: bytes, secrets_by_partner, now) -> KSInfo:
    parts = raw.split(b"|", 2)
    if len(parts) != 3:
        raise KSInvalid("no partner")
    try:
        partner_id = parse_int(parts[1].decode("ascii"), INT64_MIN, INT64_MAX)
    except ValueError as exc:  # UnicodeDecodeError is one too
        raise KSInvalid("bad partner") from exc
    secret = _secret_for(partner_id, secrets_by_partner)
    payload = parts[2]
    if not payload or len(payload) % 16:
        raise KSInvalid("bad payload length")
    dec = _cipher(secret).decryptor()
    plain = (dec.update(payload) + dec.finalize()).rstrip(b"\0")
    if len(plain) < 36:
        raise KSInvalid("short payload")
    digest, rand, body = plain[:20], plain[20:36], plain[36:]
    if not hmac.compare_digest(digest, hashlib.sha1(rand + body).digest()):
        raise KSInvalid("signature")
    try:
        fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        expiry, ks_type = fields.pop("_e"), fields.pop("_t")
    except (KeyError, ValueError) as exc:
        raise KSInvalid("fields") from exc
    expiry, ks_type = _ks_int(expiry), _ks_int(ks_type, 0, 2**31 - 1)
    user_id = fields.pop("_u", "")
    _check_expiry(expiry, now)
    return KSInfo(2, partner_id, user_id, ks_type, expiry, fields)


def _parse_v1(raw: bytes, secrets_by_partner, now) -> KSInfo:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KSInvalid("not text") from exc
    sig, sep, info = text.partition("|")
    if not sep or not _SHA1_HEX.fullmatch(sig):
        raise KSInvalid("not a KS")
    parts = info.split(";")
    if len(parts) < 6:
        raise KSInvalid("fields")
    partner_id, expiry, ks_type = _ks_int(parts[0]), _ks_int(parts[2]), _ks_int(parts[3], 0, 2**31 - 1)
    secret = _secret_for(partner_id, secrets_by_partner)
    good = hashlib.sha1((secret + info).encode("utf-8")).hexdigest()
    if not hmac.compare_digest(good, sig.lower()):
        raise KSInvalid("signature")
    _check_expiry(expiry, now)
    user_id = parts[5]
    privileges = parse_privileges(parts[6] if len(parts) > 6 else "")
    return KSInfo(1, partner_id, user_id, ks_type, expiry, privileges)
