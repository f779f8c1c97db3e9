"""The grading boundary seen from the trusted side, with a real zygote and sandbox worker in this process's tests.

Each test is named after a kind of trust the trusted side must not place in the worker (issue "one grade, sealed"):

- the worker is not told where a check starts, nor how many calls a check has made;
- the global state the worker reports is recorded as data and never applied to the trusted process;
- the trusted side's work on a reply (decoding, rebuilding) is bounded and charged to the call that sent it.

The learner modules below run inside the worker and reach into it as hostile code would (the worker's own module is
in their ``sys.modules``): what they record is what the worker can see.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from kata.grading.sandbox import client, framing, objecttable, wire

pytestmark = pytest.mark.slow

#: A learner module that wraps the worker's request handler and records, for every request, what could mark a
#: check: the header's fields, the reset flag and the keys of the operands.
SPY = '''
import sys
import torch

_seen = []
_worker = sys.modules["kata.grading.sandbox.worker"].Worker
_real_do = _worker.do


def _spy(self, header, buffers):
    _seen.append({"fields": sorted(k for k in header if k not in ("operands", "kwargs", "state", "states",
                                                                   "storages", "sync")),
                  "reset": bool(header.get("reset")),
                  "keys": [v.get("t") for v in header.get("operands", []) if isinstance(v, dict) and "t" in v]})
    return _real_do(self, header, buffers)


_worker.do = _spy


def double(x):
    return x * 2


def seen():
    return [dict(e) for e in _seen[:-1]]  # the request that asks is not one of the checks' calls


def set_state():
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True
    return torch.get_default_dtype()


def flood(n):
    return [[i] for i in range(n)]


def set_threads(n):
    torch.set_num_threads(n)
    return torch.get_num_threads()


def threads():
    return torch.get_num_threads()


torch.set_num_threads(3)  # at import: put back too
'''


@pytest.fixture(scope="module")
def zygote() -> Iterator[client.Zygote]:
    z = client.Zygote()
    yield z
    z.close()


def _session(zygote: client.Zygote, tmp_path: Path, source: str = SPY) -> client.Session:
    chapter = client.Chapter("01_setup", source.encode(), "learner.py")
    session = client.Session(zygote, chapter, client.Limits(call_timeout=60, import_timeout=60), [tmp_path])
    session.ensure()
    return session


def test_the_worker_is_not_told_where_a_check_starts(zygote, tmp_path, monkeypatch):
    """Between checks nothing in a request changes: no reset flag, no key restarting at 1, the same fields in the
    first call of a check as in its second.  (Both sides forget old objects together now and then, at a boundary
    drawn at random; here never, so that every boundary is seen to be unmarked.)"""
    monkeypatch.setattr(client, "FORGET_CHANCE", 0.0)
    session = _session(zygote, tmp_path)
    try:
        for _ in range(6):
            session.begin_check()
            for _ in range(2):
                session.do("callname", [torch.ones(3)], name="double")
        seen = session.do("callname", [], name="seen")
    finally:
        session.close()
    assert len(seen) == 12
    assert not any(e["reset"] for e in seen)
    assert len({tuple(e["fields"]) for e in seen}) == 1, "the first call of a check looks like any other"
    keys = [int(k[1:]) for e in seen for k in e["keys"]]
    assert keys == sorted(keys) and len(set(keys)) == len(keys), "keys are never reused or restarted"


def test_the_worker_forgets_old_objects_only_with_the_trusted_side(zygote, tmp_path, monkeypatch):
    """When the table has grown past its bound, both sides forget together (one reset flag), and the keys still
    go on rising: even a forgetting does not say how many calls the checks before made."""
    monkeypatch.setattr(client, "FORGET_CHANCE", 0.0)
    monkeypatch.setattr(client, "FORGET_AFTER", 5)
    session = _session(zygote, tmp_path)
    try:
        for _ in range(8):
            session.begin_check()
            assert torch.equal(session.do("callname", [torch.ones(2)], name="double"), torch.full((2,), 2.0))
        seen = session.do("callname", [], name="seen")
    finally:
        session.close()
    assert 0 < sum(e["reset"] for e in seen) < len(seen)
    keys = [int(k[1:]) for e in seen for k in e["keys"]]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_reported_global_state_is_recorded_and_never_applied(zygote, tmp_path):
    """The worker's default dtype, RNG and cuDNN flags are the learner's world: the trusted process keeps its own,
    and learner_state reports the learner's."""
    dtype, rng, benchmark = torch.get_default_dtype(), torch.get_rng_state(), torch.backends.cudnn.benchmark
    session = _session(zygote, tmp_path)
    try:
        session.begin_check()
        assert session.do("callname", [], name="set_state") == torch.float64
        assert torch.get_default_dtype() == dtype
        assert torch.equal(torch.get_rng_state(), rng)
        assert torch.backends.cudnn.benchmark == benchmark
        learner = session.learner_state()
        assert learner["default_dtype"] == torch.float64
        assert learner["cudnn"][2] is True
        assert learner["torch_rng"] == torch.Generator().manual_seed(0).get_state().numpy().tobytes()
    finally:
        session.close()


