from decimal import Decimal

import pytest

from chalicelib.core.money import round_up_to, scaled, share_of


@pytest.mark.parametrize(("amount", "unit", "expected"), [
    (0, 10, 0), (1, 10, 10), (10, 10, 10), (11, 10, 20), (Decimal("12345.01"), 10, 12350), (Decimal("9.99"), 10, 10),
])
def test_amounts_round_up_to_the_next_whole_unit(amount, unit, expected):
    assert round_up_to(amount, unit) == expected


def test_commission_is_a_whole_won_rounded_half_up():
    assert share_of(25_000, 20) == 5_000
    assert share_of(12_345, 20) == 2_469  # 2469.0
    assert share_of(12_347, "12.5") == 1_543  # 1543.375
    assert share_of(3, 50) == 2  # 1.5 rounds up


def test_scaling_is_exact_so_a_multiplier_never_loses_a_won():
    assert scaled(33_333, "1.5") == Decimal("49999.5")
    assert round_up_to(scaled(33_333, 1.5), 10) == 50_000
