"""The frames that cross the grading boundary, and the bounds on what one may hold: MessagePack headers plus raw
buffers, never pickle.  Standard library and msgpack only (no torch): whatever does not decode is a
:class:`MalformedFrame` (the client's verdict: :data:`kata.messages.WORKER_BAD_DATA`).
"""
from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import msgpack  # type: ignore[import-untyped]

#: Largest frame accepted from the other side (bytes).
MAX_FRAME = 512 * 1024 * 1024
#: Longest string kept from the other side; longer ones are cut (a learner can return megabytes of text).
MAX_TEXT = 20_000
#: Deepest nesting of containers accepted.
MAX_DEPTH = 64
#: A reply's header (the trusted side reads at most this much; tensors' data travels in buffers, not here).
MAX_HEADER = 16 * 1024 * 1024
#: Values one message may hold (containers, numbers, strings, tensors…), and tensor elements all together: decoding,
#: rebuilding and comparing a reply stay bounded, so a flood of data costs the call that sent it, not the run.
MAX_VALUES = 250_000
MAX_ELEMENTS = 1 << 26
#: Integers MessagePack holds as they are; larger ones cross as text (the ``I`` codec).
INT_RANGE = (-(1 << 63), (1 << 64) - 1)

#: NumPy kinds whose values are plain bytes (numbers, booleans, fixed-size text and bytes, dates and durations).
ARRAY_KINDS = "biufcUSMm"
#: Most members of a learner's enum class, and most elements of an object array, that cross.
MAX_MEMBERS = 1000
MAX_OBJECT_ITEMS = 100_000
class WireError(Exception):
    """The other side sent something that is not valid data (too large, too deep, unknown class)."""


class MalformedFrame(WireError):
    """A frame, or a value in it, that does not decode: not MessagePack, a tag no codec has, a body of the wrong
    shape, or data that the built-in, NumPy or torch constructors refuse."""


class WireTimeout(WireError):
    """Decoding a reply went past the call's deadline (charged to the call that sent it)."""


#: What the constructors that decoding calls (built-in types, NumPy, torch) raise for data they refuse; turned into
#: :class:`MalformedFrame` where a value is decoded, so that no other exception leaves the decoder for bad data.
REFUSED = (KeyError, IndexError, TypeError, ValueError, OverflowError, RuntimeError)


# -- frames --------------------------------------------------------------------------------------------------------
#
# A frame: total length and header length (``<QI``), the header (a MessagePack map), the number of buffers and each
# one's length, then the buffers' bytes.  MessagePack rather than JSON: the same maps and lists in about half the CPU
# time to write and read (benchmarks/wire_framing.py), with strings that may hold any code point (surrogates too).

_HEAD = struct.Struct("<QI")
_COUNT = struct.Struct("<I")
_SIZE = struct.Struct("<Q")


def pack(header: dict, buffers: list[bytes]) -> bytes:
    head = msgpack.packb(header, use_bin_type=True, unicode_errors="surrogatepass")
    parts = [_COUNT.pack(len(buffers))] + [_SIZE.pack(len(b)) for b in buffers]
    body = head + b"".join(parts) + b"".join(bytes(b) for b in buffers)
    return _HEAD.pack(len(body), len(head)) + body


def read_exact(recv: Callable[[int], bytes], n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def unpack(recv: Callable[[int], bytes], limit: int = MAX_FRAME, head_limit: int | None = None
           ) -> tuple[dict, list[memoryview]]:
    total, head_len = _HEAD.unpack(read_exact(recv, _HEAD.size))
    if total > limit or head_len > total:
        raise WireError(f"frame of {total} bytes is over the limit of {limit}")
    if head_limit is not None and head_len > head_limit:
        raise WireError(f"frame header of {head_len} bytes is over the limit of {head_limit}")
    body = memoryview(read_exact(recv, total))
    try:
        header = msgpack.unpackb(body[:head_len], raw=False, strict_map_key=True, unicode_errors="surrogatepass")
    except (ValueError, msgpack.UnpackException):
        raise MalformedFrame("frame header is not MessagePack") from None
    if not isinstance(header, dict):
        raise MalformedFrame("frame header is not a map")
    pos = head_len
    if pos + _COUNT.size > total:
        raise MalformedFrame("frame without a buffer count")
    (count,) = _COUNT.unpack_from(body, pos)
    pos += _COUNT.size
    if pos + _SIZE.size * count > total:
        raise MalformedFrame("buffer lengths run past the end of the frame")
    sizes = [_SIZE.unpack_from(body, pos + _SIZE.size * i)[0] for i in range(count)]
    pos += _SIZE.size * count
    buffers = []
    for size in sizes:
        if pos + size > total:
            raise MalformedFrame("buffer runs past the end of the frame")
        buffers.append(body[pos:pos + size])
        pos += size
    return header, buffers



def as_map(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise MalformedFrame(f"{what} is not a map")
    return value


def as_list(value: Any, what: str = "a body") -> list:
    if not isinstance(value, list):
        raise MalformedFrame(f"{what} is not a list")
    return value


def clip(text: str, limit: int = MAX_TEXT) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit] + f"…(+{len(text) - limit})"
