"""The hint ladder of every exercise, and the targeted hints' choice of cause.

Each exercise has exactly three hints in ``checks/NN_topic/chapter.toml``: a question that points at the concept, the
concept with a documentation pointer (no code), and a third rung.  For a one-liner (a reference body of one simple statement)
the second rung names the concept, not the call (no name the reference calls that its prompt does not already give),
and the third is a worked example on other data (a sibling problem, run here), never the answer with blanks.  For a
longer exercise the third rung is a code skeleton whose blanks (``____``) stand for whole steps, each named by a
comment.  Full code is only shown by ``kata solution``: no hint may contain a non-trivial line of the reference body,
nor a line that differs from one only by blanks.
"""
from __future__ import annotations

import ast
import contextlib
import io
import re

import pytest
import torch

from conftest import all_exercises
from kata import catalog
from kata.api import hints

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
BLANK = "____"
MIN_LINE = 12  # shorter reference lines (``return x``, ``a @ b``) are too trivial to give anything away
TRIVIAL = re.compile(r"return[A-Za-z_][A-Za-z_0-9.]*|returnNone|pass")


def _squash(text: str) -> str:
    """The text without any whitespace, so that spacing and line breaks do not hide a copied line."""
    return re.sub(r"\s+", "", text)


def _bodies(tree: ast.Module) -> list[ast.stmt]:
    out = []
    for node in tree.body:
        functions = [node] if isinstance(node, ast.FunctionDef) else \
            [n for n in node.body if isinstance(n, ast.FunctionDef)] if isinstance(node, ast.ClassDef) else []
        for fn in functions:
            out += [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    return out


def _prompts(tree: ast.Module) -> str:
    """Every docstring of the file, squashed: what the prompts already say is no answer given away."""
    nodes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    return _squash("".join(ast.get_docstring(n) or "" for n in nodes))


def reference_lines(chapter: catalog.Chapter) -> set[str]:
    """The non-trivial lines of the reference's function and method bodies (comments dropped, whitespace squashed),
    except those the prompts quote (``super().__init__()``)."""
    source = chapter.reference_file().read_text(encoding="utf-8")
    tree = ast.parse(source)
    lines, prompts = source.splitlines(), _prompts(tree)
    out = set()
    for stmt in _bodies(tree):
        for line in lines[stmt.lineno - 1:stmt.end_lineno]:
            code = _squash(line.split("#", 1)[0])
            if len(code) >= MIN_LINE and not TRIVIAL.fullmatch(code) and code not in prompts:
                out.add(code)
    return out


@pytest.mark.parametrize("ex", all_exercises())
def test_exactly_three_hints(ex):
    assert len(ex.hints) == 3, f"{ex.chapter} {ex.name}: {len(ex.hints)} hints (the ladder has three rungs)"


@pytest.mark.parametrize("ex", all_exercises())
def test_hints_are_japanese(ex):
    for i, hint in enumerate(ex.hints, 1):
        assert JAPANESE.search(hint), f"{ex.name}: hint {i} has no Japanese"


def _one_line_body(ex) -> ast.stmt | None:
    """The reference's body of ``ex`` when it is one statement (docstring aside), else None."""
    tree = ast.parse(catalog.chapter_of_key(ex.chapter).reference_file().read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == ex.name:
            body = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
            return body[0] if len(body) == 1 and _statements(body[0]) == 1 else None
    return None


def _statements(stmt: ast.stmt) -> int:
    """How many simple statements ``stmt`` holds, counting those nested in ``with``/``for``/``if`` blocks: ``with
    torch.no_grad(): return model(x)`` is one, a ``with`` around a loop of three updates is three."""
    nested = [s for field in ("body", "orelse", "finalbody", "handlers") for s in getattr(stmt, field, [])]
    return sum(_statements(s) for s in nested) if nested else 1


def _prompt(ex) -> str:
    tree = ast.parse(catalog.chapter_of_key(ex.chapter).reference_file().read_text(encoding="utf-8"))
    return next(ast.get_docstring(n) or "" for n in tree.body
                if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == ex.name)


def called_names(stmt: ast.stmt) -> set[str]:
    """The functions and methods a statement calls (``@`` for a matrix product), by their last name."""
    out = set()
    for node in ast.walk(stmt):
        calls = [node] if isinstance(node, ast.Call) else \
            [i.context_expr for i in node.items if isinstance(i.context_expr, ast.Call)] if isinstance(node, ast.With) else []
        for call in calls:
            func = call.func
            out.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            out.add("@")
    return out - {""}


def _mentions(text: str, name: str) -> bool:
    return re.search(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])", text) is not None


ONE_LINERS = [p for p in all_exercises() if _one_line_body(p.values[0]) is not None]


@pytest.mark.parametrize("ex", all_exercises())
def test_ladder_question_concept_third_rung(ex):
    question, concept, third = ex.hints
    assert "？" in question or "?" in question, f"{ex.name}: the first hint is a question"
    assert BLANK not in question and BLANK not in concept, f"{ex.name}: only the third hint has blanks"
    assert "https://" in concept, f"{ex.name}: the second hint points at the documentation"
    if _one_line_body(ex) is None:
        assert BLANK in third, f"{ex.name}: the third hint is a skeleton with blanks ({BLANK})"


@pytest.mark.parametrize("ex", ONE_LINERS)
def test_one_liner_concept_rung_names_no_call(ex):
    """Rung 2 of a one-liner names the concept and links its documentation, not the call: no name the reference
    calls appears in it (the URL included) unless the prompt already gives it."""
    prompt = _prompt(ex)
    given = [name for name in called_names(_one_line_body(ex)) if not _mentions(prompt, name)]
    named = [name for name in given if (name == "@" and "@" in ex.hints[1]) or (name != "@" and _mentions(ex.hints[1], name))]
    assert not named, f"{ex.chapter} {ex.name}: hint 2 names the call {named}"


@pytest.mark.parametrize("ex", ONE_LINERS)
def test_one_liner_third_rung_is_a_worked_example(ex, tmp_path, monkeypatch):
    """Rung 3 of a one-liner is a worked example on other data: no blanks, and its code (the lines after the first)
    runs as written."""
    third = ex.hints[2]
    assert BLANK not in third, f"{ex.name}: the third hint of a one-liner is a worked example, not blanks"
    first, *code = third.splitlines()
    assert "例" in first and code, f"{ex.name}: the third hint says it is an example and shows code"
    monkeypatch.chdir(tmp_path)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile("\n".join(code), f"{ex.name} hint 3", "exec"), {"torch": torch})  # the course's own text


