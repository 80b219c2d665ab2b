"""The key format `eqms_<key_id>_<secret><checksum>`.

key_id is a public lookup id; the secret carries ≥256 bits from `secrets`; the checksum (CRC32
in base62, as GitHub's tokens do) rejects typos and garbage before any database work and lets
secret scanners recognise leaked keys.
"""

from __future__ import annotations

import re
import secrets
import string
import zlib
from dataclasses import dataclass

PREFIX = "eqms"
ALPHABET = string.digits + string.ascii_letters
KEY_ID_LENGTH = 12
SECRET_LENGTH = 43  # 43 * log2(62) ≈ 256.03 bits
CHECKSUM_LENGTH = 6
KEY_PATTERN = re.compile(
    rf"^{PREFIX}_([0-9A-Za-z]{{{KEY_ID_LENGTH}}})_"
    rf"([0-9A-Za-z]{{{SECRET_LENGTH}}})([0-9A-Za-z]{{{CHECKSUM_LENGTH}}})$"
)
MAX_KEY_LENGTH = len(PREFIX) + 2 + KEY_ID_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH


@dataclass(frozen=True)
class ParsedKey:
    key_id: str
    secret: str


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(ALPHABET[rest])
    return "".join(reversed(digits)).rjust(width, "0")


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def generate_key_id() -> str:
    return _random(KEY_ID_LENGTH)


def build_key(key_id: str) -> tuple[str, str]:
    """A new full key for key_id and its secret part (what gets hashed)."""
    secret = _random(SECRET_LENGTH)
    body = f"{PREFIX}_{key_id}_{secret}"
    return body + checksum(body), secret


def parse_key(raw: str) -> ParsedKey | None:
    """The parts of a well-formed key with a valid checksum, else None. No I/O."""
    if len(raw) != MAX_KEY_LENGTH:
        return None
    match = KEY_PATTERN.match(raw)
    if match is None:
        return None
    key_id, secret, check = match.groups()
    if not secrets.compare_digest(checksum(raw[:-CHECKSUM_LENGTH]), check):
        return None
    return ParsedKey(key_id=key_id, secret=secret)


def preview(raw: str) -> str:
    """What may be shown after creation: the public part and the last four characters."""
    return f"{raw[: len(PREFIX) + 1 + KEY_ID_LENGTH]}…{raw[-4:]}"
