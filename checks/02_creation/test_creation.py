"""Checks for chapter 02 (creating tensors and their dtypes)."""
import math

import numpy as np
import torch

from kata.api import inputs
from kata.api.compare import (
    RngSnapshot,
    expect_equal,
    expect_generator_moved_as,
    expect_rng_unchanged,
    expect_scalar,
    expect_tensor,
    expect_unchanged,
)
from kata.api.staticrules import forbid_in_source

#: What the prompts forbid, as far as the source text shows it (read, never run: counts in kata grade).
GLOBAL_SEED_RULE = "torch.manual_seed などグローバルな乱数状態を変える関数"
GLOBAL_SEEDING = (torch.manual_seed, torch.seed, torch.set_rng_state)

# torch.rand(2, 2) right after torch.manual_seed(0), as printed in the source text; a generator seeded with 0 agrees.
SOURCE_RAND = torch.tensor([[0.4963, 0.7682], [0.0885, 0.1320]])
TRUNCATES = ("float を整数の dtype に変換すると、小数部分は 0 の方へ切り捨てられます (Python の int() と同じで、"
             "2.75 → 2、-2.75 → -2)。戻り値は『{how}』と同じ値です。丸めの関数は使わずに、dtype の変換だけにしましょう。")
ROUNDINGS = (("floor (小さい方へ切り捨て)", torch.floor), ("round (いちばん近い整数へ丸め)", torch.round),
             ("ceil (大きい方へ切り上げ)", torch.ceil))
CAST_DTYPES = (torch.float32, torch.float64, torch.float16, torch.int64, torch.int32, torch.int16)


def _shape(gen):
    """1 to 4 dims with sizes 0..4: zero-size dims included (torch.Tensor(*shape) needs at least one dim)."""
    return inputs.shape(gen, (1, 5), low=0, high=5)


def _python_list(gen, kind: str):
    """A random nested Python list of ``kind`` ("int", "float" or "bool") and the float64/int64/bool tensor of it.

    Sizes 3..5, so that the shape always differs from the source text's 2 x 2 list."""
    shape = inputs.shape(gen, (1, 3), low=3, high=6)
    if kind == "int":
        values = torch.randint(-50, 50, shape, generator=gen)
    elif kind == "bool":
        values = torch.randint(0, 2, shape, generator=gen).bool()
    else:
        values = torch.randn(shape, generator=gen, dtype=torch.float64)
    return values.tolist(), values


# -- make_empty ----------------------------------------------------------------------------------------------------

def test_make_empty_source_shape(sub):
    """The source text's torch.Tensor(2, 3, 4): only the shape and dtype are defined, not the values."""
    expect_tensor(sub.make_empty((2, 3, 4)), torch.empty(2, 3, 4), values=False)


def test_make_empty_random_shapes(sub, gen):
    for _ in range(3):
        shape = _shape(gen)
        expect_tensor(sub.make_empty(shape), torch.empty(shape), name=f"make_empty({shape})", values=False)


# -- make_zeros / make_ones ----------------------------------------------------------------------------------------

def test_make_zeros_source_values(sub):
    expect_tensor(sub.make_zeros((2, 2)), torch.tensor([[0.0, 0.0], [0.0, 0.0]]))


def test_make_zeros_random_shapes(sub, gen):
    for _ in range(3):
        shape = _shape(gen)
        expect_tensor(sub.make_zeros(shape), torch.full(shape, 0.0), name=f"make_zeros({shape})")


def test_make_ones_source_values(sub):
    expect_tensor(sub.make_ones((2, 2)), torch.tensor([[1.0, 1.0], [1.0, 1.0]]))


def test_make_ones_random_shapes(sub, gen):
    for _ in range(3):
        shape = _shape(gen)
        expect_tensor(sub.make_ones(shape), torch.full(shape, 1.0), name=f"make_ones({shape})")


# -- make_rand / make_randn ----------------------------------------------------------------------------------------

def test_make_rand_source_values(sub):
    expect_tensor(sub.make_rand((2, 2), torch.Generator().manual_seed(0)), SOURCE_RAND, atol=5e-5, rtol=0)


def test_make_rand_matches_reference(sub, ref, gen):
    seed, shape = inputs.randint(gen, 0, 2**31 - 1), inputs.shape(gen, (1, 4), low=1, high=6)
    actual = sub.make_rand(shape, torch.Generator().manual_seed(seed))
    expect_tensor(actual, ref.make_rand(shape, torch.Generator().manual_seed(seed)), name=f"make_rand({shape})")


