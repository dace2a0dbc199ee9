"""PNG encoding of an RGB array, faster than Pillow's for the report's figures.

Pillow tries every PNG row filter on every row (adaptive filtering): for a 760×440
figure that is ~15 ms of a cold panel change. A figure is mostly flat colour, which
zlib compresses as well unfiltered: rows without a filter at zlib level 1 encode in
about a third of the time to about the same size.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["encode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def encode_png(rgb: np.ndarray, level: int = 1) -> bytes:
    """PNG bytes of ``rgb`` (height × width × 3, uint8): 8-bit truecolour, no
    interlacing, every row with filter type 0 (None), deflated at zlib ``level``."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (h, w, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    height, width, _ = rgb.shape
    raw = np.zeros((height, width * 3 + 1), dtype=np.uint8)  # column 0: filter type
    pixels = raw[:, 1:].view()
    pixels.shape = (height, width, 3)  # a view (raises rather than copy): filled in place
    for channel in range(3):  # one channel at a time: ~20x faster than pixels[...] = rgb
        pixels[..., channel] = rgb[..., channel]
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        (
            _SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(raw.tobytes(), level)),
            _chunk(b"IEND", b""),
        )
    )
