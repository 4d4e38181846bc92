"""Phone numbers for integration tests: valid numbers the sandbox prices across 20 countries."""
from __future__ import annotations

import random

# Example mobile numbers (libphonenumber's) of 20 countries: operator rows and country defaults mixed.
EXAMPLES = ("447400123456", "37121234567", "4915123456789", "12015550123", "33612345678", "393123456789",
            "34612345678", "46701234567", "4534412345", "6581234567", "79123456789", "8613123456789",
            "918123456789", "5511961234567", "61412345678", "2348021234567", "254712123456", "819012345678",
            "522221234567", "48512345678")


def phone_numbers(count: int, seed: int = 0) -> list[str]:
    """``count`` distinct valid numbers over 20 countries (examples with new last 5 digits), reproducibly."""
    rng = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < count:
        example = rng.choice(EXAMPLES)
        out[example[:-5] + f"{rng.randrange(100_000):05d}"] = None
    return list(out)


def damage(digits: str, rng: random.Random) -> str:
    """``digits`` with 1-3 typos (a digit substituted, inserted or deleted): a near-miss number."""
    chars = list(digits)
    for _ in range(rng.randint(1, 3)):
        k = rng.random()
        if k < 0.5:
            chars[rng.randrange(len(chars))] = rng.choice("0123456789")
        elif k < 0.75:
            chars.insert(rng.randrange(len(chars) + 1), rng.choice("0123456789"))
        elif len(chars) > 1:
            chars.pop(rng.randrange(len(chars)))
    return "".join(chars)
