"""Counter-based pseudo-randomness: a value depends only on its key, never on call order.

Per-entity attributes (a user's channel, segment, closure day, whether they are active on day d)
are hashes of (seed, entity, salt), so any partition can recompute them without reading other
partitions. Per-day volumes use numpy generators seeded by (seed, day, stream).
"""

from __future__ import annotations

import numpy as np

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_MASK = (1 << 64) - 1


def _u64(x: int | np.ndarray) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x.astype(np.uint64, copy=False)
    return np.asarray(int(x) & _MASK, dtype=np.uint64)


def mix(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a bijection on uint64, so distinct inputs give distinct outputs."""
    z = _u64(x)
    with np.errstate(over="ignore"):  # wrapping uint64 arithmetic is the point
        z = (z ^ (z >> _U64(30))) * _M1
        z = (z ^ (z >> _U64(27))) * _M2
    return z ^ (z >> _U64(31))


def hash64(*parts: int | np.ndarray) -> np.ndarray:
    """Hash of the key parts (ints or equally-shaped integer arrays), broadcast."""
    h = np.asarray(_GOLDEN, dtype=np.uint64)
    for p in parts:
        with np.errstate(over="ignore"):
            h = mix(h ^ (_u64(p) + _GOLDEN))
    return h


def uniform(*parts: int | np.ndarray) -> np.ndarray:
    """Uniform floats in [0, 1) keyed by `parts`."""
    return (hash64(*parts) >> _U64(11)).astype(np.float64) * (1.0 / (1 << 53))


def rng(seed: int, day: int, stream: int) -> np.random.Generator:
    """A numpy generator for one (day, stream); independent of every other day and stream."""
    return np.random.default_rng([seed & (_MASK >> 1), day, stream])


def choose(u: np.ndarray, weights: list[float] | np.ndarray) -> np.ndarray:
    """Index of the weighted category that each uniform in `u` falls into."""
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    cum /= cum[-1]
    return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)


def diurnal_seconds(u1: np.ndarray, u2: np.ndarray, u3: np.ndarray) -> np.ndarray:
    """Second of the UTC day: 70% around an afternoon/evening peak (wrapping past midnight), 30% flat."""
    z = np.sqrt(-2.0 * np.log1p(-u2)) * np.cos(2.0 * np.pi * u3)  # Box-Muller
    peaked = (15.5 * 3600 + z * 4.5 * 3600) % 86400
    flat = u2 * 86400
    return np.where(u1 < 0.7, peaked, flat).astype(np.int64) % 86400
