"""Op rules read from the source text (``kata.api.staticrules``): each kind of spelling, and the same verdict in both modes.

The rule reads the learner's file as text (``ast``), never imports it; the definition of the exercise and what it
uses are searched.  Each test is named after a kind of spelling; the catalogue ``tests/mutants/`` holds a wrong
answer of each kind for the real exercises (rejected in both modes by ``tests/test_self_verification.py``).
"""
from __future__ import annotations

import shutil
import textwrap

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import ROOT, run_checks
from kata import catalog
from kata.api.compare import Mismatch
from kata.api.staticrules import Rule, Source, findings, forbid_in_source

TANH = Rule.of(torch.tanh, torch.tanh_, torch.Tensor.tanh, torch.Tensor.tanh_, F.tanh, torch.sigmoid,
               torch.Tensor.sigmoid, F.sigmoid, torch.special.expit, nn.Tanh, nn.Sigmoid)
SEED = Rule.of(torch.manual_seed)
LOOPS = Rule.of(loops=True)


def found(body: str, rule: Rule = TANH, name: str = "f") -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in findings(Source(textwrap.dedent(body), "m.py"), name, rule)]


def test_a_right_answer_has_no_finding():
    assert found("""
        import torch
        def f(x):
            e = torch.exp(-2 * x.abs())
            return torch.sign(x) * (1 - e) / (1 + e)
    """) == []


def test_forbidden_name_written_in_full():
    assert found("import torch\ndef f(x):\n    return torch.tanh(x)\n") == [("name", "torch.tanh")]


def test_forbidden_name_through_an_import_alias():
    assert found("from torch import tanh as t\ndef f(x):\n    return t(x)\n") == [("name", "t")]
    assert found("import torch.nn.functional as G\ndef f(x):\n    return G.sigmoid(x)\n") == [("name", "G.sigmoid")]
    assert found("from torch import *\ndef f(x):\n    return tanh(x)\n") == [("name", "tanh")]


def test_forbidden_name_through_an_assigned_alias():
    assert found("import torch\nT = torch\ndef f(x):\n    return T.tanh(x)\n") == [("name", "T.tanh")]
    assert found("import torch\ndef f(x):\n    T = torch\n    return T.tanh(x)\n") == [("name", "T.tanh")]
    assert found("import torch\ndef f(x, T=torch):\n    return T.tanh(x)\n") == [("name", "T.tanh")]


def test_forbidden_name_in_a_helper_the_exercise_uses():
    source = "import torch\ndef _h(x):\n    return torch.tanh(x)\ndef f(x):\n    return _h(x)\n"
    assert found(source) == [("name", "torch.tanh")]


def test_forbidden_name_elsewhere_in_the_file_is_not_the_exercises():
    """Another exercise may use what this one forbids (SimpleClassifier's nn.Tanh beside my_tanh)."""
    source = "import torch\nfrom torch import nn\nLAYER = nn.Tanh()\ndef f(x):\n    return torch.exp(x)\n"
    assert found(source) == []


def test_local_names_of_another_function_are_not_the_exercises():
    """Another exercise's local variable (or parameter default) of the same name as this one's parameter is not
    what this one uses: chapter 03 has `a = a.copy()` in float32_view_or_copy beside center_columns_in_place(a)."""
    source = ("import torch\ndef g(x, act=torch.tanh):\n    x = torch.tanh(x)\n    return act(x)\n"
              "def f(x, act=None):\n    return torch.exp(x) if act is None else act(x)\n")
    assert found(source) == []
    assert found(source, name="g") == [("name", "torch.tanh"), ("name", "torch.tanh"), ("name", "act")]


def test_the_tensor_class_is_not_the_forbidden_function_torch_tensor():
    """Forbidding the copy torch.tensor leaves the annotation torch.Tensor (same name but for the case) alone."""
    source = "import torch\ndef f(x: torch.Tensor) -> torch.Tensor:\n    return torch.tensor(x.tolist())\n"
    assert found(source, Rule.of(torch.tensor)) == [("name", "torch.tensor")]
    assert found(source.replace("torch.tensor(x.tolist())", "x.view(-1)"), Rule.of(torch.tensor)) == []
    assert ("name", "torch.Tensor") in found(source, Rule.of(torch.Tensor))  # the class itself, where forbidden