def test_make_rand_source_without_global_seeding(sub):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "make_rand", GLOBAL_SEED_RULE, *GLOBAL_SEEDING)
    sub.make_rand((2,), torch.Generator().manual_seed(1))  # an untouched stub reads 未着手


def test_make_rand_leaves_global_rng(sub, gen):
    torch.manual_seed(inputs.randint(gen, 0, 10_000))
    before = RngSnapshot(sub)
    sub.make_rand((3, 4), torch.Generator().manual_seed(inputs.randint(gen, 0, 10_000)))
    expect_rng_unchanged(before)


def test_make_rand_is_uniform(sub, gen):
    """4096 draws: mean 1/2 and std 1/sqrt(12) within about 10 standard errors, all in [0, 1)."""
    x = sub.make_rand((64, 64), torch.Generator().manual_seed(inputs.randint(gen, 0, 2**31 - 1)))
    expect_tensor(x, torch.empty(64, 64), values=False)
    expect_equal(bool(((x >= 0) & (x < 1)).all()), True, name="「すべての値が [0, 1) に入っている」")
    expect_scalar(float(x.mean()), 0.5, name="4096 個の平均", rtol=0, atol=0.05)
    expect_scalar(float(x.std()), 1 / math.sqrt(12), name="4096 個の標準偏差", rtol=0, atol=0.05)


def test_make_randn_matches_reference(sub, ref, gen):
    seed, shape = inputs.randint(gen, 0, 2**31 - 1), inputs.shape(gen, (1, 4), low=1, high=6)
    actual = sub.make_randn(shape, torch.Generator().manual_seed(seed))
    expect_tensor(actual, ref.make_randn(shape, torch.Generator().manual_seed(seed)), name=f"make_randn({shape})")


def test_make_randn_source_without_global_seeding(sub):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "make_randn", GLOBAL_SEED_RULE, *GLOBAL_SEEDING)
    sub.make_randn((2,), torch.Generator().manual_seed(1))  # an untouched stub reads 未着手


def test_make_randn_leaves_global_rng(sub, gen):
    torch.manual_seed(inputs.randint(gen, 0, 10_000))
    before = RngSnapshot(sub)
    sub.make_randn((3, 4), torch.Generator().manual_seed(inputs.randint(gen, 0, 10_000)))
    expect_rng_unchanged(before)


def test_make_randn_is_standard_normal(sub, gen):
    """4096 draws: mean 0 and std 1 within about 6 standard errors."""
    x = sub.make_randn((64, 64), torch.Generator().manual_seed(inputs.randint(gen, 0, 2**31 - 1)))
    expect_tensor(x, torch.empty(64, 64), values=False)
    expect_scalar(float(x.mean()), 0.0, name="4096 個の平均", rtol=0, atol=0.1)
    expect_scalar(float(x.std()), 1.0, name="4096 個の標準偏差", rtol=0, atol=0.1)


def _expect_draws_from_the_given_generator(sub_fn, ref_fn, gen, name: str) -> None:
    """The passed generator moves on exactly as the reference's draw moves one seeded the same (used, once, and no
    other generator in its place); two generators with the same seed give the same draws."""
    seed, shape = inputs.randint(gen, 0, 2**31 - 1), inputs.shape(gen, (1, 3), low=1, high=5)
    g, g_ref = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    first = sub_fn(shape, g)
    ref_fn(shape, g_ref)
    expect_generator_moved_as(g, g_ref, name=f"{name}({shape}, generator) に渡した generator")
    expect_tensor(sub_fn(shape, torch.Generator().manual_seed(seed)), first, name="同じシードでの 2 回目")


def test_make_rand_uses_the_generator(sub, ref, gen):
    _expect_draws_from_the_given_generator(sub.make_rand, ref.make_rand, gen, "make_rand")


def test_make_randn_uses_the_generator(sub, ref, gen):
    _expect_draws_from_the_given_generator(sub.make_randn, ref.make_randn, gen, "make_randn")


# -- make_arange ---------------------------------------------------------------------------------------------------

def test_make_arange_source_values(sub):
    expect_tensor(sub.make_arange(1, 4, 1), torch.tensor([1, 2, 3], dtype=torch.int64))


