"""Whatever a check raises becomes one short Japanese verdict; the loader isolates a learner's file."""
from __future__ import annotations

import textwrap

import pytest
import torch

from kata import loader, messages, verdict
from kata.api.compare import Mismatch
from kata.api.oprules import forbid, record_ops
from kata.errors import KataTimeout, LearnerImportError
from kata.status import CheckResult, CheckStatus, headline_rank

#: Where a learner's file sits in a learner's copy (any chapter's would do: the loader shows this relative path).
LEARNER_FILE = "exercises/01_basics/basics.py"


def load_source(tmp_path, source: str, name: str = "learner_mod"):
    path = tmp_path / LEARNER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return loader.load(path, f"kata_test_{name}_{tmp_path.name}")


def raised(fn, *args):
    try:
        fn(*args)
    except BaseException as exc:
        return exc
    raise AssertionError("nothing raised")


def test_untouched_stub_reads_todo(tmp_path):
    mod = load_source(tmp_path, "def f():\n    raise NotImplementedError\n")
    v = verdict.classify(raised(mod.f))
    assert (v.status, v.text) == (CheckStatus.TODO, messages.TODO)


def test_not_implemented_from_elsewhere_is_not_todo():
    v = verdict.classify(NotImplementedError("engine"))
    assert v.status == CheckStatus.FAIL


def test_learner_exception_names_file_line_source_and_hint(tmp_path):
    mod = load_source(tmp_path, """\
        import torch
        def f():
            x = torch.ones(2, requires_grad=True)
            return x.numpy()
        """)
    v = verdict.classify(raised(mod.f))
    assert v.status == CheckStatus.FAIL and v.attribute == "exception"
    first, source, hint = v.text.splitlines()
    assert first.startswith(f"『{LEARNER_FILE}:4 (f)』で例外が発生しました: RuntimeError: ")
    assert source == "    return x.numpy()"
    assert hint.startswith(messages.HINT_PREFIX) and ".detach()" in hint


def test_mismatch_verdict_is_kept():
    exc = Mismatch("dtype", "msg", "hint")
    v = verdict.classify(exc)
    assert (v.status, v.text, v.attribute) == (CheckStatus.FAIL, f"msg\n{messages.HINT_PREFIX}hint", "dtype")


def test_timeout_and_exit():
    assert verdict.classify(KataTimeout(3)).text == messages.TIMEOUT.format(seconds=3)
    assert verdict.classify(SystemExit(2)).text == messages.EXIT_CALLED.format(what="sys.exit(2)")


def test_check_side_errors_are_not_blamed_on_the_learner():
    v = verdict.classify(KeyError("x"))
    assert v.attribute == "check" and v.text == messages.CHECK_ERROR.format(exc_type="KeyError", exc_msg="'x'")
    assert verdict.classify(AssertionError("plain")).text == "plain"


def test_syntax_error_names_file_and_line(tmp_path):
    exc = raised(load_source, tmp_path, "def f(:\n    pass\n")
    assert isinstance(exc, LearnerImportError)
    assert exc.verdict == messages.IMPORT_SYNTAX.format(file=LEARNER_FILE, line=1,
                                                         msg="invalid syntax")
    assert verdict.classify(exc).attribute == "import"


def test_import_time_exception_names_the_line(tmp_path):
    exc = raised(load_source, tmp_path, "import torch\nx = torch.ones(2) @ torch.ones(3)\n", "imp")
    assert exc.verdict.startswith(f"『{LEARNER_FILE}』を読み込めませんでした ({LEARNER_FILE}:2)")


def test_missing_file(tmp_path):
    exc = raised(loader.load, tmp_path / "nope.py", "kata_test_nope")
    assert exc.verdict == messages.IMPORT_MISSING_FILE.format(file=str(tmp_path / "nope.py"))


def test_import_time_global_state_is_restored(tmp_path):
    load_source(tmp_path, """\
        import torch
        torch.set_default_dtype(torch.float64)
        torch.set_grad_enabled(False)
        """, "state")
    assert torch.get_default_dtype() == torch.float32 and torch.is_grad_enabled()


def test_module_is_reloaded_only_when_the_file_changes(tmp_path):
    first = load_source(tmp_path, "VALUE = 1\n", "reload")
    assert loader.load(tmp_path / LEARNER_FILE, f"kata_test_reload_{tmp_path.name}") is first
    second = load_source(tmp_path, "VALUE = 22\n", "reload")
    assert second.VALUE == 22


