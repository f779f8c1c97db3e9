"""Checks for chapter 12 (evaluation: predicted labels, accuracy, the decision-boundary grid).

Whether the learner's code builds a graph or leaves the model in training mode cannot be seen from the result alone
(labels are int64 and never require grad; a model without Dropout gives the same values in both modes), so the model
is wrapped in a :class:`Probe` that records ``torch.is_grad_enabled()`` and ``self.training`` inside every forward.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.utils.data import DataLoader

from kata import messages
from kata.api import devices, hints
from kata.api.compare import Mismatch, expect, expect_equal, expect_scalar, expect_tensor, expect_type, fail
from kata.api.inputs import choice, randint
from kata.api.portable import SimulatedCudaTensor, XorRule
from kata.api.probe import Probe, expect_eval_mode, expect_inputs_on, expect_no_graph, on_simulated_gpu
from kata.api.staticrules import forbid_in_source
from kata.api.xor import XorSet, tiny_classifier, xor_dataset, xor_points

# -- hints only these checks use ---------------------------------------------------------------------------------------
LOGITS_NOT_PROBS = "モデルの出力はロジット (任意の実数) です。torch.sigmoid で確率 (0 以上 1 以下) に変換しましょう。"

# -- models whose behaviour the checks know ----------------------------------------------------------------------

def first_coordinate_model() -> nn.Module:
    """Linear(2, 1) whose logit is exactly x[..., 0]."""
    model = nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 0.0]]))
        model.bias.zero_()
    return model


def constant_model(logit: float) -> nn.Module:
    """Linear(2, 1) whose logit is ``logit`` for every input."""
    model = nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.fill_(logit)
    return model


# -- inputs ------------------------------------------------------------------------------------------------------

def _seed(gen: torch.Generator) -> int:
    return randint(gen, 0, 2**31 - 1)


def _uniform(gen: torch.Generator, n: int, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=gen)


def _logits_near_threshold(gen: torch.Generator, n: int) -> torch.Tensor:
    """``n`` logits (n >= 4), some in (0, 0.5) and some in (-0.5, 0) where thresholding a logit at 0.5 goes wrong;
    none closer to 0 than 0.02."""
    quarter = max(n // 4, 1)
    parts = [_uniform(gen, quarter, 0.02, 0.48), _uniform(gen, quarter, -0.48, -0.02)]
    rest = torch.randn(n - 2 * quarter, generator=gen) * 2
    parts.append(torch.where(rest >= 0, rest + 0.02, rest - 0.02))
    logits = torch.cat(parts)
    return logits[torch.randperm(n, generator=gen)]


def _inputs_with_first_coordinate(gen: torch.Generator, first: torch.Tensor) -> torch.Tensor:
    return torch.stack([first, torch.randn(first.shape, generator=gen)], dim=-1)


def _loader(dataset: torch.utils.data.Dataset, batch_size: int) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, shuffle=False)


def _xor_loader(gen: torch.Generator) -> DataLoader:
    return _loader(xor_dataset(randint(gen, 20, 60), gen), randint(gen, 3, 17))


# -- predict_labels ----------------------------------------------------------------------------------------------

def test_predict_labels_matches_reference(sub, ref, gen):
    model = tiny_classifier(_seed(gen))
    x = xor_points(randint(gen, 2, 40), gen)[0]
    if choice(gen, (True, False)):
        x = torch.cat([x, torch.zeros_like(x)], dim=1)[:, ::2]  # the same points, not contiguous
    expected = ref.predict_labels(copy.deepcopy(model), x.clone())
    expect_tensor(sub.predict_labels(model, x), expected, name="predict_labels(model, x)")


def test_predict_labels_thresholds_the_probability(sub, gen):
    """sigmoid(z) >= 0.5 exactly when z >= 0: logits in (0, 0.5) are class 1, negative logits class 0."""
    logits = _logits_near_threshold(gen, randint(gen, 8, 40))
    x = _inputs_with_first_coordinate(gen, logits)
    expect_tensor(sub.predict_labels(first_coordinate_model(), x), (logits >= 0).long(),
                  name="predict_labels(model, x)")


def test_predict_labels_half_probability_is_class_1(sub, gen):
    """A logit of exactly 0 is probability 0.5, which is class 1 (>= 0.5)."""
    logits = _logits_near_threshold(gen, randint(gen, 4, 12))
    zeros = torch.rand(logits.shape, generator=gen) < 0.5
    zeros[randint(gen, 0, len(logits))] = True
    logits = torch.where(zeros, torch.zeros_like(logits), logits)
    x = _inputs_with_first_coordinate(gen, logits)
    expect_tensor(sub.predict_labels(first_coordinate_model(), x), (logits >= 0).long(),
                  name="predict_labels(model, x) (確率がちょうど 0.5 の点を含む)")


def test_predict_labels_batch_of_one(sub, gen):
    """B = 1 still gives shape [1] (squeeze only the class dim)."""
    logit = float(_logits_near_threshold(gen, 4)[0])
    x = _inputs_with_first_coordinate(gen, torch.tensor([logit]))
    expect_tensor(sub.predict_labels(first_coordinate_model(), x), torch.tensor([int(logit >= 0)]),
                  name="predict_labels(model, x) (B = 1)")


def test_predict_labels_builds_no_graph(sub, gen):
    probe = Probe(tiny_classifier(_seed(gen)))
    sub.predict_labels(probe, xor_points(randint(gen, 2, 20), gen)[0])
    expect_no_graph(probe, "predict_labels")


def test_predict_labels_uses_eval_mode(sub, gen):
    """The prompt: eval mode for the call, and still eval mode afterwards (a model left in training mode first)."""
    probe = Probe(tiny_classifier(_seed(gen))).train()
    sub.predict_labels(probe, xor_points(randint(gen, 2, 20), gen)[0])
    expect_eval_mode(probe, "predict_labels")
    expect_equal(probe.training, False, name="predict_labels を呼んだあとの model.training", attribute="training",
                 hint=hints.EVAL_MODE)


def test_predict_labels_on_the_models_device(sub, ref, gen):
    """The model on a (simulated) GPU, x on the CPU: x goes to the model's device, and so do the labels."""
    model = tiny_classifier(_seed(gen))
    x = xor_points(randint(gen, 2, 30), gen)[0]
    expected = ref.predict_labels(copy.deepcopy(model), x.clone())
    probe = on_simulated_gpu(copy.deepcopy(model))
    out = devices.call_simulated(sub.predict_labels, probe, x)
    expect_inputs_on(probe, "cuda:0", "predict_labels")
    expect_tensor(out, SimulatedCudaTensor.wrap(expected), name="predict_labels(GPU 上のモデル, CPU 上の x)")


