"""A minimal PNG writer (8-bit RGB, no interlace), so that the finale draws its decision boundary without matplotlib.

Standard library only; the caller hands over the pixels as bytes (rows top to bottom, three bytes per pixel).
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOUR_TYPE_RGB = 2


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def encode_rgb(width: int, height: int, pixels: bytes) -> bytes:
    """The PNG file for ``pixels``: ``height`` rows of ``width`` RGB triples, top row first."""
    if width <= 0 or height <= 0 or len(pixels) != width * height * 3:
        raise ValueError(f"expected {width} x {height} x 3 bytes, got {len(pixels)}")
    stride = width * 3
    # Filter type 0 (None) on every row: each row is its bytes after a leading zero.
    raw = b"".join(b"\x00" + pixels[row * stride:(row + 1) * stride] for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, COLOUR_TYPE_RGB, 0, 0, 0)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def write_rgb(path: str | Path, width: int, height: int, pixels: bytes) -> Path:
    path = Path(path)
    path.write_bytes(encode_rgb(width, height, pixels))
    return path
