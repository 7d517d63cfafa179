"""The timeline's two primitives on a hand-made table of three intervals."""

from __future__ import annotations

from services.sla.calendar import Timeline

# Business time: [100, 200) -> 0..100, [300, 350) -> 100..150, [350, 400) joins it.
TL = Timeline.build(2025, 2025, 0, 1000, [[(100, 200), (300, 350)], [(350, 400)]])


def test_touching_intervals_are_joined_and_cumulated():
    assert TL.starts == [100, 300]
    assert TL.ends == [200, 400]
    assert TL.cum == [0, 100, 200]


def test_position_is_constant_while_closed():
    assert [TL.position(t) for t in (0, 100, 150, 200, 250, 300, 399, 400, 999)] == [
        0,
        0,
        50,
        100,
        100,
        100,
        199,
        200,
        200,
    ]


def test_instant_at_is_the_earliest_instant_so_a_full_interval_ends_at_its_close():
    assert TL.instant_at(1) == 101
    assert TL.instant_at(100) == 200  # closing time, not the next opening (300)
    assert TL.instant_at(101) == 301
    assert TL.instant_at(200) == 400
    assert TL.instant_at(201) is None


def test_is_open_and_next_open():
    assert [TL.is_open(t) for t in (99, 100, 199, 200, 300, 400)] == [
        False,
        True,
        True,
        False,
        True,
        False,
    ]
    assert TL.next_open(50) == 100
    assert TL.next_open(150) == 150
    assert TL.next_open(200) == 300
    assert TL.next_open(400) is None