# -- accuracy ----------------------------------------------------------------------------------------------------

def test_accuracy_matches_reference(sub, ref, gen):
    model, loader = tiny_classifier(_seed(gen)), _xor_loader(gen)
    expected = ref.accuracy(copy.deepcopy(model), loader)
    expect_scalar(sub.accuracy(model, loader), expected, name="accuracy(model, loader)")


def test_accuracy_counts_every_sample(sub, gen):
    """Every full batch right, the short last batch (r samples) wrong: (N - r) / N, not the mean of batch rates."""
    batch_size = randint(gen, 3, 9)
    full, wrong = randint(gen, 2, 6), randint(gen, 1, batch_size)
    n = full * batch_size + wrong
    points, labels = xor_points(n, gen, std=0.05)
    labels[-wrong:] = 1 - labels[-wrong:]
    expect_scalar(sub.accuracy(XorRule(), _loader(XorSet(points, labels), batch_size)), (n - wrong) / n,
                  name=f"accuracy (データ {n} 個、バッチサイズ {batch_size}、不正解 {wrong} 個)")


def test_accuracy_thresholds_the_probability(sub, gen):
    """A constant logit in [0, 0.5) is probability >= 0.5 for every point: accuracy is the share of label 1."""
    n = 2 * randint(gen, 5, 25) + 1  # odd, so the share of label 1 is never one half
    points, labels = xor_points(n, gen)
    logit = choice(gen, (0.0, float(_uniform(gen, 1, 0.02, 0.48))))
    loader = _loader(XorSet(points, labels), randint(gen, 2, 10))
    expect_scalar(sub.accuracy(constant_model(logit), loader), int(labels.sum()) / n,
                  name=f"accuracy (ロジットが常に {logit:.3g} のモデル)")


def test_accuracy_between_zero_and_one(sub, gen):
    n = randint(gen, 10, 40)
    points, labels = xor_points(n, gen, std=0.05)
    flipped = torch.randperm(n, generator=gen)[:randint(gen, 1, n)]
    labels[flipped] = 1 - labels[flipped]
    acc = sub.accuracy(XorRule(), _loader(XorSet(points, labels), randint(gen, 2, 10)))
    expect_type(acc, float, name="accuracy の戻り値")
    expect(0.0 <= acc <= 1.0, "range", messages.NOT_IN_UNIT_INTERVAL, None, name="accuracy の戻り値", actual=acc)