def test_the_worker_puts_its_own_state_back_after_every_call(zygote, tmp_path):
    """The worker's thread count is its own, not the learner's world (kata.state.ENTRIES, not shared): what learner
    code sets is put back after the call (and after the module's import), as learning mode puts it back after the
    check, while the learner's world (default dtype, RNG, flags) stays as the call left it."""
    session = _session(zygote, tmp_path)
    try:
        session.begin_check()
        assert session.do("callname", [], name="threads") == 1
        assert session.do("callname", [2], name="set_threads") == 2
        assert session.do("callname", [], name="threads") == 1
        session.do("callname", [], name="set_state")
        assert session.learner_state()["default_dtype"] == torch.float64
    finally:
        session.close()


def test_a_reply_with_too_many_values_costs_its_own_call(zygote, tmp_path, monkeypatch):
    """More values than one reply may hold: that call fails as bad data, and the next call gets a fresh worker."""
    monkeypatch.setattr(wire, "MAX_VALUES", 1000)
    session = _session(zygote, tmp_path)
    try:
        session.begin_check()
        with pytest.raises(client.WorkerDied):
            session.do("callname", [5000], name="flood")
        session.begin_check()
        assert torch.equal(session.do("callname", [torch.ones(2)], name="double"), torch.full((2,), 2.0))
    finally:
        session.close()


def test_decoding_past_the_calls_deadline_is_that_calls_time_out():
    """The decoder checks the call's deadline as it goes: a reply still being decoded when it passes is a time-out
    of that call, not time taken from the calls after it."""
    table = objecttable.ObjectTable("t")
    values = {"L": [{"L": [i]} for i in range(5000)]}
    with pytest.raises(framing.WireTimeout):
        wire.Decoder(table, {}, [], deadline=0.0).value(values)
    assert len(wire.Decoder(table, {}, [], deadline=None).value(values)) == 5000


def test_a_reply_whose_tensors_show_too_many_elements_is_refused():
    """An expanded view shows more elements than its storage holds: counted as shown, so that comparing it stays
    bounded."""
    decoder = wire.Decoder(objecttable.ObjectTable("t"), {}, [])
    with pytest.raises(framing.WireError):
        decoder._count_elements((1 << 20, 1 << 20))


#: A learner module that keeps what it is given and changes it later, in and out of a call's sight.
KEEPER = '''
import torch

_kept = {}


def keep(**objects):
    _kept.update(objects)


def kept_sum(name):
    return float(_kept[name].sum())


def same(x):
    return None


def zero_in_call(x):
    x.zero_()
'''


