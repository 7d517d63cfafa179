"""Ticket numbers: unique, not consecutive, and every common typo is caught."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.tickets.domain.numbers import (
    BODY_SPAN,
    DAMM_TABLE,
    MAX_SEQUENCE,
    MULTIPLIER,
    damm_check_digit,
    damm_is_valid,
    format_ticket_number,
    parse_ticket_number,
    ticket_number_for,
)

sequences = st.integers(min_value=1, max_value=MAX_SEQUENCE)
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def test_the_first_200000_numbers_are_distinct_valid_eight_digit_numbers():
    numbers = [ticket_number_for(n) for n in range(1, 200_001)]
    assert len(set(numbers)) == len(numbers)
    for number in numbers:
        assert len(number) == 8 and number.isascii() and number.isdigit()
        assert number[0] != "0"
        assert parse_ticket_number(number) == number


def test_the_scramble_is_a_permutation_so_numbers_never_repeat():
    assert math.gcd(MULTIPLIER, BODY_SPAN) == 1


def test_the_last_sequence_value_gets_a_number_distinct_from_the_first():
    assert ticket_number_for(MAX_SEQUENCE) != ticket_number_for(1)
    assert parse_ticket_number(ticket_number_for(MAX_SEQUENCE))


def test_tickets_opened_one_after_another_do_not_get_neighbouring_numbers():
    numbers = [int(ticket_number_for(n)[:7]) for n in range(1, 1001)]
    assert all(abs(b - a) > 1000 for a, b in itertools.pairwise(numbers))


@pytest.mark.parametrize("value", [0, -1, MAX_SEQUENCE + 1])
def test_a_sequence_value_outside_the_capacity_is_refused(value):
    with pytest.raises(ValueError):
        ticket_number_for(value)


@pytest.mark.parametrize("value", [True, "7", 7.0])
def test_a_sequence_value_must_be_an_integer(value):
    with pytest.raises(TypeError):
        ticket_number_for(value)


def test_the_damm_check_digit_matches_the_published_example():
    # Damm's worked example: 572 gets check digit 4.
    assert damm_check_digit("572") == "4"
    assert damm_is_valid("5724")
    assert not damm_is_valid("5723")


def test_the_damm_table_is_a_totally_anti_symmetric_quasigroup():
    """The algebraic reason every single-digit error and every adjacent transposition
    is caught, checked over the whole table (so for every number, not a sample)."""
    digits = range(10)
    for row in DAMM_TABLE:
        assert sorted(row) == list(digits)  # each row a permutation
    for column in zip(*DAMM_TABLE, strict=True):
        assert sorted(column) == list(digits)  # each column a permutation: single errors
    assert all(DAMM_TABLE[d][d] == 0 for d in digits)
    for c, x, y in itertools.product(digits, digits, digits):
        if x != y:  # adjacent transpositions
            assert DAMM_TABLE[DAMM_TABLE[c][x]][y] != DAMM_TABLE[DAMM_TABLE[c][y]][x]


@given(sequences, st.integers(0, 7), st.integers(1, 9))
def test_every_single_digit_error_is_caught(sequence, position, shift):
    number = ticket_number_for(sequence)
    wrong_digit = str((int(number[position]) + shift) % 10)
    typo = number[:position] + wrong_digit + number[position + 1 :]
    assert parse_ticket_number(typo) is None


@given(sequences, st.integers(0, 6))
def test_every_swap_of_two_neighbouring_digits_is_caught(sequence, position):
    number = ticket_number_for(sequence)
    assume(number[position] != number[position + 1])
    typo = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    assert parse_ticket_number(typo) is None


def test_numbers_are_shown_in_two_groups_of_four():
    assert format_ticket_number("97039004") == "9703-9004"
    assert format_ticket_number(97039004) == "9703-9004"


@pytest.mark.parametrize("bad", ["1234567", "123456789", "abcdefgh"])
def test_only_eight_digits_can_be_formatted(bad):
    with pytest.raises(ValueError):
        format_ticket_number(bad)


@given(sequences)
def test_a_formatted_number_parses_back(sequence):
    number = ticket_number_for(sequence)
    assert parse_ticket_number(format_ticket_number(number)) == number


@pytest.mark.parametrize(
    "typed",
    [
        "97039004",
        "9703-9004",
        " 9703 9004 ",
        "9703–9004",  # en dash
        "#9703-9004",
        "9703-9004".translate(PERSIAN),
        "9703 9004".translate(ARABIC),
        "\u200f" + "9703-9004".translate(PERSIAN) + "\u200c",  # copied from Persian text
    ],
)
def test_a_number_typed_or_read_out_in_any_common_way_is_understood(typed):
    assert parse_ticket_number(typed) == "97039004"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "9703-9005",  # wrong check digit
        "9703-900",  # too short
        "9703-90041",  # too long
        "9703-90O4",  # a letter O
        "07039001",  # no number starts with 0
        "9703+9004",
        None,
        97039004,
    ],
)
def test_anything_else_is_not_a_ticket_number(typed):
    assert parse_ticket_number(typed) is None


def test_a_leading_zero_number_is_refused_even_with_a_valid_check_digit():
    body = "0703900"
    number = body + damm_check_digit(body)
    assert damm_is_valid(number)
    assert parse_ticket_number(number) is None