def test_accuracy_uses_eval_mode(sub, gen):
    probe = Probe(tiny_classifier(_seed(gen))).train()
    sub.accuracy(probe, _xor_loader(gen))
    expect_eval_mode(probe, "accuracy")
    expect_equal(probe.training, False, name="accuracy を呼んだあとの model.training", attribute="training",
                 hint=hints.EVAL_MODE)


def test_accuracy_builds_no_graph(sub, gen):
    probe = Probe(tiny_classifier(_seed(gen)))
    sub.accuracy(probe, _xor_loader(gen))
    expect_no_graph(probe, "accuracy")


def test_accuracy_drop_last_counts_what_the_loader_yields(sub, gen):
    """drop_last=True: the short last batch never comes out of the loader, so it counts neither as right nor in the
    total (the total is what the loader gave, fewer than len(loader.dataset))."""
    batch_size = randint(gen, 3, 9)
    full, wrong, rest = randint(gen, 2, 6), randint(gen, 1, batch_size), randint(gen, 1, batch_size)
    kept, n = full * batch_size, full * batch_size + rest
    points, labels = xor_points(n, gen, std=0.05)
    labels[:wrong] = 1 - labels[:wrong]
    labels[kept:] = 1 - labels[kept:]
    loader = DataLoader(XorSet(points, labels), batch_size=batch_size, shuffle=False, drop_last=True)
    expect_scalar(sub.accuracy(XorRule(), loader), (kept - wrong) / kept,
                  name=f"accuracy (データ {n} 個、バッチサイズ {batch_size}、drop_last=True で出てくるのは {kept} 個、"
                       f"そのうち不正解 {wrong} 個)")


def test_accuracy_moves_batches_to_the_models_device(sub, ref, gen):
    model, loader = tiny_classifier(_seed(gen)), _xor_loader(gen)
    expected = ref.accuracy(copy.deepcopy(model), loader)
    probe = on_simulated_gpu(copy.deepcopy(model))
    acc = devices.call_simulated(sub.accuracy, probe, loader)
    expect_inputs_on(probe, "cuda:0", "accuracy")
    expect_scalar(acc, expected, name="accuracy (GPU 上のモデル)")


# -- decision_grid -----------------------------------------------------------------------------------------------

def _expected_grid(step: float) -> torch.Tensor:
    """The closed form: N = ceil(2 / step) points -0.5 + i * step; grid[i, j] = (v[i], v[j])."""
    n = math.ceil((1.5 - (-0.5)) / step)
    v = (-0.5 + step * torch.arange(n, dtype=torch.float64)).to(torch.float32)
    return torch.stack([v[:, None].expand(n, n), v[None, :].expand(n, n)], dim=-1)


def test_decision_grid_default_shape(sub):
    expect_tensor(sub.decision_grid(), torch.empty(200, 200, 2), name="decision_grid()", values=False)


def test_decision_grid_source_points(sub):
    """grid[i, j] == (x1[i], x2[j]): grid[0, 1] is (-0.5, -0.49) with indexing='ij'."""
    grid = sub.decision_grid()
    expect_tensor(grid, torch.empty(200, 200, 2), name="decision_grid()", values=False)
    for (i, j), point in (((0, 1), [-0.5, -0.49]), ((1, 0), [-0.49, -0.5]), ((-1, -1), [1.49, 1.49])):
        expect_tensor(grid[i, j], torch.tensor(point), name=f"decision_grid()[{i}, {j}]", rtol=0, atol=1e-6)


def test_decision_grid_default_values(sub):
    expect_tensor(sub.decision_grid(), _expected_grid(0.01), name="decision_grid()", rtol=0, atol=1e-6)


def test_decision_grid_other_steps(sub, ref, gen):
    for by_keyword in (False, True):
        step = randint(gen, 4, 60) / 100
        actual = sub.decision_grid(step=step) if by_keyword else sub.decision_grid(step)
        expect_tensor(actual, _expected_grid(step), name=f"decision_grid({step})", rtol=0, atol=1e-6)
        expect_tensor(actual, ref.decision_grid(step), name=f"decision_grid({step})")


# -- predict_grid ------------------------------------------------------------------------------------------------

def _grid(gen: torch.Generator) -> torch.Tensor:
    return torch.rand(randint(gen, 1, 12), randint(gen, 1, 12), 2, generator=gen) * 2 - 0.5


def test_predict_grid_matches_reference(sub, ref, gen):
    model, grid = tiny_classifier(_seed(gen)), _grid(gen)
    expected = ref.predict_grid(copy.deepcopy(model), grid.clone())
    expect_tensor(sub.predict_grid(model, grid), expected, name="predict_grid(model, grid)", requires_grad=False)


