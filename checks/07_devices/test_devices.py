"""Checks for chapter 07 (devices).

CPU-only machines still test the device logic: patched availability functions for pick_device, the meta device for
moves, and a recorder for torch.cuda.manual_seed_all.  Checks that need a real GPU are skipped elsewhere.
"""
import random

import numpy as np
import pytest
import torch

from kata import messages
from kata.api import devices, inputs, portable
from kata.api.compare import (
    Mismatch,
    RngSnapshot,
    expect,
    expect_array,
    expect_equal,
    expect_generator_moved_as,
    expect_rng_unchanged,
    expect_tensor,
    expect_type,
    expect_unchanged,
    learner_generator,
    learner_state,
)
from kata.api.observe import names_of, watch
from kata.api.oprules import record_ops
from kata.api.staticrules import forbid_in_source

# -- hints only these checks use ---------------------------------------------------------------------------------------
SEED_LIBRARY = "『{library}』の乱数は『{library}』自身のシードで決まります。torch.manual_seed だけでは固定されません。『{call}』を呼んでいますか？"
CUDNN_FLAGS = "cuDNN の再現性の設定です。torch.backends.cudnn.deterministic = True と torch.backends.cudnn.benchmark = False を設定しましょう。"
CUDNN_GUARD = ("cuDNN のフラグが、CUDA が使えないときにだけ設定されています。cuDNN は GPU (CUDA) の上でしか動かないので、"
               "フラグが効くのは GPU があるときです。if の条件 (torch.cuda.is_available() など) の向きを確かめ、"
               "GPU があるときにも設定されるようにしましょう (条件なしで設定してもかまいません)。")
CUDA_SEED = ("GPU の乱数にも同じシードを使いましょう。torch.manual_seed(seed) は CPU とすべての GPU の乱数をまとめて固定します "
             "(中で torch.cuda.manual_seed_all(seed) を呼びます)。")
NOT_SYNCHRONIZED = "GPU の計算は非同期です。時刻を読む前に torch.cuda.synchronize() (MPS なら torch.mps.synchronize()) で計算の完了を待ちましょう。"
SYNC_BEFORE_START = ("測った時間に、行列を作る計算まで入っています。GPU では a や b を作る計算もまだ終わっていないことが"
                     "あるので、時刻を読み始める前にも synchronize() でそれまでの計算の完了を待ちましょう。")
NO_MATMUL = "時間を測る対象の行列積 (a @ b / torch.matmul / torch.mm) が実行されていません。"
TIME_RANGE = "経過時間は「終わりの時刻 - 始めの時刻」(秒) です。time.perf_counter() の差を float で返しましょう。"
AVAILABILITY = "torch.cuda.is_available() と torch.backends.mps.is_available() を関数の中で呼び、cuda → mps → cpu の順に選びましょう。"
LEAF_AFTER_MOVE = ("requires_grad=True のテンソルを .to(device) で移すと、移した先のテンソルは計算グラフの節点 "
                   "(葉ではない) になり、backward() のあとも .grad が入りません。CPU で引いた値を device に移してから "
                   "requires_grad_() を付けましょう (CPU から CPU への .to() は何もしないので、CPU だけでは見えない間違いです)。")
DRAW_ON_CPU = ("generator から乱数を引いていますか？ device= を付けて device の上で直接引くと、CPU の generator は使われず "
               "(meta では何も引かれず、CUDA ではエラーになります)、CUDA では値も CPU と違います。"
               "torch.randn(shape, generator=generator) で CPU で引いてから移しましょう。")
GLOBAL_SEED_RULE = "torch.manual_seed などグローバルな乱数状態を変える関数"
GLOBAL_SEEDING = (torch.manual_seed, torch.seed, torch.set_rng_state, torch.random.fork_rng, torch.cuda.manual_seed,
                  torch.cuda.manual_seed_all)

