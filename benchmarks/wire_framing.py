"""The grading boundary's framing: one frame's header written as JSON (the framing before issue 19) against
MessagePack (kata.grading.sandbox.framing today), each written and read back, over frames like those of a grading run.

    python benchmarks/wire_framing.py [--frames FILE] [--rounds 7]

The frames are made here with the wire's own Encoder from what a check sends and gets back (tensors, a batch of a
dataset, a model's parameters, the global state, nested containers of numbers and strings), or read from ``FILE``:
frames as ``kata.grading.sandbox.framing.pack`` writes them, one after another, recorded from a real run.
Reported: the best of ``--rounds`` passes over all frames, in CPU milliseconds of this process (less sensitive than
wall time to a machine shared with other work), and per frame in microseconds; the two framings alternate.
"""
from __future__ import annotations

import argparse
import io
import json
import struct
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _typical_frames() -> list[tuple[dict, list[bytes]]]:
    import numpy as np
    import torch

    from kata.grading.sandbox import objecttable, wire
    from kata.state import state_snapshot

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    values: list = [
        [torch.randn(4, 3), torch.randn(3)],  # a call's operands
        {"loss": 0.25, "acc": [0.5, 0.75], "name": "エポック 1", "shape": torch.Size([4, 3])},
        [(torch.randn(16, 8), torch.randint(0, 2, (16,))) for _ in range(8)],  # batches of a data loader
        dict(model.named_parameters()),
        state_snapshot(),
        {"xs": list(range(200)), "ys": [float(i) / 7 for i in range(200)], "words": ["テンソル"] * 50},
        np.arange(60, dtype=np.float32).reshape(3, 4, 5),
        torch.float64, torch.device("cpu"), "ok", None, 3, [[1, 2], [3, 4]],
    ]
    frames = []
    for i in range(40):
        value = values[i % len(values)]
        enc = wire.Encoder(objecttable.ObjectTable("w"), allow_handles=True)
        header = {"value": enc.value(value), "states": enc.states, "storages": enc.storages,
                  "state": enc.value({}), "events": enc.value([]), "files": {}, "reach": {}}
        frames.append((header, [bytes(b) for b in enc.buffers]))
    return frames


def _recorded(path: Path) -> list[tuple[dict, list[bytes]]]:
    from kata.grading.sandbox import framing

    stream = io.BytesIO(path.read_bytes())
    frames = []
    while stream.tell() < len(stream.getbuffer()):
        header, buffers = framing.unpack(stream.read)
        frames.append((header, [bytes(b) for b in buffers]))
    return frames


_HEAD = struct.Struct("<QI")


def json_pack(header: dict, buffers: list[bytes]) -> bytes:
    """The framing before issue 19: the header as ASCII JSON."""
    head = json.dumps(header, ensure_ascii=True, allow_nan=True, separators=(",", ":")).encode("ascii")
    parts = [struct.pack("<I", len(buffers))] + [struct.pack("<Q", len(b)) for b in buffers]
    body = head + b"".join(parts) + b"".join(bytes(b) for b in buffers)
    return _HEAD.pack(len(body), len(head)) + body


def json_unpack(recv) -> tuple[dict, list[memoryview]]:
    from kata.grading.sandbox.framing import read_exact

    total, head_len = _HEAD.unpack(read_exact(recv, _HEAD.size))
    body = memoryview(read_exact(recv, total))
    header = json.loads(bytes(body[:head_len]).decode("ascii"))
    pos = head_len
    (count,) = struct.unpack_from("<I", body, pos)
    pos += 4
    sizes = [struct.unpack_from("<Q", body, pos + 8 * i)[0] for i in range(count)]
    pos += 8 * count
    buffers = []
    for size in sizes:
        buffers.append(body[pos:pos + size])
        pos += size
    return header, buffers


def _pass(frames: list, pack, unpack) -> tuple[float, float]:
    """(pack and unpack, pack only): CPU seconds of one pass over ``frames``."""
    start = time.process_time()
    packed = [pack(h, b) for h, b in frames]
    middle = time.process_time()
    for data in packed:
        unpack(io.BytesIO(data).read)
    end = time.process_time()
    return end - start, middle - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=Path)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from kata.grading.sandbox import framing

    frames = _recorded(args.frames) if args.frames else _typical_frames()
    out: dict = {"frames": len(frames),
                 "mean_header_json_bytes": round(sum(len(json.dumps(h)) for h, _ in frames) / len(frames)),
                 "mean_buffer_bytes": round(sum(sum(map(len, b)) for _, b in frames) / len(frames))}
    framings = (("json", json_pack, json_unpack), ("msgpack", framing.pack, framing.unpack))
    best = {name: (float("inf"), float("inf")) for name, _, _ in framings}
    for _ in range(args.rounds):  # interleaved, so that a change of machine load hits both alike
        for name, pack, unpack in framings:
            both, only = _pass(frames, pack, unpack)
            best[name] = (min(best[name][0], both), min(best[name][1], only))
    for name, _, _ in framings:
        both, only = best[name]
        out[name] = {"pack_and_unpack_ms": round(both * 1e3, 2), "pack_ms": round(only * 1e3, 2),
                     "per_frame_us": round(both / len(frames) * 1e6, 1)}
    out["ratio_msgpack_to_json"] = round(out["msgpack"]["pack_and_unpack_ms"] / out["json"]["pack_and_unpack_ms"], 3)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