def test_predict_grid_probabilities_closed_form(sub, gen):
    """With logit = grid[..., 0] the probability is 1 / (1 + exp(-grid[..., 0]))."""
    h, w = randint(gen, 1, 10), randint(gen, 1, 10)
    grid = torch.randn(h, w, 2, generator=gen, dtype=torch.float64) * 3
    expected = (1 / (1 + torch.exp(-grid[..., :1]))).to(torch.float32)
    expect_tensor(sub.predict_grid(first_coordinate_model(), grid.to(torch.float32)), expected,
                  name="predict_grid(model, grid)", requires_grad=False)


def test_predict_grid_between_zero_and_one(sub, gen):
    h, w = randint(gen, 2, 10), randint(gen, 1, 10)
    first = _uniform(gen, h * w, -4.0, 4.0)
    first[:2] = torch.tensor([-3.0, 3.0])  # logits outside [0, 1] on both sides
    grid = _inputs_with_first_coordinate(gen, first[torch.randperm(h * w, generator=gen)]).view(h, w, 2)
    probs = sub.predict_grid(first_coordinate_model(), grid)
    expect_type(probs, torch.Tensor, name="predict_grid の戻り値")
    low, high = (float(probs.min()), float(probs.max())) if probs.numel() else (0.0, 0.0)
    expect(low >= 0.0 and high <= 1.0, "range", messages.NOT_IN_UNIT_INTERVAL, LOGITS_NOT_PROBS,
           name="predict_grid の戻り値", actual=f"最小 {low:.4g}、最大 {high:.4g}")


def test_predict_grid_builds_no_graph(sub, gen):
    probe, grid = Probe(tiny_classifier(_seed(gen))), _grid(gen)
    probs = sub.predict_grid(probe, grid)
    expect_no_graph(probe, "predict_grid")
    expect_tensor(probs, torch.empty(*grid.shape[:-1], 1), name="predict_grid の戻り値", requires_grad=False,
                  values=False)


def test_predict_grid_uses_eval_mode(sub, gen):
    """The prompt: eval mode for the call, and still eval mode afterwards (a model left in training mode first)."""
    probe = Probe(tiny_classifier(_seed(gen))).train()
    sub.predict_grid(probe, _grid(gen))
    expect_eval_mode(probe, "predict_grid")
    expect_equal(probe.training, False, name="predict_grid を呼んだあとの model.training", attribute="training",
                 hint=hints.EVAL_MODE)


def test_predict_grid_on_the_models_device(sub, ref, gen):
    """The model on a (simulated) GPU, the grid on the CPU: the grid goes to the model's device."""
    model, grid = tiny_classifier(_seed(gen)), _grid(gen)
    expected = ref.predict_grid(copy.deepcopy(model), grid.clone())
    probe = on_simulated_gpu(copy.deepcopy(model))
    probs = devices.call_simulated(sub.predict_grid, probe, grid)
    expect_inputs_on(probe, "cuda:0", "predict_grid")
    expect_tensor(probs, SimulatedCudaTensor.wrap(expected), name="predict_grid(GPU 上のモデル, CPU 上の grid)",
                  requires_grad=False)


# -- confusion_counts ------------------------------------------------------------------------------------------------

CONFUSION_RULE = "Python のループと内包表記"
CONFUSION_TRANSPOSED = ("行と列が入れ替わっていませんか？ counts[t, p] の行 t が正解、列 p が予測です "
                        "(番号は 2 * 正解 + 予測)。")
CONFUSION_SHAPE = ("どちらかのクラスが一度も出てこないと、番号の最大値が 3 より小さくなり、数えた結果が 4 個に足りません。"
                   "torch.bincount の minlength で、必ず 4 つの番号を数えるようにしましょう。")


def _confusion_closed_form(labels, preds):
    counts = torch.zeros(2, 2, dtype=torch.int64)
    for t in (0, 1):
        for p in (0, 1):
            counts[t, p] = int(((labels == t) & (preds == p)).sum())
    return counts


def _expect_confusion(out, expected, name):
    if isinstance(out, torch.Tensor) and out.dim() == 1 and out.numel() < 4:
        fail("shape", messages.SHAPE, CONFUSION_SHAPE, name=name, expected="(2, 2)", actual=tuple(out.shape))
    try:
        expect_tensor(out, expected, name=name)
    except Mismatch as m:
        transposed = out.shape == expected.shape and torch.equal(out.cpu().T, expected.cpu())
        raise Mismatch(m.attribute, m.message, CONFUSION_TRANSPOSED if transposed else m.hint) from None