def _blank_pattern(line: str) -> re.Pattern[str] | None:
    """A hint line with blanks as a pattern over squashed reference lines (None: no blanks)."""
    squashed = _squash(line.split("#", 1)[0])
    if BLANK not in squashed:
        return None
    return re.compile(".+?".join(re.escape(part) for part in squashed.split(BLANK)))


GIVEN_SHARE = 0.6  # a blanked line that keeps more than this share of a reference line gives the line away


def blanked_reference_lines(hint: str, lines: set[str]) -> list[str]:
    """The reference lines that a line of ``hint`` is, but for blanks covering less than 40 % of it
    (``torch.____(x)`` for ``torch.flip(x)``; not ``generator = ____`` for a whole expression)."""
    out = []
    for line in hint.splitlines():
        pattern = _blank_pattern(line)
        if pattern is None:
            continue
        given = len(_squash(line.split("#", 1)[0]).replace(BLANK, ""))
        out += [ref for ref in lines if pattern.fullmatch(ref) and given > GIVEN_SHARE * len(ref)]
    return out


@pytest.mark.parametrize("ex", all_exercises())
def test_no_hint_is_a_reference_line_with_blanks(ex):
    """A rung that differs from a reference line only by blanks gives the answer away as much as the line itself."""
    lines = reference_lines(catalog.chapter_of_key(ex.chapter))
    for i, hint in enumerate(ex.hints, 1):
        found = blanked_reference_lines(hint, lines)
        assert not found, f"{ex.chapter} {ex.name}: hint {i} is a reference line with blanks: {found}"


