"""The grading boundary's codec table and framing (kata.grading.sandbox.codectable and .framing), in one process: every kind of value crosses
and comes back as it was sent, and whatever does not decode is a MalformedFrame, never another exception."""
from __future__ import annotations

import collections
import enum
import io
import math
import struct

import msgpack
import numpy as np
import pytest
import torch

from kata.grading.sandbox import codectable, framing, objecttable, wire


class Colour(enum.Enum):
    RED = 1


def _cross(values: list) -> list:
    """``values`` encoded on one side, framed, unframed and decoded on the other."""
    enc = wire.Encoder(objecttable.ObjectTable("w"), allow_handles=False)
    header = {"values": [enc.value(v) for v in values], "states": enc.states, "storages": enc.storages}
    got, buffers = framing.unpack(io.BytesIO(framing.pack(header, enc.buffers)).read)
    dec = wire.Decoder(objecttable.ObjectTable("t"), got, buffers)
    return [dec.value(v) for v in got["values"]]


SAMPLES = [
    [1, (2, "three")], (1,), {"a": {1, 2}}, collections.OrderedDict(b=2, a=1), collections.defaultdict(list, a=[1]),
    {4, 5}, frozenset({6}), 2 ** 70, -(2 ** 90), b"\x00\xff", torch.Size([2, 3]), torch.float16,
    torch.device("cpu"), torch.channels_last, torch.strided, slice(1, None, -1), Ellipsis, np.dtype("<i2"),
    np.float32(1.5), torch.arange(6.0).reshape(2, 3)[:, 1:], np.arange(5, dtype=np.int16), Colour.RED,
    np.array([1, "x"], dtype=object), KeyError("k"), torch.return_types.max((torch.ones(1), torch.zeros(1))),
    torch.Generator().manual_seed(3), int, max, "テキスト\udcff",
]


def test_every_codec_has_a_sample_and_its_values_come_back_as_sent():
    encoded_tags = set()
    for value in SAMPLES:
        enc = wire.Encoder(objecttable.ObjectTable("w"), allow_handles=False)
        out = enc.value(value)
        if isinstance(out, dict):
            encoded_tags.update(out)
    wanted = {c.tag for c in codectable.CODECS} - {"ref", "h", "path", "o", "sub", "tsub", "dsub", "csub", "dc"}
    assert wanted <= encoded_tags, sorted(wanted - encoded_tags)
    for sent, got in zip(SAMPLES, _cross(SAMPLES)):
        assert type(got).__name__ == type(sent).__name__, (sent, got)
        if isinstance(sent, torch.Tensor):
            assert torch.equal(got, sent) and got.stride() == sent.stride()
        elif isinstance(sent, np.ndarray):
            assert np.array_equal(got, sent) and got.dtype == sent.dtype
        elif isinstance(sent, torch.Generator):
            assert torch.equal(got.get_state(), sent.get_state())
        elif isinstance(sent, BaseException):
            assert got.args == sent.args
        elif isinstance(sent, enum.Enum):  # a class of this test module: a stand-in of the same names comes back
            assert (got.name, got.value, type(got).__qualname__) == (sent.name, sent.value, "Colour")
        elif not isinstance(sent, tuple) or type(sent) is tuple:
            assert got == sent, (sent, got)


def test_nan_and_big_numbers_cross():
    nan, big = _cross([math.nan, [2 ** 64 - 1, -(2 ** 63), 2 ** 64]])
    assert math.isnan(nan) and big == [2 ** 64 - 1, -(2 ** 63), 2 ** 64]


@pytest.mark.parametrize("value", [
    {"nope": 1}, {"L": 1}, {"L": [], "T": []}, {}, [1], b"raw", {"D": [[1]]}, {"DD": ["os", []]}, {"dtype": "int99"},
    {"device": "warp:0"}, {"Size": ["a"]}, {"npscalar": ["O", 0]}, {"npscalar": ["<f4", 3]}, {"B": "0"},
    {"slice": [1, 2, 3, 4]}, {"tattr": "add"}, {"I": "12" * 3000}, {"oa": {"shape": [3], "items": [1]}},
    {"enum": "x"}, {"enum": {"mro": "x"}}, {"sub": {"mro": [], "base": "bytes", "v": "x", "attrs": None}},
    {"dc": {"mro": [], "fields": [["a"]]}}, {"ref": "t1"}, {"h": {"key": 1}}, {"path": "x"}, {"t": ["k"]},
])
def test_a_value_that_does_not_decode_is_a_malformed_frame(value):
    with pytest.raises(framing.MalformedFrame):
        wire.Decoder(objecttable.ObjectTable("t"), {}, []).value(value)


@pytest.mark.parametrize("state", [
    {"kind": "tensor", "dtype": "float32"}, {"kind": "tensor", "dtype": "float32", "shape": [2], "stride": [1],
                                            "offset": 0, "storage": "s1", "device": "cpu"},
    {"kind": "array", "dtype": "object"}, {"kind": "nope"}, "tensor", {"kind": "obj", "cls": "torch:nn.Linear",
                                                                     "dict": {"L": []}},
])
def test_a_keyed_state_that_does_not_decode_is_a_malformed_frame_or_refused(state):
    with pytest.raises(framing.WireError):
        wire.Decoder(objecttable.ObjectTable("t"), {"states": {"k1": state}, "storages": {"s1": "x"}}, []).keyed("k1")


def _frame(head: bytes, rest: bytes = b"") -> bytes:
    body = head + rest
    return struct.pack("<QI", len(body), len(head)) + body


@pytest.mark.parametrize("frame", [
    _frame(b"\xc1"),  # not MessagePack
    _frame(b"[1]", struct.pack("<I", 0)),  # JSON, as the old framing wrote it
    _frame(msgpack.packb([1]), struct.pack("<I", 0)),  # not a map
    _frame(msgpack.packb({1: 2}), struct.pack("<I", 0)),  # a key that is not text
    _frame(b"\xa2\xff\xfe", struct.pack("<I", 0)),  # text that is not UTF-8
    _frame(b"\x91" * 5000 + b"\xc0", struct.pack("<I", 0)),  # nested past MessagePack's own stack
    _frame(msgpack.packb({})),  # no buffer count
    _frame(msgpack.packb({}), struct.pack("<I", 0xFFFFFFFF)),  # more buffer lengths than the frame holds
    _frame(msgpack.packb({}), struct.pack("<I", 1) + struct.pack("<Q", 1 << 40)),  # a buffer past the end
])
def test_a_frame_that_does_not_decode_is_a_malformed_frame(frame):
    with pytest.raises(framing.MalformedFrame):
        framing.unpack(io.BytesIO(frame).read)


def test_the_limits_hold():
    with pytest.raises(framing.WireError):
        framing.unpack(io.BytesIO(struct.pack("<QI", framing.MAX_FRAME + 1, 0)).read)
    with pytest.raises(framing.WireError):
        framing.unpack(io.BytesIO(_frame(b"\x80" * 10, struct.pack("<I", 0))).read, head_limit=4)
    deep: object = 1
    for _ in range(framing.MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(framing.WireError):
        wire.Encoder(objecttable.ObjectTable("w"), allow_handles=False).value(deep)
    nested: object = 1
    for _ in range(framing.MAX_DEPTH + 1):
        nested = {"L": [nested]}
    with pytest.raises(framing.WireError):
        wire.Decoder(objecttable.ObjectTable("t"), {}, []).value(nested)
    with pytest.raises(framing.WireError):
        wire.Decoder(objecttable.ObjectTable("t"), {}, []).value({"L": [{"L": []}] * (framing.MAX_VALUES + 1)})
