"""A big audience written as analysts write numbers, for the estimate / summary benchmarks.

``mixed_numbers(n)``: n cells over ``sample_numbers``' campaign mix and long tail, the same mix
at every n: distinct numbers, then 30 % with ``+``, 10 % spaced, 3 % ``00``, 2 % national
(leading 0: a default region would be needed; unplaced or refused otherwise), 2 % repeats of an
earlier cell, 1 % junk.  Distinct numbers beyond the first 200,000 reuse a sampled number's
prefix with new trailing digits (fast at 10M; still placed by their prefix).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from smsgic_analytics.numbers.samples import sample_numbers

JUNK = np.array(["n/a", "", "12ab", "++447700900123", "1234567890123456789012", "unknown"], dtype=object)


def distinct_numbers(n: int, seed: int = 0) -> np.ndarray:
    """``n`` distinct numbers: ``sample_numbers``' (de-duplicated) then, past 200,000, sampled
    prefixes with new 4-digit tails, drawn until ``n`` are distinct -- so the share of repeats
    in ``mixed_numbers`` is the same at 1M and at 10M (only the 2 % it adds)."""
    cells = pd.unique(np.array(sample_numbers(min(n, 200_000), seed=seed), dtype=object))
    heads = pd.unique(np.array([s[:-4] for s in cells.tolist()], dtype=object))
    rng = np.random.default_rng(seed)
    while len(cells) < n:
        want = n - len(cells)
        more = heads[rng.integers(0, len(heads), want + want // 8 + 16)] + np.char.zfill(
            rng.integers(0, 10_000, want + want // 8 + 16).astype(str), 4).astype(object)
        cells = pd.unique(np.concatenate([cells, more]))
    return cells[:n]


def mixed_numbers(n: int, seed: int = 0) -> list[str]:
    """``n`` cells (see the module docstring), reproducible from ``seed``."""
    rng = np.random.default_rng(seed + 1)
    cells = distinct_numbers(n, seed).copy()
    style = rng.random(n)
    plus = style < 0.30
    spaced = (style >= 0.30) & (style < 0.40)
    zeros = (style >= 0.40) & (style < 0.43)
    national = (style >= 0.43) & (style < 0.45)
    repeat = (style >= 0.45) & (style < 0.47)
    junk = (style >= 0.47) & (style < 0.48)
    cells[plus] = "+" + cells[plus]
    cells[spaced] = np.array([f"+{c[:2]} {c[2:6]} {c[6:]}" for c in cells[spaced].tolist()], dtype=object)
    cells[zeros] = "00" + cells[zeros]
    cells[national] = np.array(["0" + c[2:] for c in cells[national].tolist()], dtype=object)
    where = np.flatnonzero(repeat)
    cells[where] = cells[rng.integers(0, n, len(where))]
    cells[junk] = JUNK[rng.integers(0, len(JUNK), int(junk.sum()))]
    return cells.tolist()
