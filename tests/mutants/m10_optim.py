"""Wrong answers for chapter 10 (the BCE loss, the SGD optimiser, one training step)."""
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.functional import binary_cross_entropy_with_logits as stable_loss

from kata.api.mutants import mutant

# -- bce_with_logits ---------------------------------------------------------------------------------------------

@mutant("10", "bce_with_logits", expect="値が違います")
def sums_instead_of_mean(logits, targets):
    return nn.BCEWithLogitsLoss(reduction="sum")(logits, targets)


@mutant("10", "bce_with_logits", expect="値が違います")
def applies_sigmoid_first(logits, targets):
    return nn.BCEWithLogitsLoss()(torch.sigmoid(logits), targets)


@mutant("10", "bce_with_logits", expect="型が違います")
def returns_python_float(logits, targets):
    return nn.BCEWithLogitsLoss()(logits, targets).item()


@mutant("10", "bce_with_logits", expect="例外")
def bce_loss_on_logits(logits, targets):
    return nn.BCELoss()(logits, targets)


@mutant("10", "bce_with_logits", expect="値が違います")
def swaps_arguments(logits, targets):
    return nn.BCEWithLogitsLoss()(targets, logits)


# -- bce_manual --------------------------------------------------------------------------------------------------

@mutant("10", "bce_manual", expect="値が違います")
def sum_divided_by_len(logits, targets):
    per_element = logits.clamp(min=0) - logits * targets + torch.log1p(torch.exp(-logits.abs()))
    return per_element.sum() / len(logits)


@mutant("10", "bce_manual", expect="書き換え")
def clamps_logits_in_place(logits, targets):
    positive = logits.detach().clamp_(min=0) if not logits.requires_grad else logits.clamp(min=0)
    return (positive - logits * targets + torch.log1p(torch.exp(-logits.abs()))).mean()


@mutant("10", "bce_manual", expect=("使えません", "binary_cross_entropy_with_logits"))
def uses_the_builtin(logits, targets):
    return nn.BCEWithLogitsLoss()(logits, targets)


@mutant("10", "bce_manual", expect=("使えません", "binary_cross_entropy"))
def bce_of_sigmoid(logits, targets):
    return F.binary_cross_entropy(torch.sigmoid(logits), targets)


@mutant("10", "bce_manual", expect="nan または inf")
def log_of_sigmoid(logits, targets):
    p = torch.sigmoid(logits)
    return (-(targets * torch.log(p) + (1 - targets) * torch.log(1 - p))).mean()


@mutant("10", "bce_manual", expect="nan または inf")
def exp_of_positive_logits(logits, targets):
    return (torch.log(1 + torch.exp(logits)) - logits * targets).mean()


@mutant("10", "bce_manual", expect="値が違います")
def clamps_probabilities(logits, targets):
    p = torch.sigmoid(logits).clamp(1e-7, 1 - 1e-7)
    return (-(targets * torch.log(p) + (1 - targets) * torch.log(1 - p))).mean()


@mutant("10", "bce_manual", expect="値が違います")
def sums_instead_of_mean_by_hand(logits, targets):
    return (logits.clamp(min=0) - logits * targets + torch.log1p(torch.exp(-logits.abs()))).sum()


@mutant("10", "bce_manual", expect="grad_fn")
def computed_without_graph(logits, targets):
    with torch.no_grad():
        return (logits.clamp(min=0) - logits * targets + torch.log1p(torch.exp(-logits.abs()))).mean()


# -- make_sgd ----------------------------------------------------------------------------------------------------

@mutant("10", "make_sgd", expect="lr")
def hard_coded_learning_rate(model, lr):
    return torch.optim.SGD(model.parameters(), lr=0.1)


@mutant("10", "make_sgd", expect="含まれていません")
def first_parameter_only(model, lr):
    return torch.optim.SGD([next(model.parameters())], lr=lr)


@mutant("10", "make_sgd", expect="含まれていません")
def copies_of_the_parameters(model, lr):
    return torch.optim.SGD([p.detach().clone().requires_grad_() for p in model.parameters()], lr=lr)


@mutant("10", "make_sgd", expect="型が違います")
def adam_instead(model, lr):
    return torch.optim.Adam(model.parameters(), lr=lr)


@mutant("10", "make_sgd", expect="値が違います")
def with_momentum(model, lr):
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


@mutant("10", "make_sgd", expect="値が違います")
def with_weight_decay(model, lr):
    return torch.optim.SGD(model.parameters(), lr=lr, weight_decay=1e-2)


# -- train_step --------------------------------------------------------------------------------------------------

@mutant("10", "train_step", expect=("足し合わされ", "zero_grad"))
def forgets_zero_grad(model, optimizer, loss_fn, inputs, labels):
    loss = loss_fn(model(inputs).squeeze(dim=1), labels.float())
    loss.backward()
    optimizer.step()
    return loss.item()


@mutant("10", "train_step", expect=("足し合わされ", "zero_grad"))
def zero_grad_after_step(model, optimizer, loss_fn, inputs, labels):
    loss = loss_fn(model(inputs).squeeze(dim=1), labels.float())
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()


@mutant("10", "train_step", expect=("更新されていません", "step"))
def forgets_step(model, optimizer, loss_fn, inputs, labels):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs).squeeze(dim=1), labels.float())
    loss.backward()
    return loss.item()