def test_forbidden_name_bound_to_the_exercise_itself():
    assert found("import torch\nf = torch.tanh\n") == [("name", "torch.tanh")]
    assert found("import torch\nf = lambda x: torch.sigmoid(x)\n") == [("name", "torch.sigmoid")]
    assert found("from torch import tanh as f\n") == [("name", "f")]


def test_forbidden_object_by_another_path():
    assert found("import torch\ndef f(x):\n    return torch.special.expit(x)\n") == [("name", "torch.special.expit")]
    assert found("import torch\ndef f(x):\n    return torch.nn.modules.activation.Tanh()(x)\n") == \
        [("name", "torch.nn.modules.activation.Tanh")]
    assert ("name", "torch.ops.aten.tanh") in found("import torch\ndef f(x):\n    return torch.ops.aten.tanh(x)\n")
    assert found("import torch\ndef f(x):\n    return torch._C._VariableFunctions.tanh(x)\n") == \
        [("name", "torch._C._VariableFunctions.tanh")]


def test_forbidden_method_of_a_tensor():
    assert found("def f(x):\n    return x.tanh()\n") == [("method", "x.tanh")]
    assert found("def f(x):\n    return (2 * x).sigmoid_()\n", Rule.of(torch.Tensor.sigmoid_)) == \
        [("method", "(2 * x).sigmoid_")]
    assert found("import torch\ndef f(x):\n    return torch.Tensor.tanh(x)\n") == [("name", "torch.Tensor.tanh")]


def test_a_method_of_the_same_name_on_another_class_is_allowed():
    """``Generator.manual_seed`` is what rand_with_generator asks for; ``torch.manual_seed`` is forbidden."""
    source = """
        import torch
        def f(seed, n):
            g = torch.Generator()
            g.manual_seed(seed)
            return torch.rand(n, generator=torch.Generator().manual_seed(seed))
    """
    assert found(source, SEED) == []
    assert found("import torch\ndef f(s):\n    torch.random.manual_seed(s)\n", SEED) == \
        [("name", "torch.random.manual_seed")]


def test_same_name_from_numpy_or_math_is_allowed():
    assert found("import numpy as np, math\ndef f(x):\n    return np.tanh(x) + math.tanh(1.0)\n") == []


def test_dynamic_lookup_by_a_built_name():
    assert found("import torch\ndef f(x):\n    return getattr(torch, 'tan' + 'h')(x)\n") == [("dynamic", "getattr(…)")]
    assert found("import torch\ndef f(x):\n    return getattr(torch, 'tanh')(x)\n") == \
        [("name", "getattr(torch, 'tanh')")]
    assert found("def f(x):\n    return getattr(x, 'tanh')()\n") == [("method", "getattr(…, 'tanh')")]


def test_dynamic_lookup_by_evaluated_text_or_import():
    assert ("dynamic", "eval") in found("def f(x):\n    return eval('x.tanh()')\n")
    assert ("dynamic", "exec") in found("def f(x):\n    exec('y = 1')\n")
    assert ("dynamic", "__import__") in found("def f(x):\n    return __import__('torch').tanh(x)\n")
    assert ("dynamic", "importlib.import_module") in \
        found("import importlib\ndef f(x):\n    return importlib.import_module('torch').tanh(x)\n")
    assert ("dynamic", "vars") in found("import torch\ndef f(x):\n    return vars(torch)['tanh'](x)\n")
    assert ("dynamic", "torch.__dict__") in found("import torch\ndef f(x):\n    return torch.__dict__['tanh'](x)\n")
    assert ("dynamic", "operator.attrgetter") in \
        found("import operator, torch\ndef f(x):\n    return operator.attrgetter('tanh')(torch)(x)\n")


def test_dynamic_lookup_at_module_level_that_the_exercise_uses():
    source = "import torch\n_t = getattr(torch, 'tan' + 'h')\ndef f(x):\n    return _t(x)\n"
    assert found(source) == [("dynamic", "getattr(…)")]


def test_change_of_torch_itself_anywhere_in_the_file():
    source = "import torch\ntorch.exp = torch.tanh\ndef f(x):\n    return torch.exp(x)\n"
    assert ("dynamic", "torch.exp = …") in found(source)
    source = "import torch\ntorch.squash = torch.tanh\ndef f(x):\n    return torch.squash(x)\n"
    assert ("dynamic", "torch.squash = …") in found(source)
    # A setting that holds plain data hides no function.
    assert found("import torch\ntorch.backends.cudnn.benchmark = False\ndef f(x):\n    return x\n") == []


