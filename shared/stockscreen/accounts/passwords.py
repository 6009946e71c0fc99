"""argon2id password hashing with a constant-time path for unknown accounts; the rules a new password must meet."""

from __future__ import annotations

import gzip
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from stockscreen.core.errors import Invalid

if TYPE_CHECKING:
    from argon2 import PasswordHasher


@cache
def _hasher() -> PasswordHasher:
    """argon2id with OWASP's baseline (m=19 MiB, t=2, p=1); imported lazily (cold start)."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher().hash("dummy password for unknown accounts")


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; an unknown account (``None``) costs the same as a wrong password."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    target = stored_hash if stored_hash is not None else _dummy_hash()
    try:
        ok = _hasher().verify(target, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and stored_hash is not None


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)


# -- policy: NIST SP 800-63B 5.1.1.2 --------------------------------------------------------------------

MIN_LENGTH = 10
MAX_LENGTH = 256
#: SecLists' 100,000 most common passwords, shipped in the package (so in the Lambda layer); provenance
#: and licence: accounts/data/README.md
COMMON_PASSWORDS = Path(__file__).resolve().parent / "data" / "10-million-password-list-top-100000.txt.gz"


def load_common_passwords(path: Path = COMMON_PASSWORDS, min_length: int = MIN_LENGTH) -> frozenset[str]:
    """The list, lower-cased, keeping only the entries long enough to pass the length rule (the others
    are refused by it anyway): about 2,300 of the 100,000, so the set stays small."""
    data = gzip.decompress(path.read_bytes())
    # only the long lines become strings (a UTF-8 line's bytes are at least its characters)
    long_lines = re.finditer(rb"^[^\r\n]{%d,}" % min_length, data, re.MULTILINE)
    words = (m.group().decode("utf-8", "replace").lower() for m in long_lines)
    return frozenset(w for w in words if len(w) >= min_length)


@cache
def common_passwords() -> frozenset[str]:
    """Loaded once per process, on the first password set (not at cold start)."""
    return load_common_passwords()


def check_password(password: str, email: str, *, field: str = "password") -> None:
    """Refuse a new password that is too short or long, common or breached, or made of the email address.

    Raises Invalid naming the rule (``details.rule``: length, common, email)."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise Invalid(
            f"the password must be {MIN_LENGTH} to {MAX_LENGTH} characters long",
            {"field": field, "rule": "length", "min": MIN_LENGTH, "max": MAX_LENGTH},
        )
    folded = password.lower()
    if folded in common_passwords():
        raise Invalid(
            "this password is on a list of common or breached passwords; choose another",
            {"field": field, "rule": "common"},
        )
    address = email.strip().lower()
    local = address.partition("@")[0]
    if address in folded or (len(local) >= 3 and local in folded):
        raise Invalid(
            "the password must not contain your email address or its name part",
            {"field": field, "rule": "email"},
        )