def _confusion_case(gen, n=None):
    """Logits near the threshold (first-coordinate model) and labels with a different number of false positives and
    false negatives (so that the transpose differs): the labels agree with the predictions except for ``a`` of the
    predicted 1s and ``b`` of the predicted 0s (a != b)."""
    logits = _logits_near_threshold(gen, n or randint(gen, 8, 17))  # at least two of each prediction
    preds = (logits >= 0).long()
    positives, negatives = (preds == 1).nonzero().flatten(), (preds == 0).nonzero().flatten()
    a = randint(gen, 0, len(positives) + 1)
    b = choice(gen, [k for k in range(len(negatives) + 1) if k != a])
    labels = preds.clone()
    labels[positives[torch.randperm(len(positives), generator=gen)[:a]]] = 0
    labels[negatives[torch.randperm(len(negatives), generator=gen)[:b]]] = 1
    return _inputs_with_first_coordinate(gen, logits), labels, preds


def test_confusion_counts_source_without_loops(sub, gen):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "confusion_counts", CONFUSION_RULE, loops=True)
    x, labels, _ = _confusion_case(gen)
    sub.confusion_counts(first_coordinate_model(), x, labels)  # an untouched stub reads 未着手


def test_confusion_counts_rows_are_labels(sub, gen):
    """counts[t, p]: rows are the true labels, columns the predictions (a case where FP != FN)."""
    x, labels, preds = _confusion_case(gen)
    _expect_confusion(sub.confusion_counts(first_coordinate_model(), x, labels), _confusion_closed_form(labels, preds),
                      "confusion_counts(model, x, labels)")


def test_confusion_counts_one_class_only(sub, gen):
    """Every prediction 0 and every label 0 (one code only): still a [2, 2] matrix, and B = 1 too."""
    for n in (randint(gen, 2, 10), 1):
        x = torch.randn(n, 2, generator=gen)
        labels = torch.zeros(n, dtype=torch.int64)
        _expect_confusion(sub.confusion_counts(constant_model(-3.0), x, labels), torch.tensor([[n, 0], [0, 0]]),
                          f"confusion_counts (B = {n}、正解も予測もすべて 0)")


def test_confusion_counts_threshold_at_probability_half(sub, gen):
    """A probability of exactly 0.5 (logit 0) predicts 1."""
    logits = torch.tensor([0.0, -0.25, 0.25, 0.0])
    labels = torch.tensor([1, 0, 1, 0])
    x = _inputs_with_first_coordinate(gen, logits)
    _expect_confusion(sub.confusion_counts(first_coordinate_model(), x, labels), torch.tensor([[1, 1], [0, 2]]),
                      "confusion_counts (ロジット 0 = 確率 0.5 を含む)")


def test_confusion_counts_builds_no_graph(sub, gen):
    probe = Probe(tiny_classifier(_seed(gen)))
    x, labels = xor_points(randint(gen, 2, 20), gen)
    sub.confusion_counts(probe, x, labels)
    expect_no_graph(probe, "confusion_counts")


def test_confusion_counts_uses_eval_mode(sub, gen):
    probe = Probe(tiny_classifier(_seed(gen))).train()
    x, labels = xor_points(randint(gen, 2, 20), gen)
    sub.confusion_counts(probe, x, labels)
    expect_eval_mode(probe, "confusion_counts")
    expect_equal(probe.training, False, name="confusion_counts を呼んだあとの model.training", attribute="training",
                 hint=hints.EVAL_MODE)


def test_confusion_counts_on_the_models_device(sub, ref, gen):
    """The model on a (simulated) GPU, x and labels on the CPU: both go to the model's device, and so do the counts."""
    model = tiny_classifier(_seed(gen))
    x, labels = xor_points(randint(gen, 2, 30), gen)
    expected = ref.confusion_counts(copy.deepcopy(model), x.clone(), labels.clone())
    probe = on_simulated_gpu(copy.deepcopy(model))
    out = devices.call_simulated(sub.confusion_counts, probe, x, labels)
    expect_inputs_on(probe, "cuda:0", "confusion_counts")
    expect_tensor(out, SimulatedCudaTensor.wrap(expected), name="confusion_counts(GPU 上のモデル, CPU 上の x, labels)")


def test_confusion_counts_matches_reference(sub, ref, gen):
    model = tiny_classifier(_seed(gen))
    x, labels = xor_points(randint(gen, 2, 40), gen)
    expected = ref.confusion_counts(copy.deepcopy(model), x.clone(), labels.clone())
    _expect_confusion(sub.confusion_counts(model, x, labels), expected, "confusion_counts(model, x, labels)")
