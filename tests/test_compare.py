"""The comparison engine: fixed order, one Japanese template per attribute, targeted hints."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from kata import messages
from kata.api import hints
from kata.api.compare import (
    Mismatch,
    RngSnapshot,
    expect_array,
    expect_equal,
    expect_grad,
    expect_no_shared_memory,
    expect_rng_unchanged,
    expect_same_object,
    expect_scalar,
    expect_sequence,
    expect_shares_memory,
    expect_tensor,
    expect_type,
    expect_unchanged,
)


def mismatch(fn, *args, **kwargs) -> Mismatch:
    with pytest.raises(Mismatch) as info:
        fn(*args, **kwargs)
    return info.value


def head(template: str) -> str:
    """The fixed text of a template before its first field."""
    return template.split("{", 2)[1].split("}", 1)[1].split("{")[0] if template.startswith("{") else template.split("{")[0]


# -- the order of attributes -----------------------------------------------------------------------------------

def test_matching_tensors_pass():
    x = torch.randn(3, 4)
    expect_tensor(x.clone(), x)


def test_type_is_compared_first():
    err = mismatch(expect_tensor, np.zeros((2, 3)), torch.zeros(3, 2, dtype=torch.int64))
    assert err.attribute == "type"
    assert head(messages.TYPE) in err.message and "numpy.ndarray" in err.message and "torch.Tensor" in err.message


def test_shape_before_dtype():
    err = mismatch(expect_tensor, torch.zeros(2, 3), torch.zeros(3, 2, dtype=torch.int64))
    assert err.attribute == "shape"
    assert err.message == messages.SHAPE.format(name="戻り値", expected=(3, 2), actual=(2, 3))


def test_dtype_before_device_and_values():
    err = mismatch(expect_tensor, torch.ones(2, device="meta"), torch.zeros(2, dtype=torch.float64))
    assert err.attribute == "dtype"
    assert err.message == messages.DTYPE.format(name="戻り値", expected=torch.float64, actual=torch.float32)


def test_device_before_values():
    err = mismatch(expect_tensor, torch.ones(2, device="meta"), torch.zeros(2))
    assert err.attribute == "device"
    assert err.message == messages.DEVICE.format(name="戻り値", expected="cpu", actual="meta")
    assert err.hint == hints.DEVICE_MOVE


def test_contiguity_when_asked():
    x = torch.arange(6).view(2, 3)
    err = mismatch(expect_tensor, x.t().contiguous(), x.t(), contiguous=False)
    assert err.attribute == "contiguous"
    assert err.message == messages.CONTIGUOUS.format(name="戻り値", expected=False, actual=True)
    assert err.hint == hints.NOT_CONTIGUOUS_EXPECTED
    err = mismatch(expect_tensor, x.t(), x.t(), contiguous=True)
    assert err.hint == hints.NEEDS_CONTIGUOUS


def test_memory_sharing_when_asked():
    x = torch.arange(6)
    err = mismatch(expect_tensor, x.clone(), x, shares_memory_with=x)
    assert err.attribute == "shares_memory"
    assert err.message == messages.SHARES_MEMORY.format(name="戻り値", other="入力")
    assert err.hint == hints.NEEDS_VIEW
    err = mismatch(expect_tensor, x.view(2, 3), x.view(2, 3), no_shared_memory_with=x)
    assert err.attribute == "copies_memory"
    assert err.message == messages.COPIES_MEMORY.format(name="戻り値", other="入力")
    assert err.hint == hints.NEEDS_COPY


def test_memory_sharing_with_numpy():
    a = np.arange(3.0)
    expect_shares_memory(torch.from_numpy(a), a)
    expect_no_shared_memory(torch.tensor(a), a)
    assert mismatch(expect_shares_memory, torch.tensor(a), a).attribute == "shares_memory"


def test_requires_grad_then_is_leaf_then_grad():
    leaf = torch.ones(3, requires_grad=True)
    err = mismatch(expect_tensor, torch.ones(3), leaf, requires_grad=True)
    assert err.attribute == "requires_grad" and err.hint == hints.REQUIRES_GRAD_OFF
    assert err.message == messages.REQUIRES_GRAD.format(name="戻り値", expected=True, actual=False)
    not_leaf = torch.ones(3, requires_grad=True) * 1
    err = mismatch(expect_tensor, not_leaf, leaf, is_leaf=True)
    assert err.attribute == "is_leaf" and err.hint == hints.NOT_LEAF
    err = mismatch(expect_tensor, leaf, leaf, grad=torch.ones(3))
    assert err.attribute == "grad"
    assert err.message == messages.GRAD_MISSING.format(name="戻り値.grad", expected=(3,))
    assert err.hint == hints.GRAD_NONE


def test_values_last_with_count_share_index_and_tolerance():
    expected = torch.zeros(2, 5)
    actual = expected.clone()
    actual[1, 3] = 2.0
    actual[0, 0] = 0.5
    err = mismatch(expect_tensor, actual, expected)
    assert err.attribute == "values"
    assert err.message == messages.VALUES.format(name="戻り値", count=2, total=10, share=0.2, diff="2",
                                                  index=(1, 3), expected="0", actual="2", rtol=1.3e-06, atol=1e-05)


def test_values_integer_exact():
    err = mismatch(expect_tensor, torch.tensor([1, 2, 4]), torch.tensor([1, 2, 3]))
    # integers and labels are right or wrong: 「一致しない要素」, no tolerance wording
    assert err.message == messages.VALUES_EXACT.format(name="戻り値", count=1, total=3, share=1 / 3, index=(2,),
                                                       expected=3, actual=4)
    assert "許容誤差" not in err.message and "rtol" not in err.message


def test_values_nan_counts_as_mismatch():
    err = mismatch(expect_tensor, torch.tensor([float("nan"), 1.0]), torch.tensor([0.0, 1.0]))
    assert "1 / 2 要素" in err.message and "(0,)" in err.message


def test_custom_tolerance_is_reported():
    err = mismatch(expect_tensor, torch.tensor([1.0]), torch.tensor([1.1]), rtol=0, atol=1e-3)
    assert "rtol=0, atol=0.001" in err.message


def test_meta_tensors_compare_attributes_only():
    expect_tensor(torch.empty(2, 3, device="meta"), torch.empty(2, 3, device="meta"))


def test_values_can_be_skipped_for_uninitialised_tensors():
    expect_tensor(torch.empty(4), torch.zeros(4), values=False)


# -- other comparisons ---------------------------------------------------------------------------------------------

def test_expect_type_hints():
    assert mismatch(expect_type, np.zeros(2), torch.Tensor).hint.startswith("NumPy 配列")
    assert mismatch(expect_type, torch.zeros(2), np.ndarray).hint.startswith("テンソルが返されています")
    assert mismatch(expect_type, torch.tensor(1.0), float).hint.startswith("0 次元テンソル")
    assert mismatch(expect_type, None, str).hint == "return 文を忘れていませんか？"
    assert mismatch(expect_type, True, int).attribute == "type"


def test_expect_grad_accumulated_and_partial():
    expected = torch.tensor([1.0, 2.0, 3.0])
    err = mismatch(expect_grad, expected * 2, expected)
    assert err.attribute == "grad" and err.hint == hints.GRAD_MULTIPLE.format(factor=2)
    err = mismatch(expect_grad, expected / 2, expected)
    assert err.hint == hints.GRAD_FRACTION.format(factor=2)
    err = mismatch(expect_grad, expected * 3, expected)
    assert err.hint == hints.GRAD_SUM_NOT_MEAN.format(factor=3)
    err = mismatch(expect_grad, expected / 4, expected, backward_calls=4)
    assert err.hint == hints.GRAD_BACKWARD_COUNT.format(ratio="0.25", count=1, expected=4)
    err = mismatch(expect_grad, torch.ones(3), None)
    assert err.message == messages.GRAD_UNEXPECTED.format(name="勾配")
    expect_grad(None, None)


def test_expect_array():
    a = np.arange(4, dtype=np.int64)
    expect_array(a.copy(), a)
    err = mismatch(expect_array, a.astype(np.float64), a)
    assert err.attribute == "dtype"
    err = mismatch(expect_array, a.reshape(2, 2), a)
    assert err.attribute == "shape"
    err = mismatch(expect_array, a.copy(), a, shares_memory_with=a)
    assert err.attribute == "shares_memory"


def test_expect_scalar():
    expect_scalar(0.7111, 0.71110001)
    err = mismatch(expect_scalar, 0.5, 0.7111)
    assert err.message == messages.SCALAR_VALUE.format(name="戻り値", expected="0.7111", actual="0.5",
                                                        rtol=1e-5, atol=1e-6)
    assert mismatch(expect_scalar, torch.tensor(0.5), 0.5).attribute == "type"


def test_expect_equal_sequence_same_object():
    expect_equal("a", "a")
    assert mismatch(expect_equal, "a", "b").message == messages.EQUAL.format(name="戻り値", expected="b", actual="a")
    assert mismatch(expect_sequence, [1, 2], 2).attribute == "type"
    err = mismatch(expect_sequence, (1, 2, 3), 2)
    assert err.message == messages.LENGTH.format(name="戻り値", expected=2, actual=3)
    x = torch.zeros(1)
    expect_same_object(x, x)
    assert mismatch(expect_same_object, x.clone(), x).message == messages.SAME_OBJECT.format(name="戻り値",
                                                                                              other="入力")


def test_expect_unchanged():
    x = torch.arange(3.0)
    snap = x.clone()
    expect_unchanged(x, snap)
    x.add_(1)
    assert mismatch(expect_unchanged, x, snap).message == messages.INPUT_MUTATED.format(name="入力")
    a = np.arange(3)
    snap_a = a.copy()
    a[0] = 5
    assert mismatch(expect_unchanged, a, snap_a).attribute == "mutated"


def test_rng_snapshot():
    snap = RngSnapshot()
    expect_rng_unchanged(snap)
    torch.rand(1)
    err = mismatch(expect_rng_unchanged, snap)
    assert err.message == messages.RNG_CHANGED.format(which="torch")
    snap = RngSnapshot()
    np.random.rand()
    assert "numpy" in mismatch(expect_rng_unchanged, snap).message


def test_verdict_joins_message_and_hint():
    err = mismatch(expect_tensor, torch.zeros(2, dtype=torch.float64), torch.zeros(2))
    assert err.verdict == f"{err.message}\n{messages.HINT_PREFIX}{hints.FLOAT64_NOT_FLOAT32}"
    assert str(err) == err.verdict


# -- targeted hints, one test each ---------------------------------------------------------------------------------

@pytest.mark.parametrize("actual, expected, hint", [
    ((3, 2), (2, 3), hints.TRANSPOSED),
    ((2, 3, 4), (2, 4, 3), hints.TRANSPOSED),
    ((6,), (2, 3), None),
])
def test_hint_for_shape(actual, expected, hint):
    assert hints.for_shape(torch.Size(actual), torch.Size(expected)) == hint


@pytest.mark.parametrize("actual, expected, hint", [
    (torch.float64, torch.float32, hints.FLOAT64_NOT_FLOAT32),
    (torch.int64, torch.float32, hints.INT_VS_FLOAT),
    (torch.float32, torch.int64, hints.FLOAT_VS_INT),
    (torch.float64, torch.int64, hints.FLOAT_VS_INT),
    (torch.float64, torch.bool, hints.FLOAT64_DEFAULT),
    (torch.int32, torch.int64, None),
])
def test_hint_for_dtype(actual, expected, hint):
    assert hints.for_dtype(actual, expected) == hint


def test_hint_for_device():
    assert hints.for_device(torch.device("cpu"), torch.device("meta")) == hints.DEVICE_MOVE


def test_hint_for_requires_grad():
    assert hints.for_requires_grad(False, True) == hints.REQUIRES_GRAD_OFF
    assert hints.for_requires_grad(True, False) == hints.REQUIRES_GRAD_ON


@pytest.mark.parametrize("factor, hint", [
    (-1.0, hints.NEGATED), (3.0, hints.SCALED.format(factor=3)), (1.5, None),
])
def test_hint_for_values(factor, hint):
    e = torch.tensor([1.0, 2.0, 0.0])
    assert hints.for_values(e * factor, e) == hint
    err = mismatch(expect_tensor, e * factor, e)
    assert err.hint == hint


def test_hint_for_grad():
    e = torch.tensor([1.0, -2.0])
    assert hints.for_grad(None, e) == hints.GRAD_NONE
    assert hints.for_grad(e * 3, e) == hints.GRAD_MULTIPLE.format(factor=3)
    assert hints.for_grad(e / 3, e) == hints.GRAD_FRACTION.format(factor=3)
    assert hints.for_grad(e + 1, e) is None


@pytest.mark.parametrize("fragment, hint", hints.EXCEPTION_HINTS)
def test_hint_for_each_known_exception(fragment, hint):
    assert hints.for_exception(RuntimeError(f"Oops: {fragment.upper()} here")) == hint


def test_hints_for_real_torch_errors():
    x = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        x.numpy()
    assert hints.for_exception(info.value) == hints.EXCEPTION_HINTS[0][1]
    with pytest.raises(RuntimeError) as info:
        torch.arange(6).view(2, 3).t().view(6)
    assert "view" in hints.for_exception(info.value)
    with pytest.raises(RuntimeError) as info:
        torch.ones(2, 3) @ torch.ones(2, 3)
    assert "行列積" in hints.for_exception(info.value)
    with pytest.raises(RuntimeError) as info:
        (x * 2).backward()
    assert "gradient" in hints.for_exception(info.value)


@pytest.mark.parametrize("module", ["messages", "api.hints"])
def test_no_template_or_hint_is_defined_twice(module):
    """Chapters append their own templates; a second assignment of a name would silently change another's text."""
    import ast
    import importlib
    source = importlib.import_module(f"kata.{module}").__file__
    tree = ast.parse(Path(source).read_text(encoding="utf-8"))
    names = [t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
             for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_expect_equal_numbers_by_value():
    """0 == 0.0 as in Python (SGD's momentum=0.0 equals the default 0); a bool equals only a bool."""
    expect_equal(0.0, 0)
    expect_equal(0, 0.0)
    expect_equal(2**60, 2**60)
    expect_equal(np.int64(3), 3)
    expect_equal(True, True)
    assert mismatch(expect_equal, 1, True).attribute == "values"
    assert mismatch(expect_equal, True, 1).attribute == "values"
    assert mismatch(expect_equal, 0.1, 0).attribute == "values"
    assert mismatch(expect_equal, 2**53 + 1, float(2**53)).attribute == "values"  # exact, not through float
    err = mismatch(expect_equal, "0", 0)
    assert err.message == messages.EQUAL.format(name="戻り値", expected="0", actual="'0'")


def test_expect_equal_number_subclass_is_not_believed():
    class Liar(int):
        def __eq__(self, other):
            return True

        __hash__ = int.__hash__

    assert mismatch(expect_equal, Liar(3), 4).attribute == "values"


# -- values that cannot be read, and the learner's world -----------------------------------------------------------

def test_values_that_cannot_be_read_fail_with_a_verdict():
    """A tensor whose values cannot be read (meta) is never "equal" by default: value comparison fails with a
    verdict unless the check itself asked for the meta device on both sides."""
    from kata.api.compare import _compare_values

    err = mismatch(_compare_values, torch.empty(3, device="meta"), torch.zeros(3), "x", None, None, False)
    assert head(messages.VALUES_UNREADABLE).split("{")[0] in err.message or "値を読み出して" in err.message
    err = mismatch(_compare_values, torch.zeros(3), torch.empty(3, device="meta"), "x", None, None, False)
    assert "値を読み出して" in err.message
    _compare_values(torch.empty(3, device="meta"), torch.empty(3, device="meta"), "x", None, None, False)


def test_learner_world_configuration_is_fenced_in_learning_mode():
    """Learning mode keeps the learner's configuration apart from the check's, as the sandbox worker does in
    grading mode: the check's default dtype is back after the call, and the learner's is what learner_state says
    (and what the learner's next call finds)."""
    from kata.state import LearnerWorld, learner_state

    world = LearnerWorld()

    def learner_sets_float64():
        before = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        return before

    class Sub:
        _learner_state = staticmethod(world.state)

    fenced = world.fence(learner_sets_float64)
    assert fenced() == torch.float32
    assert torch.get_default_dtype() == torch.float32  # the check's own state, untouched
    assert learner_state(Sub())["default_dtype"] == torch.float64
    assert fenced() == torch.float64  # the learner's world kept what its code set
    assert torch.get_default_dtype() == torch.float32
    torch.set_default_dtype(torch.float64)
    try:
        torch.set_default_dtype(torch.float32)  # the check sets its own again: pending, handed at the next call
        assert learner_state(Sub())["default_dtype"] == torch.float64
    finally:
        torch.set_default_dtype(torch.float32)


def test_learner_rng_is_read_from_a_private_generator_copy():
    from kata.state import learner_generator

    class Sub:
        @staticmethod
        def _learner_state():
            from kata.state import state_snapshot

            g = torch.Generator().manual_seed(7)
            return {**state_snapshot(), "torch_rng": g.get_state().numpy().tobytes()}

    before = torch.get_rng_state()
    copy = learner_generator(Sub(), "torch")
    assert torch.equal(torch.rand(3, generator=copy), torch.rand(3, generator=torch.Generator().manual_seed(7)))
    assert torch.equal(before, torch.get_rng_state())

    class Garbage:
        @staticmethod
        def _learner_state():
            return {"torch_rng": [1, 2, 3], "numpy_rng": "x", "random_rng": None}

    assert learner_generator(Garbage(), "torch") is None
    assert learner_generator(Garbage(), "numpy") is None
    assert learner_generator(Garbage(), "random") is None
def test_a_learners_class_is_named_alike_in_both_modes():
    """The learner's module is ``kata_under_test.…`` in this process and ``learner`` in the sandbox worker: a verdict
    names a class of the learner's own by its qualified name only, the same in both modes."""
    from kata.api.compare import _typename

    for module in ("kata_under_test.exercises.c01", "learner", "kata_mutants.m01_setup"):
        cls = type("Name", (str,), {"__module__": module, "__qualname__": "Name"})
        assert _typename(cls("x")) == "Name"
    assert _typename(torch.zeros(1)) == "torch.Tensor" and _typename(3) == "int"
