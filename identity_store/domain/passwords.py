"""User passwords, if a client ever sends one: kept only as an Argon2id hash, never returned."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

__all__ = ["hash_password", "verify_password"]

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except VerificationError:
        return False
