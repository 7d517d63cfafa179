"""What a password must be. Hashing lives in ``services.identity.passwords``.

Length is what makes a password strong; composition rules mostly make people write
``Password1!``. So: at least 8 characters, at most 128 (argon2 takes any length, but
an unbounded one is a cheap way to make us work), and not the account's own phone
number or username.
"""

from __future__ import annotations

from pasokh_common.text import normalise_mobile

MIN_LENGTH = 8
MAX_LENGTH = 128


def password_problems(
    password: str, phone: str | None = None, username: str | None = None
) -> list[tuple[str, str]]:
    """(Persian, English) messages for each rule the password breaks; empty if fine."""
    problems: list[tuple[str, str]] = []
    if len(password) < MIN_LENGTH:
        problems.append(
            (
                f"گذرواژه باید دست‌کم {MIN_LENGTH} نویسه باشد.",
                f"The password must be at least {MIN_LENGTH} characters long.",
            )
        )
    if len(password) > MAX_LENGTH:
        problems.append(
            (
                f"گذرواژه نباید بیش از {MAX_LENGTH} نویسه باشد.",
                f"The password must be at most {MAX_LENGTH} characters long.",
            )
        )
    if phone and normalise_mobile(password) == phone:
        problems.append(
            (
                "گذرواژه نباید شمارهٔ همراه شما باشد.",
                "The password must not be your mobile number.",
            )
        )
    if password and username and password.strip().lower() == username.lower():
        problems.append(
            (
                "گذرواژه نباید همان نام کاربری باشد.",
                "The password must not be your username.",
            )
        )
    return problems
