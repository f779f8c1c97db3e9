"""Checks for chapter 10 (the BCE loss, the SGD optimiser, one training step).

The expected losses and gradients come from closed forms computed here in float64: the mean of
-(y log σ(x) + (1 - y) log σ(-x)) and its gradient (σ(x) - y) / n.  The expected parameters after a training step
come from ``torch.autograd.grad`` here, which never touches ``.grad``, so a forgotten ``zero_grad`` or ``step`` in
the learner's code shows as parameters that differ (and, for accumulated gradients, as parameters that match the
step with the old gradients added).
"""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from kata import messages
from kata.api import devices, hints, inputs
from kata.api.compare import (
    Mismatch,
    expect,
    expect_equal,
    expect_grad,
    expect_scalar,
    expect_tensor,
    expect_type,
    expect_unchanged,
    fail,
)
from kata.api.oprules import forbid
from kata.api.probe import cpu_parameters, expect_inputs_on, on_simulated_gpu
from kata.api.staticrules import forbid_in_source
from kata.api.xor import tiny_classifier, xor_points

# -- verdict templates only these checks use (str.format) --------------------------------------------------------------
PARAMS_NOT_IN_OPTIMIZER = "『{name}』にモデルのパラメータが {missing} / {total} 個含まれていません (含まれていないもの: {names})。"
FOREIGN_TENSORS_IN_OPTIMIZER = "『{name}』にモデルのパラメータではないテンソルが {count} 個含まれています。"

# -- hints only these checks use ---------------------------------------------------------------------------------------
BCE_STABLE = ("|x| が大きいと exp(x) は inf にあふれ、σ(x) は 0 や 1 ちょうどに丸められて log(0) = -inf になります。"
              "x ≥ 0 と x < 0 で分けて考え、exp の引数がいつも 0 以下 (exp(-|x|)) になるように式を変形できないでしょうか？")
OPTIMIZER_PARAMS = ("オプティマイザにはモデルのパラメータそのもの (model.parameters()) を渡しましょう。"
                    "一部だけや .clone() したコピーを渡すと、step() してもモデルは変わりません。")
DETACHED_LOSS = ("損失が計算グラフから切り離されています。.item() / .detach() / torch.no_grad() を使わず、"
                 "テンソルの演算だけで計算してテンソルのまま返しましょう。")

SOURCE_LOGITS = (0.0, 2.0, -1.0)
SOURCE_TARGETS = (0.0, 1.0, 1.0)
SOURCE_LOSS = 0.7111  # (log 2 + log(1 + e^-2) + log(1 + e)) / 3, as the UvA tutorial's numbers give it
PRINTED = dict(atol=5e-5, rtol=0)
BUILTIN_BCE_RULE = ("組み込みの BCE (F.binary_cross_entropy_with_logits / F.binary_cross_entropy / "
                    "nn.BCEWithLogitsLoss / nn.BCELoss)")
BUILTIN_BCE = (F.binary_cross_entropy_with_logits, F.binary_cross_entropy, torch.binary_cross_entropy_with_logits,
               torch._C._nn.binary_cross_entropy)
#: What the source text of bce_manual may not name (read, never run: counts in kata grade); the loss modules too.
BUILTIN_BCE_IN_SOURCE = (*BUILTIN_BCE, nn.BCEWithLogitsLoss, nn.BCELoss)
SGD_SETTINGS = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")


# -- inputs ------------------------------------------------------------------------------------------------------