def test_forbidden_op_verdict():
    x = torch.randn(3)
    with pytest.raises(Mismatch) as info, forbid(None, "torch.tanh", torch.tanh, torch.Tensor.tanh):
        torch.nn.Tanh()(x)
    assert info.value.attribute == "forbidden"
    assert info.value.message == messages.FORBIDDEN_OP.format(op="torch.tanh", used="torch.tanh")
    with record_ops(None) as called:
        torch.exp(x)
    assert "torch.exp" in called


def test_not_implemented_from_torch_inside_learner_line_is_an_error(tmp_path):
    mod = load_source(tmp_path, """\
        import torch
        def f():
            return torch.ones(2, device="meta").to("cpu")
        """, "meta")
    v = verdict.classify(raised(mod.f))
    assert v.status == CheckStatus.FAIL and v.attribute == "exception"


def test_import_timeout_is_not_retried_until_the_file_changes(tmp_path):
    path = tmp_path / LEARNER_FILE
    path.parent.mkdir(parents=True)
    path.write_text("import signal\nsignal.raise_signal(signal.SIGUSR1)\n", encoding="utf-8")
    import signal

    def raise_timeout(signum, frame):
        raise KataTimeout(1)

    old = signal.signal(signal.SIGUSR1, raise_timeout)
    try:
        with pytest.raises(KataTimeout):
            loader.load(path, "kata_test_import_timeout")
        with pytest.raises(LearnerImportError) as info:
            loader.load(path, "kata_test_import_timeout")
        assert info.value.verdict == messages.IMPORT_TIMEOUT.format(file=LEARNER_FILE)
        path.write_text("VALUE = 3\n", encoding="utf-8")
        assert loader.load(path, "kata_test_import_timeout").VALUE == 3
    finally:
        signal.signal(signal.SIGUSR1, old)


def test_tensor_subclasses_and_lying_equality_are_not_believed():
    class Liar(torch.Tensor):
        pass

    with pytest.raises(Mismatch) as info:
        from kata.api.compare import expect_tensor
        expect_tensor(torch.zeros(2).as_subclass(Liar), torch.zeros(2))
    assert info.value.attribute == "type"

    class LyingStr(str):
        def __eq__(self, other):
            return True

        __hash__ = str.__hash__

    from kata.api.compare import expect_equal, expect_scalar
    with pytest.raises(Mismatch):
        expect_equal(LyingStr("1.12.1"), "2.13.0")
    expect_equal(LyingStr("2.13.0"), "2.13.0")  # a str subclass with the right text is fine (torch.__version__)

    class LyingFloat(float):
        def __float__(self):
            return 0.7111

    with pytest.raises(Mismatch):
        expect_scalar(LyingFloat(0.5), 0.7111)


# -- the headline of an exercise: the most basic difference among its failing checks -----------------------------------

def _check(name: str, status: str, attribute: str) -> CheckResult:
    return CheckResult(f"checks/06_autograd/test_autograd.py::{name}", "06_autograd", "grad_of_mean", name, status,
                       f"verdict of {name}", attribute)


@pytest.mark.parametrize("order", [("grad", "values", "shape"), ("shape", "grad", "values")])
def test_headline_is_the_most_basic_difference_in_either_run_order(order):
    """type → shape → dtype → device → graph state → values (→ layout): a y of the wrong shape explains a wrong
    gradient, so the headline names the shape whichever check ran first; kata grade picks the same one."""
    from kata import catalog, report
    from kata.report import exercise_statuses

    checks = [_check(f"test_{i}_{a}", CheckStatus.FAIL, a) for i, a in enumerate(order)]
    headline = exercise_statuses({c.nodeid: c for c in checks})[("06_autograd", "grad_of_mean")]
    assert headline.attribute == "shape"
    ex = catalog.chapter("06").exercise("grad_of_mean")
    assert report.score_exercise(ex, checks, None, None).verdict == headline.verdict


def test_headline_rank_order():
    ranks = [headline_rank(a) for a in ("exception", "type", "shape", "dtype", "device", "requires_grad", "values",
                                        "shares_memory")]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    assert headline_rank("a check's own word") == headline_rank("values")
    assert headline_rank("is_leaf") == headline_rank("grad_fn") == headline_rank("requires_grad")


def test_ties_keep_run_order_and_a_failure_beats_todo():
    from kata.report import exercise_statuses

    checks = [_check("test_a", CheckStatus.TODO, "todo"), _check("test_b", CheckStatus.FAIL, "values"),
              _check("test_c", CheckStatus.FAIL, "flags")]
    assert exercise_statuses({c.nodeid: c for c in checks})[("06_autograd", "grad_of_mean")].function == "test_b"