def test_blank_pattern_sees_a_reference_line_with_blanks():
    """The guard itself: the skeleton the issue names is caught; a whole expression left blank, and a worked example
    on other data, are not."""
    lines = {_squash("return torch.flip(x)"), _squash("generator = torch.Generator().manual_seed(seed)")}
    assert blanked_reference_lines("return torch.____(x)", lines) == [_squash("return torch.flip(x)")]
    assert blanked_reference_lines("return ____", lines) == []
    assert blanked_reference_lines("generator = ____  # 専用の生成器", lines) == []
    assert blanked_reference_lines("y = torch.full(shape, 7.0)", lines) == []


@pytest.mark.parametrize("ex", all_exercises())
def test_no_hint_gives_a_reference_line(ex):
    chapter = catalog.chapter_of_key(ex.chapter)
    lines = reference_lines(chapter)
    for i, hint in enumerate(ex.hints, 1):
        squashed = [_squash(h) for h in hint.splitlines()]
        copied = sorted(line for line in lines if any(line in h for h in squashed))
        assert not copied, f"{ex.chapter} {ex.name}: hint {i} contains reference code verbatim: {copied}"


def test_reference_lines_are_found():
    """The guard itself: a line of the reference is recognised, trivial lines are not."""
    lines = reference_lines(catalog.chapter("06"))
    assert _squash("y.backward(torch.ones_like(y))") in lines
    assert "returnx.grad" not in lines


# -- targeted hints: the cause named fits the ratio and the exercise ------------------------------------------------

def test_grad_ratio_numel_reads_as_sum_for_mean():
    e = torch.full((2, 3), 0.5)
    assert hints.for_grad(e * 6, e) == hints.GRAD_SUM_NOT_MEAN.format(factor=6)
    assert hints.for_grad(e / 6, e) == hints.GRAD_MEAN_NOT_SUM.format(factor=6)


def test_grad_ratio_numel_over_len_reads_as_len_for_numel():
    e = torch.full((2, 3), 0.5)
    assert hints.for_grad(e * 3, e) == hints.GRAD_LEN_NOT_NUMEL.format(factor=3, length=2, numel=6)


def test_grad_ratio_against_backward_calls_counts_passes():
    e = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]) * 3
    assert hints.for_grad(e / 3, e, backward_calls=3) == hints.GRAD_BACKWARD_COUNT.format(
        ratio="0.3333", count=1, expected=3)
    assert hints.for_grad(e * 4 / 3, e, backward_calls=3) == hints.GRAD_BACKWARD_COUNT.format(
        ratio="1.333", count=4, expected=3)


def test_grad_ratio_without_context_names_both_causes():
    e = torch.tensor([1.0, 2.0, 3.0])
    hint = hints.for_grad(e * 2, e)
    assert "係数" in hint and "backward()" in hint


def test_contiguity_hint_does_not_recommend_reshape():
    assert ".contiguous()" in hints.NEEDS_CONTIGUOUS
    x = torch.arange(10)[::2]
    assert not x.reshape(-1).is_contiguous() and not x.flatten().is_contiguous()  # the fact the hint states


def test_float64_hint_names_numpy_only_for_numpy_input():
    assert "NumPy" not in hints.for_dtype(torch.float64, torch.float32)
    assert "NumPy" in hints.for_dtype(torch.float64, torch.float32, from_numpy=True)