def _logits_targets(gen: torch.Generator, requires_grad: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Random logits (float32 or float64, maybe non-contiguous, none within 0.01 of 0) and 0/1 or soft targets."""
    shape = inputs.shape(gen, (1, 3), 1, 6)
    dtype = inputs.choice(gen, (torch.float32, torch.float64))
    logits = inputs.tensor(gen, shape, dtype, noncontiguous=inputs.randint(gen, 0, 2) == 1)
    logits.mul_(3)
    # The stable formula has kinks at exactly 0 whose one-sided gradients differ from σ(0) - y; stay off them.
    logits[logits.abs() < 0.01] = 0.5
    if inputs.randint(gen, 0, 2):
        targets = torch.randint(0, 2, shape, generator=gen).to(dtype)
    else:
        targets = torch.rand(shape, generator=gen, dtype=torch.float64).to(dtype)
    return logits.requires_grad_(requires_grad), targets


def _large_logits(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 logits with |x| up to 100, both signs with both targets, plus random large ones."""
    fixed = torch.tensor([100.0, 100.0, -100.0, -100.0, 60.0, -60.0, 30.0, -30.0])
    fixed_targets = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    n = inputs.randint(gen, 2, 8)
    sign = torch.randint(0, 2, (n,), generator=gen) * 2 - 1
    extra = sign * (15 + 85 * torch.rand(n, generator=gen))
    extra_targets = torch.randint(0, 2, (n,), generator=gen).float()
    order = torch.randperm(len(fixed) + n, generator=gen)
    return torch.cat([fixed, extra])[order], torch.cat([fixed_targets, extra_targets])[order]


def _closed_form(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The mean BCE from log-sigmoids in float64, in the logits' dtype."""
    x, y = logits.detach().double(), targets.double()
    return (-(y * F.logsigmoid(x) + (1 - y) * F.logsigmoid(-x))).mean().to(logits.dtype)


def _closed_form_grad(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    x, y = logits.detach().double(), targets.double()
    return ((torch.sigmoid(x) - y) / x.numel()).to(logits.dtype)


def _expect_loss_with_gradient(loss, logits: torch.Tensor, targets: torch.Tensor, name: str = "戻り値 (損失)"):
    """A 0-dim loss of the logits' dtype, attached to the graph, whose backward gives (σ(x) - y) / n."""
    __tracebackhide__ = True
    expect_tensor(loss, _closed_form(logits, targets), name=name, values=False)
    expect(loss.grad_fn is not None, "grad_fn", messages.GRAD_FN, DETACHED_LOSS, name=name,
           expected="MeanBackward0 などの関数", actual=None)
    loss.backward()
    expect_grad(logits.grad, _closed_form_grad(logits, targets), name="logits.grad")


# -- bce_with_logits ---------------------------------------------------------------------------------------------

def test_bce_with_logits_source_values(sub):
    """logits [0, 2, -1] with targets [0, 1, 1] give 0.7111."""
    loss = sub.bce_with_logits(torch.tensor(SOURCE_LOGITS), torch.tensor(SOURCE_TARGETS))
    expect_tensor(loss, torch.tensor(SOURCE_LOSS), **PRINTED)


def test_bce_with_logits_closed_form(sub, gen):
    """The mean of -(y log σ(x) + (1 - y) log σ(-x)) over every element, for any shape, dtype and soft targets."""
    logits, targets = _logits_targets(gen)
    expect_tensor(sub.bce_with_logits(logits, targets), _closed_form(logits, targets))


def test_bce_with_logits_gradient(sub, gen):
    """The loss stays in the graph and its gradient is (σ(x) - y) / n."""
    logits, targets = _logits_targets(gen, requires_grad=True)
    _expect_loss_with_gradient(sub.bce_with_logits(logits, targets), logits, targets)


def test_bce_with_logits_large_logits(sub, gen):
    """The prompt puts no bound on the logits: float32 logits up to |x| = 100 give the exact loss and gradient
    (sigmoid first and then a BCE on probabilities rounds sigma(x) to 0 or 1 there)."""
    logits, targets = _large_logits(gen)
    logits.requires_grad_()
    loss = sub.bce_with_logits(logits, targets)
    expect_tensor(loss, _closed_form(logits, targets), name="戻り値 (損失、|logits| ≤ 100 の float32)",
                  rtol=1e-5, atol=1e-5)
    _expect_loss_with_gradient(loss, logits, targets)


def test_bce_with_logits_matches_reference(sub, ref, gen, seed):
    logits, targets = _logits_targets(gen)
    actual, expected = inputs.call_both(sub.bce_with_logits, ref.bce_with_logits, logits, targets, seed=seed)
    expect_tensor(actual, expected)


# -- bce_manual --------------------------------------------------------------------------------------------------

def test_bce_manual_source_values(sub):
    loss = sub.bce_manual(torch.tensor(SOURCE_LOGITS), torch.tensor(SOURCE_TARGETS))
    expect_tensor(loss, torch.tensor(SOURCE_LOSS), **PRINTED)


def test_bce_manual_equals_builtin(sub, gen):
    logits, targets = _logits_targets(gen)
    expect_tensor(sub.bce_manual(logits, targets), F.binary_cross_entropy_with_logits(logits, targets))


def test_bce_manual_gradient(sub, gen):
    logits, targets = _logits_targets(gen, requires_grad=True)
    _expect_loss_with_gradient(sub.bce_manual(logits, targets), logits, targets)


def test_bce_manual_finite_for_large_logits(sub, gen):
    """float32 logits up to |x| = 100: the loss and its gradient are finite and equal the built-in's."""
    logits, targets = _large_logits(gen)
    logits.requires_grad_()
    loss = sub.bce_manual(logits, targets)
    expect_type(loss, torch.Tensor, "戻り値 (損失)")
    bad = int((~torch.isfinite(loss.detach())).sum())
    expect(bad == 0, "finite", messages.NOT_FINITE, BCE_STABLE, name="戻り値 (損失)", count=bad,
           total=loss.numel(), where="|logits| ≤ 100 の float32")
    expect_tensor(loss, F.binary_cross_entropy_with_logits(logits.detach(), targets), name="戻り値 (損失)",
                  rtol=1e-5, atol=1e-5)
    _expect_loss_with_gradient(loss, logits, targets)


def test_bce_manual_averages_over_every_element(sub, gen):
    """The mean of every element, whatever the number of dimensions: pinned to 2-D and 3-D inputs whose first
    dimension is not their number of elements (a sum divided by len(logits) passes on 1-D inputs only)."""
    for shape in ((inputs.randint(gen, 2, 5), inputs.randint(gen, 2, 5)),
                  (inputs.randint(gen, 2, 4), inputs.randint(gen, 2, 4), inputs.randint(gen, 2, 4))):
        logits = inputs.tensor(gen, shape, torch.float32) * 3
        targets = torch.randint(0, 2, shape, generator=gen).float()
        expect_tensor(sub.bce_manual(logits, targets), F.binary_cross_entropy_with_logits(logits, targets),
                      name=f"形状 {shape} の logits に対する bce_manual の戻り値")


def test_bce_manual_leaves_inputs_alone(sub, gen):
    """logits with negative and positive values (an in-place clamp or abs shows on them) and targets are unchanged."""
    logits, targets = _logits_targets(gen)
    while logits.numel() < 2:  # room for a negative and a positive logit
        logits, targets = _logits_targets(gen)
    first, last = (0,) * logits.dim(), tuple(size - 1 for size in logits.shape)
    logits[first] = -abs(float(logits[first])) - 1.0  # a negative logit and a positive one: pinned, not by chance
    logits[last] = abs(float(logits[last])) + 1.0
    logits_before, targets_before = logits.clone(), targets.clone()
    sub.bce_manual(logits, targets)
    expect_unchanged(logits, logits_before, "logits")
    expect_unchanged(targets, targets_before, "targets")


def test_bce_manual_source_without_builtin(sub, gen):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "bce_manual", BUILTIN_BCE_RULE, *BUILTIN_BCE_IN_SOURCE)
    sub.bce_manual(*_logits_targets(gen))  # an untouched stub reads 未着手


@pytest.mark.advisory
def test_bce_manual_without_builtin(sub, gen):
    logits, targets = _logits_targets(gen)
    with forbid(sub, BUILTIN_BCE_RULE, *BUILTIN_BCE):
        sub.bce_manual(logits, targets)


def test_bce_manual_matches_reference(sub, ref, gen, seed):
    logits, targets = _logits_targets(gen)
    actual, expected = inputs.call_both(sub.bce_manual, ref.bce_manual, logits, targets, seed=seed)
    expect_tensor(actual, expected)


# -- make_sgd ----------------------------------------------------------------------------------------------------

def _model(gen: torch.Generator) -> nn.Module:
    """The tiny XOR classifier or a deeper stack (5 or 6 parameters), initialised from the check's generator."""
    hidden = inputs.randint(gen, 2, 6)
    if inputs.randint(gen, 0, 2):
        return tiny_classifier(inputs.randint(gen, 0, 2**31 - 1), hidden)
    model = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    return model


def _lr(gen: torch.Generator) -> float:
    return round(float(10 ** (-3 * torch.rand((), generator=gen))), 6)  # in (0.001, 1]


def test_make_sgd_is_sgd(sub, gen):
    model = _model(gen)
    expect_type(sub.make_sgd(model, _lr(gen)), torch.optim.SGD)


def test_make_sgd_every_parameter(sub, gen):
    """Every parameter of the model, the very objects (by identity), and nothing else."""
    model = _model(gen)
    optimizer = sub.make_sgd(model, _lr(gen))
    expect_type(optimizer, torch.optim.SGD)
    given = {id(p) for group in optimizer.param_groups for p in group["params"]}
    named = list(model.named_parameters())
    missing = [n for n, p in named if id(p) not in given]
    expect(not missing, "params", PARAMS_NOT_IN_OPTIMIZER, OPTIMIZER_PARAMS, name="オプティマイザ",
           missing=len(missing), total=len(named), names=", ".join(missing))
    foreign = len(given - {id(p) for _, p in named})
    expect(not foreign, "params", FOREIGN_TENSORS_IN_OPTIMIZER, OPTIMIZER_PARAMS,
           name="オプティマイザ", count=foreign)


def test_make_sgd_learning_rate(sub, gen):
    model, lr = _model(gen), _lr(gen)
    optimizer = sub.make_sgd(model, lr)
    expect_type(optimizer, torch.optim.SGD)
    for i, group in enumerate(optimizer.param_groups):
        expect_scalar(group["lr"], lr, name=f"param_groups[{i}] の学習率 lr", type_=(float, int), rtol=1e-9, atol=0)


def test_make_sgd_plain_gradient_step(sub, gen):
    """Two step() calls with the same gradient g move every parameter by exactly -2 * lr * g."""
    model, lr = _model(gen), _lr(gen)
    optimizer = sub.make_sgd(model, lr)
    expect_type(optimizer, torch.optim.SGD)
    params = list(model.named_parameters())
    before = [p.detach().clone() for _, p in params]
    grads = [torch.randn(p.shape, generator=gen) for _, p in params]
    for _ in range(2):
        for (_, p), g in zip(params, grads):
            p.grad = g.clone()
        optimizer.step()
    expect(any(not torch.equal(p.detach(), b) for (_, p), b in zip(params, before)), "not_updated",
           messages.PARAMS_NOT_UPDATED, OPTIMIZER_PARAMS, name="optimizer.step()")
    for (name, p), b, g in zip(params, before, grads):
        expect_tensor(p.detach(), b - 2 * lr * g, name=f"step() 2 回のあとのパラメータ {name}")


def test_make_sgd_matches_reference(sub, ref, gen):
    """The same settings as the reference's plain SGD (no momentum, dampening, weight decay, nesterov, maximize)."""
    model, lr = _model(gen), _lr(gen)
    actual, expected = sub.make_sgd(model, lr), ref.make_sgd(model, lr)
    expect_type(actual, torch.optim.SGD)
    for i, group in enumerate(actual.param_groups):
        for key in SGD_SETTINGS:
            expect_equal(group.get(key), expected.param_groups[0][key], name=f"param_groups[{i}]['{key}']")


# -- train_step --------------------------------------------------------------------------------------------------

def _step_setup(gen: torch.Generator, batch: int | None = None):
    """A tiny XOR classifier, an SGD optimiser over it, a batch of XOR points and the loss module."""
    model = tiny_classifier(inputs.randint(gen, 0, 2**31 - 1), inputs.randint(gen, 2, 6))
    lr = inputs.choice(gen, (0.05, 0.1, 0.3, 0.5))
    x, y = xor_points(batch or inputs.randint(gen, 2, 17), gen)
    return model, torch.optim.SGD(model.parameters(), lr=lr), lr, x, y


def _expected_step(model: nn.Module, lr: float, x: torch.Tensor, y: torch.Tensor,
                   old_grads: list[torch.Tensor] | None = None) -> tuple[float, list[torch.Tensor]]:
    """(loss before the update, parameters after one plain SGD step), with ``old_grads`` added to the gradient."""
    params = list(model.parameters())
    loss = F.binary_cross_entropy_with_logits(model(x)[:, 0], y.to(torch.float32))
    grads = torch.autograd.grad(loss, params)
    if old_grads is not None:
        grads = [g + o for g, o in zip(grads, old_grads)]
    with torch.no_grad():
        return loss.item(), [p - lr * g for p, g in zip(params, grads)]


def _expected_two_steps(model, lr, batches, accumulate: bool) -> list[torch.Tensor]:
    """Parameters after two steps on a copy; ``accumulate`` keeps the first step's gradient in the second."""
    twin = copy.deepcopy(model)
    params = list(twin.parameters())
    (x1, y1), (x2, y2) = batches
    loss1 = F.binary_cross_entropy_with_logits(twin(x1)[:, 0], y1.float())
    g1 = torch.autograd.grad(loss1, params)
    with torch.no_grad():
        for p, g in zip(params, g1):
            p.sub_(lr * g)
    return _expected_step(twin, lr, x2, y2, old_grads=list(g1) if accumulate else None)[1]


def _all_close(actual: list[torch.Tensor], expected: list[torch.Tensor]) -> bool:
    return all(torch.allclose(a, e, rtol=1.3e-6, atol=1e-5) for a, e in zip(actual, expected))


def _expect_params(model: nn.Module, expected: list[torch.Tensor], before: list[torch.Tensor], what: str,
                   accumulated: list[torch.Tensor] | None = None) -> None:
    """Parameters after ``what``: updated at all, not with accumulated gradients, then equal to ``expected``."""
    __tracebackhide__ = True
    named = [(n, p.detach()) for n, p in model.named_parameters()]
    now = [p for _, p in named]
    if all(torch.equal(p, b) for p, b in zip(now, before)):
        fail("not_updated", messages.PARAMS_NOT_UPDATED, hints.STEP_MISSING, name=what)
    if accumulated is not None and not _all_close(now, expected) and _all_close(now, accumulated):
        fail("accumulated", messages.GRADS_ACCUMULATED, hints.ZERO_GRAD, name=what)
    for (n, p), e in zip(named, expected):
        expect_tensor(p, e, name=f"{what} のあとのパラメータ {n}")


def _snapshot(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_train_step_returns_float(sub, gen):
    model, optimizer, _, x, y = _step_setup(gen)
    expect_type(sub.train_step(model, optimizer, nn.BCEWithLogitsLoss(), x, y), float, "戻り値 (損失)")


def test_train_step_loss_before_update(sub, gen):
    """The returned loss is the one computed with the parameters as they were before the step."""
    model, optimizer, lr, x, y = _step_setup(gen)
    expected_loss, _ = _expected_step(model, lr, x, y)
    loss = sub.train_step(model, optimizer, nn.BCEWithLogitsLoss(), x, y)
    expect_scalar(loss, expected_loss, name="戻り値 (損失)")


def test_train_step_updates_parameters(sub, gen):
    """One call moves every parameter by -lr times the gradient of the loss on this batch."""
    model, optimizer, lr, x, y = _step_setup(gen)
    before = _snapshot(model)
    _, expected = _expected_step(model, lr, x, y)
    sub.train_step(model, optimizer, nn.BCEWithLogitsLoss(), x, y)
    _expect_params(model, expected, before, "train_step 1 回")


def test_train_step_two_calls_do_not_accumulate(sub, gen):
    """The second call uses only the second batch's gradient (the first one was cleared)."""
    model, optimizer, lr, x, y = _step_setup(gen)
    batches = [(x, y), xor_points(len(y), gen)]
    before = _snapshot(model)
    expected = _expected_two_steps(model, lr, batches, accumulate=False)
    accumulated = _expected_two_steps(model, lr, batches, accumulate=True)
    for bx, by in batches:
        sub.train_step(model, optimizer, nn.BCEWithLogitsLoss(), bx, by)
    _expect_params(model, expected, before, "train_step 2 回", accumulated)


def test_train_step_ignores_old_gradients(sub, gen):
    """Gradients left in .grad from earlier work (an evaluation's backward, say) must not enter the step."""
    model, optimizer, lr, x, y = _step_setup(gen)
    old = [torch.randn(p.shape, generator=gen) for p in model.parameters()]
    for p, g in zip(model.parameters(), old):
        p.grad = g.clone()
    before = _snapshot(model)
    _, expected = _expected_step(model, lr, x, y)
    _, accumulated = _expected_step(model, lr, x, y, old_grads=old)
    sub.train_step(model, optimizer, nn.BCEWithLogitsLoss(), x, y)
    _expect_params(model, expected, before, "古い勾配が残った状態での train_step", accumulated)


def test_train_step_batch_of_one(sub, gen):
    """A batch of one point (the last batch of a loader can be that small): output [1, 1] against labels [1]."""
    model, optimizer, lr, x, y = _step_setup(gen, batch=1)
    before = _snapshot(model)
    expected_loss, expected = _expected_step(model, lr, x, y)
    loss = sub.train_step(model, optimizer, nn.BCEWithLogitsLoss(), x, y)
    expect_scalar(loss, expected_loss, name="戻り値 (損失)")
    _expect_params(model, expected, before, "1 点だけのバッチでの train_step")


def test_train_step_matches_reference_after_two_calls(sub, ref, gen):
    model, _, lr, x, y = _step_setup(gen)
    batches = [(x, y), xor_points(len(y), gen)]
    results = []
    for module in (ref, sub):
        twin = copy.deepcopy(model)
        optimizer = torch.optim.SGD(twin.parameters(), lr=lr)
        losses = [module.train_step(twin, optimizer, nn.BCEWithLogitsLoss(), bx, by) for bx, by in batches]
        results.append((twin, losses))
    (ref_model, ref_losses), (sub_model, sub_losses) = results
    for i, (a, e) in enumerate(zip(sub_losses, ref_losses)):
        expect_scalar(a, e, name=f"{i + 1} 回目の戻り値 (損失)")
    for (n, a), e in zip(sub_model.named_parameters(), ref_model.parameters()):
        expect_tensor(a.detach(), e.detach(), name=f"train_step 2 回のあとのパラメータ {n}")


def test_train_step_moves_the_batch_to_the_models_device(sub, gen):
    """The model on a (simulated) GPU, the batch on the CPU: inputs and labels go to the model's device, read from
    the model; the step itself is the same."""
    model, _, lr, x, y = _step_setup(gen)
    expected_loss, expected = _expected_step(model, lr, x, y)
    probe = on_simulated_gpu(copy.deepcopy(model))
    optimizer = torch.optim.SGD(probe.parameters(), lr=lr)
    loss = devices.call_simulated(sub.train_step, probe, optimizer, nn.BCEWithLogitsLoss(), x, y)
    expect_inputs_on(probe, "cuda:0", "train_step")
    expect_scalar(loss, expected_loss, name="戻り値 (損失、GPU 上のモデル)")
    for (name, p), e in zip(cpu_parameters(probe.inner), expected):
        expect_tensor(p, e, name=f"GPU 上のモデルでの train_step 1 回のあとのパラメータ {name}")


# -- momentum_step_ --------------------------------------------------------------------------------------------------

MOMENTUM_RULE = "torch.optim のクラスと関数"
MOMENTUM_FORBIDDEN = (torch.optim, torch.optim.SGD, torch.optim.Optimizer)
MOMENTUM_NOT_IN_PLACE = ("『{name}』がその場で更新されていません (バージョンカウンタ {name}._version が呼び出しの前後で "
                         "{version} のまま)。")
MOMENTUM_REBOUND = ("v = momentum * v + p.grad のように名前を付け直すと、新しいテンソルができるだけで、リストの中の速度は"
                    "変わりません。v.mul_(momentum).add_(p.grad) のように、その場で書き換えましょう。")
MOMENTUM_DATA = ("p.data を書き換えていませんか？ .data 経由の変更は autograd から見えません (バージョンカウンタが進みません)。"
                 "with torch.no_grad(): の中で p そのものをその場で更新しましょう (p.sub_(...) や p -= ...)。")
MOMENTUM_ORDER = ("p を動かすのは、更新したあとの速度 (momentum * v + p.grad) です。速度を先に更新してから "
                  "p ← p - lr * v としましょう。")
MOMENTUM_GRAD_LEFT = "更新のあと p.grad が残っています。zero_grad() と同じく p.grad = None にしましょう。"


def _momentum_case(gen, zero_velocity=False):
    """(params with grads, velocities, lr, momentum): 1-3 float tensors of random shapes and dtype."""
    dtype = inputs.choice(gen, (torch.float32, torch.float64))
    shapes = [inputs.shape(gen, (1, 3), 1, 5) for _ in range(inputs.randint(gen, 1, 4))]
    params, velocities = [], []
    for shape in shapes:
        p = inputs.tensor(gen, shape, dtype).requires_grad_()
        p.grad = inputs.tensor(gen, shape, dtype)
        params.append(p)
        velocities.append(torch.zeros(shape, dtype=dtype) if zero_velocity else inputs.tensor(gen, shape, dtype))
    lr = inputs.choice(gen, (0.01, 0.05, 0.1, 0.5))
    momentum = inputs.choice(gen, (0.5, 0.8, 0.9, 0.99))
    return params, velocities, lr, momentum


def _copy_params(params):
    out = []
    for p in params:
        q = p.detach().clone().requires_grad_()
        q.grad = p.grad.clone()
        out.append(q)
    return out


def test_momentum_step__source_without_torch_optim(sub, gen):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "momentum_step_", MOMENTUM_RULE, *MOMENTUM_FORBIDDEN)
    params, velocities, lr, momentum = _momentum_case(gen)
    sub.momentum_step_(params, velocities, lr, momentum)  # an untouched stub reads 未着手


def test_momentum_step__closed_form(sub, gen):
    """A non-zero velocity: v_new = momentum * v + g, p_new = p - lr * v_new, grads cleared, None returned."""
    params, velocities, lr, momentum = _momentum_case(gen)
    v_new = [momentum * v.double() + p.grad.double() for p, v in zip(params, velocities)]
    p_new = [p.detach().double() - lr * v for p, v in zip(params, v_new)]
    old_v = [v.clone() for v in velocities]
    old_p = [p.detach().double().clone() for p in params]
    out = sub.momentum_step_(params, velocities, lr, momentum)
    expect_type(out, type(None), "momentum_step_ の戻り値")
    for i, (p, v) in enumerate(zip(params, velocities)):
        hint = MOMENTUM_REBOUND if torch.equal(v, old_v[i]) else None
        try:
            expect_tensor(v, v_new[i].to(v.dtype), name=f"velocities[{i}]")
        except Mismatch as m:
            raise Mismatch(m.attribute, m.message, hint or m.hint) from None
        try:
            expect_tensor(p, p_new[i].to(p.dtype), name=f"更新後の params[{i}]", requires_grad=True, is_leaf=True)
        except Mismatch as m:
            # The premise of the order hint: p moved by the velocity it had before the call.
            order = m.attribute == "values" and torch.allclose(p.detach().double(), old_p[i] - lr * old_v[i].double())
            raise Mismatch(m.attribute, m.message, MOMENTUM_ORDER if order else m.hint) from None
        expect(p.grad is None, "grad", messages.GRAD_UNEXPECTED, MOMENTUM_GRAD_LEFT, name=f"params[{i}].grad")


def test_momentum_step__agrees_with_torch_sgd(sub, gen):
    """Three steps from zero velocities, each after a fresh gradient, against torch.optim.SGD's own momentum."""
    params, velocities, lr, momentum = _momentum_case(gen, zero_velocity=True)
    twins = _copy_params(params)
    sgd = torch.optim.SGD(twins, lr=lr, momentum=momentum)
    for step in range(3):
        if step:
            for p, q in zip(params, twins):
                g = inputs.tensor(gen, tuple(p.shape), p.dtype)
                p.grad, q.grad = g.clone(), g.clone()
        sgd.step()
        sgd.zero_grad()
        sub.momentum_step_(params, velocities, lr, momentum)
        for i, (p, q) in enumerate(zip(params, twins)):
            expect_tensor(velocities[i], sgd.state[q]["momentum_buffer"], name=f"{step + 1} 回目のあとの velocities[{i}]")
            expect_tensor(p, q.detach(), name=f"{step + 1} 回目のあとの params[{i}]", requires_grad=True, is_leaf=True)


def test_momentum_step__updates_in_place(sub, gen):
    """p and v themselves change (their version counters move); an update through .data does not show."""
    params, velocities, lr, momentum = _momentum_case(gen)
    before = [(p._version, v._version) for p, v in zip(params, velocities)]
    sub.momentum_step_(params, velocities, lr, momentum)
    for i, ((p, v), (pv, vv)) in enumerate(zip(zip(params, velocities), before)):
        expect(v._version > vv, "in_place", MOMENTUM_NOT_IN_PLACE, MOMENTUM_REBOUND, name=f"velocities[{i}]",
               version=vv)
        expect(p._version > pv, "in_place", MOMENTUM_NOT_IN_PLACE, MOMENTUM_DATA, name=f"params[{i}]", version=pv)


def test_momentum_step__matches_reference(sub, ref, gen):
    params, velocities, lr, momentum = _momentum_case(gen)
    twins, twin_v = _copy_params(params), [v.clone() for v in velocities]
    ref.momentum_step_(twins, twin_v, lr, momentum)
    sub.momentum_step_(params, velocities, lr, momentum)
    for i in range(len(params)):
        expect_tensor(velocities[i], twin_v[i], name=f"velocities[{i}]")
        expect_tensor(params[i], twins[i].detach(), name=f"更新後の params[{i}]", requires_grad=True, is_leaf=True)