def test_a_change_made_on_the_trusted_side_reaches_the_worker(zygote, tmp_path):
    """A tensor the worker keeps, changed in place here after it crossed: the next call that names it hands the
    change over, as learning mode would show it (one object)."""
    session = _session(zygote, tmp_path, KEEPER)
    try:
        session.begin_check()
        t = torch.zeros(3)
        session.do("callname", [], {"t": t}, name="keep")
        assert session.do("callname", ["t"], name="kept_sum") == 0.0
        t.add_(1)
        session.do("callname", [t], name="same")
        assert session.do("callname", ["t"], name="kept_sum") == 3.0
    finally:
        session.close()


def test_a_view_changed_through_its_base_on_either_side_stays_in_step(zygote, tmp_path):
    """A base and its view cross; the base changes here (so the view does), then learner code puts the view back
    to zeros: both sides end where learning mode does."""
    session = _session(zygote, tmp_path, KEEPER)
    try:
        session.begin_check()
        base = torch.zeros(4)
        view = base[:2]
        session.do("callname", [], {"base": base, "view": view}, name="keep")
        base.add_(1)
        session.do("callname", [view], name="zero_in_call")
        assert torch.equal(base, torch.tensor([0.0, 0.0, 1.0, 1.0]))
        assert session.do("callname", ["base"], name="kept_sum") == 2.0
    finally:
        session.close()


def _gone(pid: int) -> bool:
    """``pid`` has ended (or is a zombie waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_worker_forked_ahead_is_taken_only_for_its_own_setup_and_never_left_behind(zygote, tmp_path):
    """The next chapter's worker is forked ahead of need (``Zygote.prespawn``): a spawn takes it only when it asks
    for the same setup; a spare never taken is killed, and the zygote's answer about it is read, so that a
    long-lived zygote goes to the next trusted run with nothing unread."""
    import time

    limits = client.Limits(call_timeout=60, import_timeout=60)

    def session(key: str, value: int) -> client.Session:
        return client.Session(zygote, client.Chapter(key, f"def f():\n    return {value}\n".encode(), f"{key}.py"),
                              limits, [tmp_path])

    first, second, third, fourth = (session(k, v) for k, v in
                                    (("01_setup", 1), ("02_creation", 2), ("03_numpy", 3), ("04_shapes", 4)))
    zygote.prespawn(second.config())
    zygote.prespawn(second.config())  # asked twice: one spare
    assert len(zygote._spares) == 1
    try:
        first.ensure()  # another setup: a worker of its own, the spare waits
        assert first.module().f() == 1
        [(_, _, spare)] = zygote._spares
        assert spare is not None and spare != first.pid
        second.ensure()
        assert second.pid == spare and not zygote._spares
        assert second.module().f() == 2
        zygote.prespawn(third.config())
        zygote._settle()  # its pid, from the zygote's answer
        [(_, _, unused)] = zygote._spares
        assert unused is not None
        zygote.discard_spares()
        assert not zygote._spares
        fourth.ensure()  # the zygote's next answer is this request's own
        assert fourth.module().f() == 4
    finally:
        for s in (first, second, fourth):
            s.close()
    # The spare that was never taken does not outlive its discarding (polled; no duration is asserted).
    deadline = time.monotonic() + 120
    while not _gone(unused) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(unused)


def test_learner_code_runs_with_the_garbage_collector_on(zygote, tmp_path):
    """The zygote imports torch with the collector off (kata.grading.sandbox.zygote.GC_OFF) and switches it on again
    before it forks: a worker collects cyclic garbage as a learner's own Python does (a finaliser of an object in
    a cycle runs), and the objects the zygote imported are frozen."""
    source = ("import gc\nimport weakref\n\n\nclass Node:\n    pass\n\n\n"
              "def cycle_is_collected():\n    a, b = Node(), Node()\n    a.other, b.other = b, a\n"
              "    seen = []\n    weakref.finalize(a, seen.append, 1)\n    del a, b\n    gc.collect()\n"
              "    return gc.isenabled(), seen == [1], gc.get_freeze_count() > 0\n")
    session = _session(zygote, tmp_path, source)
    try:
        session.begin_check()
        assert session.do("callname", [], name="cycle_is_collected") == (True, True, True)
    finally:
        session.close()