def test_requires_grad_hints_do_not_recommend_what_prompts_forbid():
    assert ".detach() を使いましょう" not in hints.REQUIRES_GRAD_ON
    assert "requires_grad_()" not in hints.for_requires_grad(False, True, "入力 t")


@pytest.mark.parametrize("actual, expected, hint", [
    ((3,), (2, 3, 4), hints.TENSOR_FROM_SHAPE),
    ((), (1,), hints.SQUEEZED_TOO_MUCH),
    ((4,), (4, 1), hints.SQUEEZED_TOO_MUCH),
    ((4, 1), (4,), hints.EXTRA_SIZE1_DIM),
])
def test_shape_hints(actual, expected, hint):
    assert hints.for_shape(torch.Size(actual), torch.Size(expected)) == hint


def test_meshgrid_xy_reads_as_transposed_values():
    e = torch.arange(8.0).view(2, 2, 2)
    assert hints.for_values(e.transpose(0, 1), e) == hints.VALUES_TRANSPOSED


@pytest.mark.parametrize("message", [
    "cannot assign module before Module.__init__() call",
    "'M' object has no attribute '_parameters'",
    "cannot reshape tensor of 0 elements into shape [0, -1] because the unspecified dimension size -1 can be any value",
    "float division by zero",
    "Cannot copy out of meta tensor; no data!",
    "Tensor.item() cannot be called on meta tensors",
    "can't convert meta device type tensor to numpy.",
])
def test_japanese_hint_for_raw_torch_errors(message):
    hint = hints.for_exception(RuntimeError(message))
    assert hint and JAPANESE.search(hint)


# -- every targeted hint has a premise, and does not fire where its premise is false ----------------------------------

@pytest.mark.parametrize("hint, holds, fails", [
    (hints.TRANSPOSED, ((3, 2), (2, 3)), ((3, 2), (2, 4))),
    (hints.TENSOR_FROM_SHAPE, ((3,), (2, 3, 4)), ((3,), (3, 1))),
    (hints.SQUEEZED_TOO_MUCH, ((4,), (4, 1)), ((4,), (4, 2))),
    (hints.EXTRA_SIZE1_DIM, ((4, 1), (4,)), ((4, 2), (4,))),
], ids=["transposed", "tensor_from_shape", "squeezed", "extra_dim"])
def test_shape_hint_fires_only_on_its_premise(hint, holds, fails):
    premise = {h: p for p, h in hints.SHAPE_PREMISES}[hint]
    assert premise(torch.Size(holds[0]), torch.Size(holds[1])) and hints.for_shape(*map(torch.Size, holds)) == hint
    assert not premise(torch.Size(fails[0]), torch.Size(fails[1])) and hints.for_shape(*map(torch.Size, fails)) != hint


@pytest.mark.parametrize("hint, holds, fails", [
    (hints.FLOAT64_FROM_NUMPY, (torch.float64, torch.float32, True), (torch.float64, torch.float32, False)),
    (hints.FLOAT64_NOT_FLOAT32, (torch.float64, torch.float32, False), (torch.float64, torch.float16, False)),
    (hints.INT_VS_FLOAT, (torch.int64, torch.float32, False), (torch.int32, torch.float32, False)),
    (hints.FLOAT_VS_INT, (torch.float32, torch.int64, False), (torch.float32, torch.bool, False)),
    (hints.FLOAT64_DEFAULT, (torch.float64, torch.float16, False), (torch.float32, torch.float16, False)),
], ids=["numpy", "float64", "int_vs_float", "float_vs_int", "float64_default"])
def test_dtype_hint_fires_only_on_its_premise(hint, holds, fails):
    assert hints.for_dtype(*holds) == hint
    assert hints.for_dtype(*fails) != hint


