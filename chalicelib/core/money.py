"""Money is integer KRW. These helpers keep it that way: no floats reach a stored amount."""

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal


def round_up_to(amount: Decimal | int, unit: int) -> int:
    """`amount` rounded up to a whole multiple of `unit` KRW (e.g. 10)."""
    units = (Decimal(amount) / unit).to_integral_value(rounding=ROUND_CEILING)
    return int(units) * unit


def share_of(amount_krw: int, percent: Decimal | int | str) -> int:
    """`percent` % of `amount_krw`, rounded half up to a whole won (commission, surcharge)."""
    return int((Decimal(amount_krw) * Decimal(str(percent)) / 100).to_integral_value(rounding=ROUND_HALF_UP))


def scaled(amount_krw: int, factor: Decimal | str | float) -> Decimal:
    """`amount_krw` times `factor`, exactly; round the result with `round_up_to` or `share_of`."""
    return Decimal(amount_krw) * Decimal(str(factor))