ACCELERATORS = [p for p in devices.params() if p.id != "cpu"]
MATMULS = names_of(torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__, torch.Tensor.__rmatmul__, torch.mm,
                   torch.Tensor.mm, torch.einsum, torch.nn.functional.linear)
SYNCHRONIZE = {"cuda": "torch.cuda.synchronize", "mps": "torch.mps.synchronize"}
MAX_SECONDS = 5.0  # a small matmul takes far less, whatever the device
SIMULATED = portable.SimulatedCudaTiming.kernel_seconds  # GPU time of a matrix creation and of the product


# -- pick_device ---------------------------------------------------------------------------------------------------

def _patch_availability(monkeypatch, cuda: bool, mps: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


def _expect_device_type(out, expected: str) -> None:
    expect_type(out, torch.device, "pick_device()")
    expect_equal(out.type, expected, name="選ばれたデバイスの種類 (device.type)", hint=AVAILABILITY)


@pytest.mark.parametrize("mps", [True, False], ids=["with_mps", "without_mps"])
def test_pick_device_cuda_when_available(sub, monkeypatch, mps):
    _patch_availability(monkeypatch, cuda=True, mps=mps)
    _expect_device_type(sub.pick_device(), "cuda")


def test_pick_device_mps_without_cuda(sub, monkeypatch):
    _patch_availability(monkeypatch, cuda=False, mps=True)
    _expect_device_type(sub.pick_device(), "mps")


def test_pick_device_cpu_without_accelerators(sub, monkeypatch):
    _patch_availability(monkeypatch, cuda=False, mps=False)
    _expect_device_type(sub.pick_device(), "cpu")


def test_pick_device_this_machine(sub):
    """Unpatched: the best device this machine really has."""
    _expect_device_type(sub.pick_device(), "cuda" if devices.HAS_CUDA else "mps" if devices.HAS_MPS else "cpu")


# -- to_device -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("device", devices.params(meta=True))
def test_to_device_lands_on_device(sub, gen, device):
    """Float (the widest the device has) and int64 tensors arrive with shape, dtype and values; x stays on the CPU."""
    for dtype in (devices.float_dtype(device), torch.int64):
        x = inputs.tensor(gen, inputs.shape(gen, (0, 4), 1, 5), dtype, noncontiguous=inputs.randint(gen, 0, 2) == 1)
        before = x.clone()
        out = sub.to_device(x, device)
        expect_tensor(out, before.to(device), name=f"to_device(x, {device!r})")
        expect_unchanged(x, before, "x")


def test_to_device_accepts_torch_device(sub, gen):
    x = inputs.tensor(gen, inputs.shape(gen, (1, 3)), torch.float64)
    before = x.clone()
    expect_tensor(sub.to_device(x, torch.device("meta")), before.to("meta"), name="to_device(x, torch.device('meta'))")
    expect_unchanged(x, before, "x")


def test_to_device_matches_reference(sub, ref, gen, seed):
    x = inputs.tensor(gen, inputs.shape(gen, (1, 3)), torch.float32)
    actual, expected = inputs.call_both(sub.to_device, ref.to_device, x, "cpu", seed=seed)
    expect_tensor(actual, expected, name="to_device(x, 'cpu')")


# -- same_device_add -----------------------------------------------------------------------------------------------

def _operands(gen, dtype):
    """a of a random shape, b (not a scalar) that broadcasts against it."""
    shape = inputs.shape(gen, (1, 4), 1, 5)
    b_shape = shape[inputs.randint(gen, 0, len(shape)):]
    return inputs.tensor(gen, shape, dtype), inputs.tensor(gen, b_shape or shape, dtype)


@pytest.mark.parametrize("device", devices.params(meta=True))
def test_same_device_add_on_a_device(sub, gen, device):
    """a on `device`, b on the CPU: the sum lives on a's device (values checked where the device has data)."""
    a_cpu, b = _operands(gen, devices.float_dtype(device))
    a = a_cpu.to(device)
    a_before, b_before, expected = a.clone(), b.clone(), (a_cpu + b).to(device)
    expect_tensor(sub.same_device_add(a, b), expected, name="a + b")
    expect_unchanged(a, a_before, "a")
    expect_unchanged(b, b_before, "b")


@pytest.mark.parametrize("device", devices.params())
def test_same_device_add_b_elsewhere(sub, gen, device):
    """a on the CPU, b on `device`: the sum comes back on the CPU."""
    a, b_cpu = _operands(gen, devices.float_dtype(device))
    b = b_cpu.to(device)
    a_before, b_before, expected = a.clone(), b.clone(), a + b_cpu
    expect_tensor(sub.same_device_add(a, b), expected, name="a + b")
    expect_unchanged(a, a_before, "a")
    expect_unchanged(b, b_before, "b")


@pytest.mark.parametrize("device", devices.params(meta=True))
def test_same_device_add_mixed_dtypes(sub, gen, device):
    """Only the device is a's: the dtype follows PyTorch's type promotion (int64 + float32 -> float32, float32 +
    float64 -> float64), so b keeps its own dtype on the way to a's device."""
    pairs = [(torch.int64, torch.float32)] + ([] if device == "mps" else [(torch.float32, torch.float64)])
    for a_dtype, b_dtype in pairs:
        a_cpu, b = _operands(gen, a_dtype)
        b = b.to(b_dtype) + 0.25  # fractions, which an int64 result would lose
        a = a_cpu.to(device)
        a_before, b_before, expected = a.clone(), b.clone(), (a_cpu + b).to(device)
        expect_tensor(sub.same_device_add(a, b), expected, name=f"a ({a_dtype}) + b ({b_dtype})")
        expect_unchanged(a, a_before, "a")
        expect_unchanged(b, b_before, "b")


def test_same_device_add_matches_reference(sub, ref, gen, seed):
    a, b = _operands(gen, torch.float32)
    actual, expected = inputs.call_both(sub.same_device_add, ref.same_device_add, a, b, seed=seed)
    expect_tensor(actual, expected, name="a + b")


# -- seed_everything -----------------------------------------------------------------------------------------------

def _draws_after_seeding(sub, seed, which, draw):
    """Twice: every global generator set elsewhere (so that a function that seeds nothing is seen), then
    ``sub.seed_everything(seed)`` and ``draw(generator)`` from a private copy of the learner's generator ``which``
    as the call left it.  Returns both draws (``None`` where the learner's world reported no generator).  The
    learner's world is never applied to this process."""
    out = []
    for disturb in (1, 2):
        torch.manual_seed(seed + disturb)
        np.random.seed((seed + disturb) % 2**32)
        random.seed(seed + disturb)
        sub.seed_everything(seed)
        generator = learner_generator(sub, which)
        out.append(None if generator is None else draw(generator))
    return out


def _seed(gen):
    return inputs.randint(gen, 0, 2**31 - 1)


def test_seed_everything_returns_none(sub, gen):
    expect_type(sub.seed_everything(_seed(gen)), type(None), "seed_everything の戻り値")


def _cudnn_flags(sub) -> tuple[bool, bool]:
    """(deterministic, benchmark) as the learner's code left them."""
    _enabled, deterministic, benchmark, _allow_tf32 = learner_state(sub)["cudnn"]
    return bool(deterministic), bool(benchmark)


def test_seed_everything_cudnn_flags(sub, gen):
    """The flags are set when a GPU is there: the call runs on the simulated CUDA machine, so that the source text's
    form (the flags set inside ``if torch.cuda.is_available():``, since cuDNN runs only on a GPU) passes on a CPU
    machine too.  Flags left unset there are blamed on the guard when a plain call (no GPU) does set them."""
    seed = _seed(gen)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = False, True
    devices.call_simulated(sub.seed_everything, seed)
    flags = _cudnn_flags(sub)
    hint = CUDNN_FLAGS
    if flags != (True, False):
        sub.seed_everything(seed)  # without a GPU: are the flags set only when CUDA is missing?
        if _cudnn_flags(sub) == (True, False):
            hint = CUDNN_GUARD
    deterministic, benchmark = flags
    expect_equal(deterministic, True, name="CUDA が使えるときの torch.backends.cudnn.deterministic", attribute="flags",
                 hint=hint)
    expect_equal(benchmark, False, name="CUDA が使えるときの torch.backends.cudnn.benchmark", attribute="flags",
                 hint=hint)


def test_seed_everything_torch_reproducible(sub, ref, gen):
    seed = _seed(gen)
    first, second = _draws_after_seeding(sub, seed, "torch", lambda g: torch.rand(5, generator=g))
    expect(first is not None and second is not None and torch.equal(first, second), "reproducible", messages.NOT_REPRODUCIBLE,
           SEED_LIBRARY.format(library="torch", call="torch.manual_seed(seed)"), name="torch.rand")
    torch.manual_seed(seed)
    expect_tensor(first, torch.rand(5), name=f"シード {seed} のあとの torch.rand(5)")
    ref.seed_everything(seed)
    expect_tensor(first, torch.rand(5), name=f"シード {seed} のあとの torch.rand(5)")


def test_seed_everything_numpy_reproducible(sub, ref, gen):
    seed = _seed(gen)
    first, second = _draws_after_seeding(sub, seed, "numpy", lambda g: g.rand(5))
    expect(first is not None and second is not None and np.array_equal(first, second), "reproducible", messages.NOT_REPRODUCIBLE,
           SEED_LIBRARY.format(library="NumPy", call="np.random.seed(seed)"), name="np.random.rand")
    np.random.seed(seed)
    expect_array(first, np.random.rand(5), name=f"シード {seed} のあとの np.random.rand(5)")
    ref.seed_everything(seed)
    expect_array(first, np.random.rand(5), name=f"シード {seed} のあとの np.random.rand(5)")


def _five_random(r=random):
    return torch.tensor([r.random() for _ in range(5)], dtype=torch.float64)


def test_seed_everything_random_reproducible(sub, ref, gen):
    seed = _seed(gen)
    first, second = _draws_after_seeding(sub, seed, "random", _five_random)
    expect(first is not None and second is not None and torch.equal(first, second), "reproducible", messages.NOT_REPRODUCIBLE,
           SEED_LIBRARY.format(library="random", call="random.seed(seed)"), name="random.random")
    name = f"シード {seed} のあとの random.random() 5 回"
    random.seed(seed)
    expect_tensor(first, _five_random(), name=name)
    ref.seed_everything(seed)
    expect_tensor(first, _five_random(), name=name)


@pytest.mark.advisory
def test_seed_everything_seeds_all_cuda_devices(sub, gen):
    """torch.cuda.manual_seed_all receives the seed (torch.manual_seed calls it too); checked without a GPU."""
    seed = _seed(gen)
    with watch(sub, calls=("torch.cuda.manual_seed_all",)) as log:
        sub.seed_everything(seed)
    calls = [(e["args"] or [e["kwargs"].get("seed")])[0] for e in log.calls("torch.cuda.manual_seed_all")]
    expect(calls, "cuda_seed", messages.CALL_MISSING, CUDA_SEED, what="torch.cuda.manual_seed_all(seed)")
    expect(all(v == seed for v in calls), "cuda_seed", messages.CALL_ARGS, CUDA_SEED,
           what="torch.cuda.manual_seed_all", expected=seed, actual=", ".join(map(str, calls)))


# -- time_matmul ---------------------------------------------------------------------------------------------------

def _expect_seconds(t, n, device) -> None:
    name = f"time_matmul({n}, {device!r})"
    expect_type(t, float, name)
    expect(0 < t < MAX_SECONDS, "range", messages.OUT_OF_RANGE, TIME_RANGE, name=name, low=0,
           high=MAX_SECONDS, actual=t)


@pytest.mark.parametrize("device", devices.params())
def test_time_matmul_positive_float(sub, gen, device):
    n = inputs.randint(gen, 8, 33)
    _expect_seconds(sub.time_matmul(n, device), n, device)


def test_time_matmul_accepts_torch_device(sub, gen):
    n = inputs.randint(gen, 8, 33)
    _expect_seconds(sub.time_matmul(n, torch.device("cpu")), n, torch.device("cpu"))


@pytest.mark.advisory
def test_time_matmul_runs_a_matmul(sub, gen):
    n = inputs.randint(gen, 8, 33)
    with record_ops(sub) as called:
        sub.time_matmul(n, "cpu")
    expect(any(f in MATMULS for f in called), "matmul", messages.CALL_MISSING, NO_MATMUL,
           what="行列積 (a @ b)")


@pytest.mark.advisory
@pytest.mark.parametrize("device", ACCELERATORS)
def test_time_matmul_synchronizes_accelerator(sub, gen, device):
    """On a real GPU the clock is read only after synchronize() has waited for the product."""
    n = inputs.randint(gen, 8, 33)
    with watch(sub, ops=True, calls=(SYNCHRONIZE[device],)) as log:
        t = sub.time_matmul(n, device)
    called = ["synchronize" if name == SYNCHRONIZE[device] else name for name in log.names]
    _expect_seconds(t, n, device)
    last_matmul = max((i for i, f in enumerate(called) if f in MATMULS), default=None)
    expect(last_matmul is not None, "matmul", messages.CALL_MISSING, NO_MATMUL, what="行列積 (a @ b)")
    expect("synchronize" in called[last_matmul:], "synchronize", messages.CALL_MISSING, NOT_SYNCHRONIZED,
           what=f"行列積のあとの torch.{device}.synchronize()")


@pytest.mark.parametrize("device", ["cuda", torch.device("cuda")], ids=["str", "torch_device"])
def test_time_matmul_synchronizes_simulated_gpu(sub, gen, device):
    """On every machine: a simulated asynchronous GPU (kata.api.portable.SimulatedCudaTiming) on which creating a matrix
    takes 0.05 s and the product 0.03 s of GPU time while each call returns at once.  Synchronising before starting
    the clock and before reading it measures the product alone: about 0.03 s.  Without the second synchronize the
    clock reads about 0; without the first it also counts the matrices' creation (0.13 s or more)."""
    n = inputs.randint(gen, 8, 33)
    t = devices.call_simulated(sub.time_matmul, n, device, timing=True)
    name = f"模擬 GPU での time_matmul({n}, {device!r})"
    expect_type(t, float, name)
    product, creation = SIMULATED["matmul"], SIMULATED["factory"]
    low, high = product / 2, product + creation
    expect(t > low, "synchronize", messages.OUT_OF_RANGE, NOT_SYNCHRONIZED, name=name, low=low, high=high,
           actual=t)
    expect(t < high, "synchronize", messages.OUT_OF_RANGE, SYNC_BEFORE_START, name=name, low=low, high=high,
           actual=t)


# -- random_leaf_on_device ---------------------------------------------------------------------------------------

def _leaf_case(gen):
    seed, shape = inputs.randint(gen, 0, 2**31 - 1), inputs.shape(gen, (1, 3), 1, 5)
    return seed, shape, torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _expect_leaf_on(out, expected, device, name):
    expect_tensor(out, expected, name=name, values=False)
    expect(out.requires_grad, "requires_grad", messages.REQUIRES_GRAD, None, name=name, expected=True,
           actual=False)
    expect(out.is_leaf, "is_leaf", messages.IS_LEAF, LEAF_AFTER_MOVE, name=name, expected=True, actual=False)
    expect_tensor(out, expected, name=name, values=device != "meta", grad=None)


def test_random_leaf_on_device_source_without_global_seeding(sub):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "random_leaf_on_device", GLOBAL_SEED_RULE, *GLOBAL_SEEDING)
    sub.random_leaf_on_device((2,), "cpu", torch.Generator().manual_seed(1))  # an untouched stub reads 未着手


