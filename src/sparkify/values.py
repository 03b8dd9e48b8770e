"""Values as the drivers return them, in the one form every engine agrees on."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any


def normalize(value: Any) -> Any:
    """A driver's value in the form every engine agrees on.

    A ``Decimal`` (a DECIMAL or ``numeric``) becomes an int when it is integral and written without
    fractional digits (``Decimal("12")``, as PostgreSQL sums integers); otherwise it stays exact
    (``Decimal("1.50")``: a float would turn 12345678901234567890.12 into 1.2345678901234567e+19).
    An aware datetime becomes naive UTC. Anything else is returned as it is.
    """
    if isinstance(value, decimal.Decimal):
        exponent = value.as_tuple().exponent
        is_integral = isinstance(exponent, int) and exponent >= 0 and value == value.to_integral_value()
        return int(value) if is_integral else value
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value
