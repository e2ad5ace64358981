"""EAN codes of Dutch grid connections: 18 digits, a GS1 GSRN whose last digit is a mod-10 check digit."""

from __future__ import annotations

import numpy as np


def gs1_check_digit(body: str) -> int:
    """Check digit for the 17 digits before it: weights 3, 1, 3, ... from the right, then up to ten."""
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_eighteen_digits(code: str) -> bool:
    """18 ASCII digits. str.isdigit alone also takes other scripts' digits and superscripts ("²"), which
    int() then refuses: a partner's EAN like that stopped the customer checks of every partner's build."""
    return len(code) == 18 and code.isascii() and code.isdigit()


def is_valid_ean(code: str | None) -> bool:
    return code is not None and is_eighteen_digits(code) and gs1_check_digit(code[:17]) == int(code[17])


def random_eans(rng: np.random.Generator, count: int) -> list[str]:
    """Distinct valid Dutch EANs (871 prefix), vectorised so that a national-scale set is quick."""
    bodies = rng.choice(10**14, size=count, replace=False)
    digits = np.stack([(bodies // 10**p) % 10 for p in range(13, -1, -1)], axis=1)  # 14 digits, left first
    prefix = np.broadcast_to(np.array([8, 7, 1]), (count, 3))
    body = np.concatenate([prefix, digits], axis=1)  # 17 digits
    weights = np.where(np.arange(17)[::-1] % 2 == 0, 3, 1)
    check = (10 - (body * weights).sum(axis=1) % 10) % 10
    return [f"871{b:014d}{c}" for b, c in zip(bodies.tolist(), check.tolist())]