@pytest.mark.parametrize("device", devices.params(meta=True))
def test_random_leaf_on_device_is_a_leaf_on_device(sub, gen, device):
    """On every device: float32, on the device, a leaf that requires grad, with the CPU draw's values; the given
    generator moved on as the CPU draw moves it (a draw made on meta draws nothing)."""
    seed, shape, values = _leaf_case(gen)
    g, g_ref = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    out = sub.random_leaf_on_device(shape, device, g)
    torch.randn(shape, generator=g_ref)
    try:
        expect_generator_moved_as(g, g_ref, name=f"random_leaf_on_device({shape}, {device!r}, generator) に渡した generator")
    except Mismatch as m:
        raise Mismatch(m.attribute, m.message, DRAW_ON_CPU if device != "cpu" else m.hint) from None
    _expect_leaf_on(out, values.to(device), device, f"random_leaf_on_device({shape}, {device!r}, generator)")


def test_random_leaf_on_device_meta_even_for_size1(sub, gen):
    """The telling case: on the meta device (every machine has it), moving a tensor that already requires grad gives
    a non-leaf; shapes () and (1,) too."""
    for shape in ((), (1,), (inputs.randint(gen, 2, 5), 1)):
        g = torch.Generator().manual_seed(inputs.randint(gen, 0, 2**31 - 1))
        out = sub.random_leaf_on_device(shape, torch.device("meta"), g)
        _expect_leaf_on(out, torch.empty(shape, device="meta"), "meta",
                        f"random_leaf_on_device({shape}, torch.device('meta'), generator)")


