"""Bitmaps and masks: Arrow's bit-packed validity/boolean buffers and per-row masks.

Arrow packs one bit per row, least-significant bit first (1 = valid / true). Python code
works better with a *mask*: a `bytes` of one byte per row, each 0 or 1. It iterates at C
speed, feeds `itertools.compress`, `bytes.count`, `bytes.translate`, and two masks combine
with whole-buffer big-integer operations (`mask_and`, `mask_or`, `mask_not`).

`unpack(bitmap, n)` and `pack(mask)` convert between the two with table look-ups driven by
`map()` (no per-row Python code), so they cost a few nanoseconds per row even inside wasm.
"""

from __future__ import annotations

from itertools import compress, repeat
from typing import Any, Iterable

# _UNPACK[b]: the 8 mask bytes of bitmap byte b, least-significant bit first.
_UNPACK = [bytes((b >> k) & 1 for k in range(8)) for b in range(256)]
# _PACK[w]: the bitmap byte of 8 mask bytes read as a little-endian u64 word w.
_PACK = {int.from_bytes(_UNPACK[b], "little"): b for b in range(256)}
_NOT = bytes.maketrans(b"\x00\x01", b"\x01\x00")


def unpack(bitmap: bytes, n: int) -> bytes:
    """The mask (bytes, 0/1 per row) of the first `n` bits of `bitmap`."""
    nbytes = (n + 7) >> 3
    if len(bitmap) < nbytes:
        raise ValueError(f"bitmap of {len(bitmap)} bytes is too short for {n} rows")
    mask = b"".join(map(_UNPACK.__getitem__, bitmap[:nbytes]))
    return mask if len(mask) == n else mask[:n]


def pack(mask: bytes | Iterable[int]) -> bytes:
    """The bitmap (bytes, LSB first) of a mask of 0/1 bytes; trailing bits are 0.

    `mask` may also be any iterable of booleans/0/1 ints (it is turned into bytes first).
    """
    if not isinstance(mask, (bytes, bytearray)):
        mask = bytes(mask)
    n = len(mask)
    pad = (-n) & 7
    if pad:
        mask = bytes(mask) + bytes(pad)
    try:
        return bytes(map(_PACK.__getitem__, memoryview(mask).cast("Q")))
    except KeyError:
        raise ValueError("a mask must hold only 0 and 1 bytes") from None


def count_set(bitmap: bytes, n: int) -> int:
    """How many of the first `n` bits of `bitmap` are 1."""
    if n == 0:
        return 0
    v = int.from_bytes(bitmap[: (n + 7) >> 3], "little")
    return (v & ((1 << n) - 1)).bit_count()


def get(bitmap: bytes, i: int) -> bool:
    """Bit `i` of `bitmap` (True or False)."""
    return (bitmap[i >> 3] >> (i & 7)) & 1 == 1


def all_set(n: int) -> bytes:
    """A bitmap with the first `n` bits set."""
    full, rest = divmod(n, 8)
    return b"\xff" * full + (bytes(((1 << rest) - 1,)) if rest else b"")


def mask_and(a: bytes, b: bytes) -> bytes:
    """Row-wise AND of two masks of equal length."""
    n = len(a)
    return (int.from_bytes(a, "little") & int.from_bytes(b, "little")).to_bytes(n, "little")


def mask_or(a: bytes, b: bytes) -> bytes:
    """Row-wise OR of two masks of equal length."""
    n = len(a)
    return (int.from_bytes(a, "little") | int.from_bytes(b, "little")).to_bytes(n, "little")


def mask_not(a: bytes) -> bytes:
    """Row-wise NOT of a mask."""
    return a.translate(_NOT)


def ones(n: int) -> bytes:
    """A mask of `n` ones."""
    return b"\x01" * n


def indices(mask: bytes) -> list:
    """The row numbers where `mask` is 1, as a list."""
    return list(compress(range(len(mask)), mask))


def from_bools(values: Iterable[Any]) -> bytes:
    """A mask from an iterable of truthy/falsy values (C-speed for bools and 0/1 ints)."""
    try:
        return bytes(values)
    except (TypeError, ValueError):
        return bytes(1 if v else 0 for v in values)


def constant(value: object, n: int) -> bytes:
    """A mask of `n` rows all equal to `value` (truthy = 1)."""
    return bytes(repeat(1 if value else 0, n))
