"""Password hashing with argon2id, and the house rules for a new password."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

MAX_LENGTH = 128


@cache
def _hasher_for(profile: str) -> tuple[PasswordHasher, str]:
    # "fast" is for the test suite only: the same algorithm with cheap parameters.
    hasher = PasswordHasher.from_parameters(profiles.CHEAPEST) if profile == "fast" else PasswordHasher()
    # Verified against when the account does not exist, so both answers take the same time.
    return hasher, hasher.hash("not-a-real-password-just-timing")


def _hasher() -> tuple[PasswordHasher, str]:
    return _hasher_for(current_app.config.get("PASSWORD_HASHING", "argon2id"))


def hash_password(password: str) -> str:
    return _hasher()[0].hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    hasher, dummy = _hasher()
    try:
        return hasher.verify(stored_hash or dummy, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher()[0].check_needs_rehash(stored_hash)


def password_problems(password: str, min_length: int, email: str = "") -> list[str]:
    problems = []
    if len(password) < min_length:
        problems.append(f"Use at least {min_length} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    if password.strip() != password or not password.strip():
        problems.append("No spaces at the start or end.")
    if email and email.split("@")[0].lower() in password.lower() and len(email.split("@")[0]) > 2:
        problems.append("Do not use your email name in the password.")
    if len(set(password)) < 4:
        problems.append("Use a less repetitive password.")
    return problems