def test_make_arange_int_arguments(sub, gen):
    """All-int arguments (negative steps too) give int64, the same numbers as Python's range."""
    for _ in range(3):
        step = inputs.choice(gen, (1, 2, 3, -1, -2))
        start, n, extra = inputs.randint(gen, -10, 10), inputs.randint(gen, 0, 8), inputs.randint(gen, 0, abs(step))
        end = start + step * n + (extra if step > 0 else -extra)
        expected = torch.tensor(list(range(start, end, step)), dtype=torch.int64)
        expect_tensor(sub.make_arange(start, end, step), expected, name=f"make_arange({start}, {end}, {step})")


def test_make_arange_float_step(sub, gen):
    """A float step gives float32; steps are binary fractions so that the count and values are exact."""
    for _ in range(2):
        step = inputs.choice(gen, (0.5, 0.25, 0.125, -0.5, -0.25))
        start, n = inputs.randint(gen, -5, 5), inputs.randint(gen, 1, 10)
        end = start + step * n
        expected = torch.tensor([start + step * i for i in range(n)], dtype=torch.float32)
        expect_tensor(sub.make_arange(start, end, step), expected, name=f"make_arange({start}, {end}, {step})")


def test_make_arange_float_start_or_end(sub, gen):
    """One float argument is enough for float32, even a whole number such as 5.0."""
    whole = inputs.randint(gen, 1, 8)
    expect_tensor(sub.make_arange(0, float(whole), 1), torch.tensor([float(i) for i in range(whole)]),
                  name=f"make_arange(0, {float(whole)}, 1)")
    start = inputs.randint(gen, -5, 5) + 0.5
    end = start + inputs.randint(gen, 1, 8) - 0.5
    expected = torch.tensor([start + i for i in range(math.ceil(end - start))], dtype=torch.float32)
    expect_tensor(sub.make_arange(start, end, 1), expected, name=f"make_arange({start}, {end}, 1)")


# -- float_tensor_from_list / exact_tensor_from_list ---------------------------------------------------------------

def test_float_tensor_from_list_source_values(sub):
    expect_tensor(sub.float_tensor_from_list([[1, 2], [3, 4]]), torch.tensor([[1.0, 2.0], [3.0, 4.0]]))


def test_float_tensor_from_list_any_python_type(sub, gen):
    for kind in ("int", "float", "bool"):
        data, values = _python_list(gen, kind)
        expect_tensor(sub.float_tensor_from_list(data), values.to(torch.float32), name=f"{kind} のリストからの戻り値")


def test_exact_tensor_from_list_source_values(sub):
    """The source text's list, but with the dtype inferred: integers stay int64."""
    expect_tensor(sub.exact_tensor_from_list([[1, 2], [3, 4]]), torch.tensor([[1, 2], [3, 4]], dtype=torch.int64))


def test_exact_tensor_from_list_ints(sub, gen):
    data, values = _python_list(gen, "int")
    expect_tensor(sub.exact_tensor_from_list(data), values.to(torch.int64), name="int のリストからの戻り値")


def test_exact_tensor_from_list_bools(sub, gen):
    data, values = _python_list(gen, "bool")
    expect_tensor(sub.exact_tensor_from_list(data), values.to(torch.bool), name="bool のリストからの戻り値")


def test_exact_tensor_from_list_floats(sub, gen):
    """Quarters, written as int where they are whole: one float among ints is enough for float32."""
    quarters = torch.randint(-20, 20, (inputs.randint(gen, 2, 8),), generator=gen).double() / 4
    quarters[0] = 0.25
    data = [int(v) if v.is_integer() else v for v in quarters.tolist()]
    expect_tensor(sub.exact_tensor_from_list(data), quarters.to(torch.float32), name=f"{data} からの戻り値")


def _large_ints(gen, n: int) -> list[int]:
    """``n`` Python ints of both signs beyond float64's 53-bit precision (so a detour through a float shows)."""
    big = torch.randint(2**53 + 1, 2**62, (n,), generator=gen) | 1  # odd: not a float64
    sign = torch.randint(0, 2, (n,), generator=gen) * 2 - 1
    return (big * sign).tolist()