def test_grad_hints_fire_only_on_their_ratio():
    e = torch.full((2, 3), 0.5)
    assert hints.for_grad(e * 3, e) == hints.GRAD_LEN_NOT_NUMEL.format(factor=3, length=2, numel=6)
    assert hints.for_grad(e * 3, e.view(6)) != hints.GRAD_LEN_NOT_NUMEL.format(factor=3, length=2, numel=6)  # 1-D
    assert hints.for_grad(e * 1.5, e) is None  # no whole factor: no cause named
    assert hints.for_grad(e, e) is None


def _raised(fn) -> BaseException:
    try:
        fn()
    except Exception as exc:  # the error torch raises is the point
        return exc
    raise AssertionError("torch raised nothing")


def _leaf_in_place():
    w = torch.ones(2, requires_grad=True)
    w += 1


#: Common RuntimeErrors as this torch raises them (the device mismatch needs two real devices: its message as quoted)
#: and a word of the Japanese hint each must get.
RUNTIME_ERRORS = {
    "requires_grad_on_int": (lambda: torch.arange(3).requires_grad_(), "浮動小数点数"),
    "requires_grad_on_int_literal": (lambda: torch.tensor([1, 2], requires_grad=True), "浮動小数点数"),
    "device_mismatch": (lambda: (_ for _ in ()).throw(RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!")), "デバイス"),
    "view_not_contiguous": (lambda: torch.arange(6.0).view(2, 3).t().view(6), ".contiguous()"),
    "leaf_in_place": (_leaf_in_place, "torch.no_grad()"),
    "float64_into_linear": (lambda: torch.nn.Linear(2, 3)(torch.ones(1, 2, dtype=torch.float64)), "float64"),
}


@pytest.mark.parametrize("case", list(RUNTIME_ERRORS))
def test_common_runtime_errors_get_their_japanese_hint(case):
    fn, word = RUNTIME_ERRORS[case]
    exc = _raised(fn)
    hint = hints.for_exception(exc)
    assert hint and JAPANESE.search(hint) and word in hint, (str(exc), hint)


def test_each_kind_of_runtime_error_gets_its_own_hint():
    found = {hints.for_exception(_raised(fn)) for name, (fn, _) in RUNTIME_ERRORS.items() if not name.endswith("_literal")}
    assert len(found) == len(RUNTIME_ERRORS) - 1


def test_a_shape_error_of_a_matmul_gets_no_dtype_hint():
    """The premise of the dtype hint is the dtype message: a shape error of the same product does not get it."""
    exc = _raised(lambda: torch.nn.Linear(2, 3)(torch.ones(1, 4)))
    assert "shapes cannot be multiplied" in str(exc)
    assert "float64" not in (hints.for_exception(exc) or "")


@pytest.mark.parametrize("hint, actual, expected", [
    ("NEGATED", torch.tensor([-1.0, 2.0]), torch.tensor([1.0, -2.0])),
    ("SCALED", torch.tensor([2.0, 4.0]), torch.tensor([1.0, 2.0])),
    ("FLIPPED", torch.tensor([[3, 2, 1], [6, 5, 4]]), torch.tensor([[1, 2, 3], [4, 5, 6]])),
    ("VALUES_TRANSPOSED", torch.tensor([[1, 3], [2, 4]]), torch.tensor([[1, 2], [3, 4]])),
])
def test_value_hints_fire_only_on_their_premise(hint, actual, expected):
    """Each value hint where its premise holds, and not on a near miss (one element off) where it does not."""
    named = hints.for_values(actual, expected)
    template = getattr(hints, hint)
    assert named is not None and named.startswith(template.split("{")[0]) and named.endswith(template.split("}")[-1])
    near = actual.clone()
    near.view(-1)[0] += 7
    assert hints.for_values(near, expected) is None


def test_two_elements_swapped_are_not_called_flipped():
    """Reversing a dim of size 2 is also a swap (meshgrid's indexing='xy' swaps the last dim's pair): no flip hint."""
    e = torch.arange(8.0).view(2, 2, 2)
    assert hints.for_values(e.flip(2), e) != hints.FLIPPED.format(dim=2)
