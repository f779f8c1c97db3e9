"""Checks of the engine's test course, chapter 01 (tests/engine_course/README.md).

Two checks per exercise, so that the tests can see an exercise partly pass (``scaled`` written for ``k = 2`` only
passes its source-values check), a check not run after its exercise timed out, and one verdict per exercise.
"""
import torch

from kata.api.compare import expect_equal, expect_sequence, expect_tensor, expect_type


def test_answer_is_int(sub):
    expect_type(sub.answer(), int)


def test_answer_value(sub):
    expect_equal(sub.answer(), 42)


def test_scaled_source_values(sub):
    expect_tensor(sub.scaled(torch.tensor([1.0, 2.0]), 2.0), torch.tensor([2.0, 4.0]))


def test_scaled_matches_reference(sub, ref, gen):
    for _ in range(3):
        x = torch.rand(int(torch.randint(1, 5, (), generator=gen)), generator=gen)
        k = 3.0 + float(torch.rand((), generator=gen))  # never 2: the source's own example is checked above
        expect_tensor(sub.scaled(x, k), ref.scaled(x, k), name=f"scaled(x, {k:.3f})")


def test_scaled_twice_matches_reference(sub, ref, gen):
    x, k = torch.rand(4, generator=gen), 3.0 + float(torch.rand((), generator=gen))
    actual, expected = expect_sequence(sub.scaled_twice(x, k), 2), ref.scaled_twice(x, k)
    for i in range(2):
        expect_tensor(actual[i], expected[i], name=f"戻り値[{i}]")


def test_scaled_twice_second_is_first_times_k(sub, gen):
    x, k = torch.rand(3, generator=gen), 3.0 + float(torch.rand((), generator=gen))
    first, second = expect_sequence(sub.scaled_twice(x, k), 2)
    expect_tensor(second, first * k, name="戻り値[1]")