def test_exact_tensor_from_list_large_ints(sub, gen):
    """int64 holds integers up to 2**63 - 1 exactly; float32 and float64 cannot."""
    data = _large_ints(gen, inputs.randint(gen, 2, 6)) + [inputs.randint(gen, -50, 50)]
    expect_tensor(sub.exact_tensor_from_list(data), torch.tensor(data, dtype=torch.int64),
                  name="2**53 を超える int のリストからの戻り値")


# -- cast_dtype ----------------------------------------------------------------------------------------------------

def test_cast_dtype_random_dtypes(sub, gen):
    """Small integers convert exactly between these dtypes, so the expected values are known."""
    for _ in range(3):
        source, target = inputs.choice(gen, CAST_DTYPES), inputs.choice(gen, CAST_DTYPES)
        t = inputs.tensor(gen, _shape(gen), torch.int64, noncontiguous=bool(inputs.randint(gen, 0, 2))).to(source)
        snapshot = t.clone()
        expected = t.to(torch.int64).to(target)
        expect_tensor(sub.cast_dtype(t, target), expected, name=f"{source} → {target} の戻り値")
        expect_unchanged(t, snapshot, name="t")


def test_cast_dtype_float_to_int_truncates(sub, gen):
    """float → int drops the fraction toward zero, like Python's int()."""
    whole = torch.randint(-9, 10, (inputs.randint(gen, 2, 6),), generator=gen)
    frac = torch.tensor([0.25, 0.5, 0.75])[torch.randint(0, 3, whole.shape, generator=gen)]
    values = torch.cat([whole + frac, torch.tensor([2.75, -2.75, 0.5, -0.5])]).to(torch.float32)
    for target in (torch.int32, torch.int64):
        t = values.clone()
        expected = torch.tensor([int(v) for v in values.tolist()], dtype=target)
        out = sub.cast_dtype(t, target)
        name = f"{torch.float32} → {target} の戻り値"
        expect_tensor(out, expected, name=name, values=False)
        # The premise of the hint: the values are those of one rounding function (the inputs include -2.75 and 0.5,
        # on which truncation differs from each of them).
        how = next((how for how, rounding in ROUNDINGS if torch.equal(out, rounding(values).to(target))), None)
        if how is not None and not torch.equal(out, expected):
            expect_equal(out.tolist(), expected.tolist(), name=name, hint=TRUNCATES.format(how=how))
        expect_tensor(out, expected, name=name)
        expect_unchanged(t, values, name="t")


def test_cast_dtype_int_to_float(sub, gen):
    t = inputs.tensor(gen, inputs.shape(gen, 2, low=1, high=5), torch.int64, low=-100, high=100)
    snapshot = t.clone()
    expected = torch.tensor(t.tolist(), dtype=torch.float32)
    expect_tensor(sub.cast_dtype(t, torch.float32), expected, name=f"{torch.int64} → {torch.float32} の戻り値")
    expect_unchanged(t, snapshot, name="t")


def test_cast_dtype_large_int64(sub, gen):
    """int64 beyond 2**53: to int64 it stays exact; to float64 it is rounded once (as Python's float() does)."""
    values = _large_ints(gen, inputs.randint(gen, 2, 6))
    for target, expected in ((torch.int64, torch.tensor(values, dtype=torch.int64)),
                             (torch.float64, torch.tensor([float(v) for v in values], dtype=torch.float64))):
        t = torch.tensor(values, dtype=torch.int64)
        expect_tensor(sub.cast_dtype(t, target), expected, name=f"2**53 を超える int64 → {target} の戻り値",
                      rtol=0, atol=0)
        expect_unchanged(t, torch.tensor(values, dtype=torch.int64), name="t")


# -- evenly_spaced (challenge) ---------------------------------------------------------------------------------------

LINSPACE_RULE = "torch.linspace など等間隔の値を作る関数"


def _evenly_spaced(start, end, steps: int) -> torch.Tensor:
    """The prompt's values, computed in float64 from the closed form (no reference, no arange)."""
    i = torch.tensor([float(k) for k in range(steps)], dtype=torch.float64)
    return (start + i * ((end - start) / max(steps - 1, 1))).to(torch.float32)


def _expect_evenly_spaced(sub, start, end, steps: int) -> None:
    scale = 1.0 + max(abs(start), abs(end))
    expect_tensor(sub.evenly_spaced(start, end, steps), _evenly_spaced(start, end, steps),
                  name=f"evenly_spaced({start!r}, {end!r}, {steps})", atol=1e-5 * scale, rtol=0)


