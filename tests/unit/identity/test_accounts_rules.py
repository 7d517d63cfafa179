"""Login strings, usernames, department ids, password rules and roles."""

from __future__ import annotations

import pytest

from services.identity.domain.accounts import (
    LoginKind,
    is_valid_department_id,
    is_valid_username,
    parse_login,
)
from services.identity.domain.errors import NotAssignable, NotPermitted
from services.identity.domain.passwords import password_problems
from services.identity.domain.roles import (
    Role,
    require_admin,
    require_assignable,
    require_staff,
)


@pytest.mark.parametrize(
    "typed", ["09121234567", "+98 912 123 4567", "۰۹۱۲-۱۲۳-۴۵۶۷", "00989121234567"]
)
def test_a_login_that_reads_as_a_mobile_is_a_phone(typed):
    assert parse_login(typed) == parse_login("+989121234567")
    assert parse_login(typed).kind is LoginKind.PHONE


def test_anything_else_is_a_username_compared_without_case():
    parsed = parse_login("  Sara.K ")
    assert (parsed.kind, parsed.value) == (LoginKind.USERNAME, "sara.k")
    assert parsed.throttle_key == "username:sara.k"


@pytest.mark.parametrize("name", ["sara", "sara.k", "a_1-b", "x" * 32])
def test_valid_usernames(name):
    assert is_valid_username(name)


@pytest.mark.parametrize(
    "name", ["ab", "1sara", "sara k", "سارا", "admin'--", "x" * 33, "", "Sara"]
)
def test_invalid_usernames(name):
    assert not is_valid_username(name)


def test_department_ids_are_slugs():
    assert is_valid_department_id("technical-support")
    for bad in ("Technical", "-x", "x", "a_b", "پشتیبانی", "a" * 64):
        assert not is_valid_department_id(bad)


def test_a_long_enough_password_is_fine():
    assert password_problems("correct horse battery") == []


def test_short_long_and_personal_passwords_are_refused():
    assert len(password_problems("short")) == 1
    assert len(password_problems("x" * 129)) == 1
    assert password_problems("09121234567", phone="+989121234567")
    assert password_problems("۰۹۱۲ ۱۲۳ ۴۵۶۷", phone="+989121234567")
    assert password_problems("Sara.Karimi", username="sara.karimi")
    fa, en = password_problems("short")[0]
    assert fa and en and fa != en


def test_a_password_of_repeated_zeros_is_not_mistaken_for_the_phone():
    assert password_problems("00000000", phone="+989121234567") == []


def test_only_admins_pass_the_admin_check():
    require_admin(Role.ADMIN)
    for role in ("customer", "agent", "supervisor"):
        with pytest.raises(NotPermitted):
            require_admin(role)


def test_staff_are_agents_supervisors_and_admins():
    for role in ("agent", "supervisor", "admin"):
        require_staff(role)
    with pytest.raises(NotPermitted):
        require_staff("customer")


def test_only_agents_and_supervisors_belong_to_departments():
    require_assignable("agent")
    require_assignable("supervisor")
    for role in ("customer", "admin"):
        with pytest.raises(NotAssignable):
            require_assignable(role)