def test_loops_where_the_rule_forbids_them():
    assert found("def f(a, b):\n    return [x for x in a]\n", LOOPS) == [("loop", "内包表記")]
    assert found("def f(a, b):\n    for x in a:\n        pass\n", LOOPS) == [("loop", "for")]
    assert found("def f(a, b):\n    while a:\n        a = a[1:]\n", LOOPS) == [("loop", "while")]
    assert found("def f(a, b):\n    return sum(x for x in a)\n", LOOPS) == [("loop", "ジェネレータ式")]
    assert found("def f(a, b):\n    return [x for x in a]\n") == []  # no loop rule: loops are fine


def test_text_that_does_not_parse_has_no_finding():
    """Importing it fails, and that is the verdict of every check."""
    assert found("def f(x:\n    return torch.tanh(x)\n") == []


def test_a_catalogued_wrong_answer_is_read_from_its_own_definition():
    """A mutant file holds many definitions: the one that starts at the mutant's line (its decorator) is read."""
    source = "import torch\n\n@mutant\ndef a(x):\n    return torch.tanh(x)\n\n@mutant\ndef b(x):\n    return x\n"
    assert [f.text for f in findings(Source(source, "m.py", line=3), "f", TANH)] == ["torch.tanh"]
    assert findings(Source(source, "m.py", line=7), "f", TANH) == []


def test_the_verdict_names_the_rule_the_place_and_what_was_written():
    source = Source("import torch\ndef my_tanh(x):\n    return torch.tanh(x)\n", "exercises/08_modules/modules.py")
    with pytest.raises(Mismatch) as info:
        forbid_in_source(source, "my_tanh", "tanh の組み込み", torch.tanh)
    assert info.value.attribute == "forbidden"
    assert "『tanh の組み込み』は使えません" in info.value.verdict
    assert "『modules.py』の 3 行目" in info.value.verdict and "torch.tanh" in info.value.verdict
    with pytest.raises(Mismatch) as info:
        forbid_in_source(Source("def g(x):\n    return eval('x')\n", "m.py"), "g", "tanh", torch.tanh)
    assert "eval" in info.value.verdict and "名前を直接" in info.value.verdict
    with pytest.raises(Mismatch) as info:
        forbid_in_source(Source("def g(a):\n    for x in a:\n        pass\n", "m.py"), "g", "ループ", loops=True)
    assert "ループは使えません" in info.value.verdict and "for" in info.value.verdict


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_static_rules_give_the_same_verdict_word_for_word_in_both_modes(tmp_path):
    """The rule counts in kata grade: the trusted process reads the bytes the sandbox runs and gives the learning
    mode's verdict, text included."""
    chapter = catalog.chapter("08")
    root = tmp_path / "submission"
    shutil.copytree(ROOT / "solutions", root / "exercises")
    path = root / "exercises" / chapter.key / chapter.file
    text = path.read_text(encoding="utf-8").replace(
        "    e = torch.exp(-2 * x.abs())\n    return torch.sign(x) * (1 - e) / (1 + e)",
        "    T = torch\n    return getattr(T, 'tan' + 'h')(x)")
    assert "getattr(T" in text
    path.write_text(text, encoding="utf-8")
    runs = {mode: run_checks(tmp_path / f"{mode}.json", f"--kata-submission={root}", "--kata-seed=1", *extra,
                             f"checks/{chapter.key}", "-k", "my_tanh")[0]
            for mode, extra in (("learning", ()), ("grading", ("--kata-sandbox",)))}
    verdicts = {mode: {t["nodeid"]: (t["status"], t["attribute"], t["verdict"]) for t in run["tests"]}
                for mode, run in runs.items()}
    assert verdicts["learning"] == verdicts["grading"]
    static = [v for k, v in verdicts["grading"].items() if "source_without" in k]
    assert static and static[0][:2] == ("fail", "forbidden") and "getattr" in static[0][2]
    my_tanh = next(e for e in runs["grading"]["exercises"] if e["exercise"] == "my_tanh")
    assert my_tanh["status"] == "fail"