def test_evenly_spaced_source_without_linspace(sub):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "evenly_spaced", LINSPACE_RULE, torch.linspace, torch.logspace, np.linspace,
                     np.logspace, np.geomspace, loops=True)
    sub.evenly_spaced(0, 1, 3)  # an untouched stub reads 未着手


def test_evenly_spaced_prompt_example(sub):
    _expect_evenly_spaced(sub, 0, 1, 5)


def test_evenly_spaced_hits_both_ends(sub):
    """Pinned: a float step given to torch.arange runs past the end here (one value too many), and ints must still
    give float32."""
    for start, end, steps in ((-2.0, -1.9, 4), (0.3, -0.8, 12), (3, 7, 5), (10, -10, 3)):
        _expect_evenly_spaced(sub, start, end, steps)


def test_evenly_spaced_one_step(sub, gen):
    """steps = 1: the start alone (there is no gap to divide by zero)."""
    for start in (inputs.randint(gen, -9, 10), inputs.randint(gen, -90, 90) / 8):
        _expect_evenly_spaced(sub, start, start + inputs.randint(gen, 1, 5), 1)


def test_evenly_spaced_matches_reference(sub, ref, gen):
    for kind in ("int", "float"):
        for _ in range(3):
            start, end = inputs.randint(gen, -50, 50), inputs.randint(gen, -50, 50)
            if kind == "float":
                start, end = start / 7, end / 3
            steps = inputs.randint(gen, 2, 25)
            _expect_evenly_spaced(sub, start, end, steps)
            scale = 1.0 + max(abs(start), abs(end))
            expect_tensor(sub.evenly_spaced(start, end, steps), ref.evenly_spaced(start, end, steps),
                          name=f"evenly_spaced({start!r}, {end!r}, {steps})", atol=1e-5 * scale, rtol=0)


# -- smallest_int_tensor (challenge) ---------------------------------------------------------------------------------

INT_TYPES = (torch.int8, torch.int16, torch.int32, torch.int64)
#: The edges of every type's range, and one step past them: where an off-by-one, a symmetric range (abs(v) <= max)
#: or an unsigned type first shows.  2**53 + 1 and 2**63 - 1 are where a detour through float64 loses the last digit.
EDGE_CASES = ([], [0], [127], [-128], [128], [-129], [200], [32767], [-32768], [32768], [-32769],
              [2**31 - 1], [-2**31], [2**31], [-2**31 - 1], [2**53 + 1], [2**63 - 1], [-2**63], [1, -2**63])


def _smallest(values):
    """The expected type, from the ranges written out (not torch.iinfo, which the reference uses)."""
    bits = next(b for b in (8, 16, 32, 64) if all(-2**(b - 1) <= v < 2**(b - 1) for v in values))
    return INT_TYPES[(8, 16, 32, 64).index(bits)]


def _expect_smallest(sub, values):
    expected = torch.tensor(values, dtype=_smallest(values))
    shown = values if len(values) <= 4 else f"{values[:3]}… ({len(values)} 個)"
    expect_tensor(sub.smallest_int_tensor(list(values)), expected, name=f"smallest_int_tensor({shown})")


def test_smallest_int_tensor_range_edges(sub):
    """Each type's smallest and largest value, one past them, an empty list and int64's own ends."""
    for values in EDGE_CASES:
        _expect_smallest(sub, values)


def test_smallest_int_tensor_random_lists(sub, gen):
    """Lists of 1-8 values of both signs, each drawn for a random target type: most values well inside, one at the
    edge of the next smaller type's range (so the target is the smallest type that fits)."""
    for _ in range(12):
        target = inputs.randint(gen, 0, 4)
        bits = (8, 16, 32, 64)[target]
        low, high = -2**(bits - 1), 2**(bits - 1) - 1
        n = inputs.randint(gen, 1, 9)
        values = [int(torch.randint(max(low, -1000), min(high, 1000) + 1, (), generator=gen)) for _ in range(n)]
        if target:
            small = 2**((8, 16, 32, 64)[target - 1] - 1)  # the first value the smaller type cannot hold
            edge = inputs.choice(gen, (small, -small - 1, high, low))
            values[inputs.randint(gen, 0, n)] = edge
        _expect_smallest(sub, values)