@mutant("10", "train_step", expect=("型が違います", ".item()"))
def returns_tensor(model, optimizer, loss_fn, inputs, labels):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs).squeeze(dim=1), labels.float())
    loss.backward()
    optimizer.step()
    return loss


@mutant("10", "train_step", expect="値が違います")
def returns_loss_after_update(model, optimizer, loss_fn, inputs, labels):
    optimizer.zero_grad()
    loss_fn(model(inputs).squeeze(dim=1), labels.float()).backward()
    optimizer.step()
    with torch.no_grad():
        return loss_fn(model(inputs).squeeze(dim=1), labels.float()).item()


@mutant("10", "train_step", expect=("例外", "float"))
def int_labels(model, optimizer, loss_fn, inputs, labels):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs).squeeze(dim=1), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


@mutant("10", "train_step", expect=("例外", "squeeze(dim=1)"))
def squeezes_every_dim(model, optimizer, loss_fn, inputs, labels):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs).squeeze(), labels.float())
    loss.backward()
    optimizer.step()
    return loss.item()


@mutant("10", "bce_with_logits", expect="値が違います")
def sigmoid_then_bce(logits, targets):
    """Right for moderate logits; beyond about |x| = 17 sigma(x) is 0 or 1 in float32 and BCELoss clamps log(0)."""
    return torch.nn.BCELoss()(torch.sigmoid(logits), targets)


@mutant("10", "train_step", expect=("例外", "別々のデバイス"))
def batch_left_on_the_cpu(model, optimizer, loss_fn, inputs, labels):
    """Right while everything is on the CPU; with the model on a GPU the forward fails."""
    optimizer.zero_grad()
    loss = loss_fn(model(inputs).squeeze(dim=1), labels.float())
    loss.backward()
    optimizer.step()
    return loss.item()


@mutant("10", "train_step", expect=("入力のデバイス", "モデルのほうを CPU に移すのではありません"))
def model_moved_to_the_batch(model, optimizer, loss_fn, inputs, labels):
    model.to(inputs.device)
    optimizer.zero_grad()
    loss = loss_fn(model(inputs).squeeze(dim=1), labels.float())
    loss.backward()
    optimizer.step()
    return loss.item()


# Evasions of the rule read from the source text.

@mutant("10", "bce_manual", expect=("使えません", "stable_loss"))
def builtin_imported_under_another_name(logits, targets):
    return stable_loss(logits, targets)


@mutant("10", "bce_manual", expect=("使えません", "getattr"))
def builtin_looked_up_by_a_built_name(logits, targets):
    return getattr(F, "binary_cross_entropy" + "_with_logits")(logits, targets)


@mutant("10", "bce_manual", expect=("使えません", "nn.modules.loss.BCEWithLogitsLoss"))
def builtin_module_by_its_full_path(logits, targets):
    return nn.modules.loss.BCEWithLogitsLoss()(logits, targets)


# -- momentum_step_ ----------------------------------------------------------------------------------------------

@mutant("10", "momentum_step_", expect=("使えません", "torch.optim"))
def momentum_through_torch_sgd(params, velocities, lr, momentum):
    sgd = torch.optim.SGD(params, lr=lr, momentum=momentum)
    for p, v in zip(params, velocities):
        sgd.state[p]["momentum_buffer"] = v
    sgd.step()
    sgd.zero_grad()


@mutant("10", "momentum_step_", expect=("値が違います", "更新したあとの速度"))
def momentum_moves_by_the_old_velocity(params, velocities, lr, momentum):
    with torch.no_grad():
        for p, v in zip(params, velocities):
            p.sub_(lr * v)
            v.mul_(momentum).add_(p.grad)
            p.grad = None


@mutant("10", "momentum_step_", expect=("値が違います", "その場で"))
def momentum_rebinds_the_velocity(params, velocities, lr, momentum):
    with torch.no_grad():
        for p, v in zip(params, velocities):
            v = momentum * v + p.grad
            p.sub_(lr * v)
            p.grad = None


@mutant("10", "momentum_step_", expect=("バージョンカウンタ", ".data"))
def momentum_through_data(params, velocities, lr, momentum):
    for p, v in zip(params, velocities):
        v.mul_(momentum).add_(p.grad)
        p.data = p.data - lr * v
        p.grad = None


@mutant("10", "momentum_step_", expect=("勾配", "None"))
def momentum_keeps_the_grad(params, velocities, lr, momentum):
    with torch.no_grad():
        for p, v in zip(params, velocities):
            v.mul_(momentum).add_(p.grad)
            p.sub_(lr * v)


@mutant("10", "momentum_step_", expect="値が違います")
def momentum_with_dampening(params, velocities, lr, momentum):
    with torch.no_grad():
        for p, v in zip(params, velocities):
            v.mul_(momentum).add_((1 - momentum) * p.grad)
            p.sub_(lr * v)
            p.grad = None


@mutant("10", "momentum_step_", expect="値が違います")
def momentum_ignored(params, velocities, lr, momentum):
    with torch.no_grad():
        for p, v in zip(params, velocities):
            v.copy_(p.grad)
            p.sub_(lr * p.grad)
            p.grad = None