def test_random_leaf_on_device_simulated_gpu(sub, gen):
    """On the simulated GPU: on cuda:0, a leaf, with the CPU draw's values."""
    seed, shape, values = _leaf_case(gen)
    out = devices.call_simulated(sub.random_leaf_on_device, shape, "cuda", torch.Generator().manual_seed(seed))
    name = f"random_leaf_on_device({shape}, 'cuda', generator) (模擬 GPU)"
    expect_equal(str(getattr(out, "device", None)), "cuda:0", name=f"{name} のデバイス", attribute="device")
    expect(out.is_leaf, "is_leaf", messages.IS_LEAF, LEAF_AFTER_MOVE, name=name, expected=True, actual=False)
    expect_tensor(portable.plain(out).detach(), values, name=name)


def test_random_leaf_on_device_leaves_global_rng(sub, gen):
    torch.manual_seed(inputs.randint(gen, 0, 10_000))
    before = RngSnapshot(sub)
    sub.random_leaf_on_device((3, 2), "meta", torch.Generator().manual_seed(inputs.randint(gen, 0, 10_000)))
    sub.random_leaf_on_device((3, 2), "cpu", torch.Generator().manual_seed(inputs.randint(gen, 0, 10_000)))
    expect_rng_unchanged(before)


def test_random_leaf_on_device_matches_reference(sub, ref, gen, seed):
    seed_g, shape, _ = _leaf_case(gen)
    # Each side gets its own generator seeded the same (call_both would hand both the same generator object).
    inputs.seed_all(seed)
    expected = ref.random_leaf_on_device(shape, "cpu", torch.Generator().manual_seed(seed_g))
    inputs.seed_all(seed)
    actual = sub.random_leaf_on_device(shape, "cpu", torch.Generator().manual_seed(seed_g))
    expect_tensor(actual, expected, name=f"random_leaf_on_device({shape}, 'cpu', generator)", requires_grad=True,
                  is_leaf=True)
