"""Wrong answers for chapter 12."""
import numpy as np
import torch

from kata.api.mutants import mutant

# -- predict_labels ----------------------------------------------------------------------------------------------

@mutant("12", "predict_labels", expect="値が違います")
def thresholds_logits_at_half(model, x):
    with torch.no_grad():
        return (model(x).squeeze(1) >= 0.5).long()


@mutant("12", "predict_labels", expect="値が違います")
def strictly_greater_than_half(model, x):
    with torch.no_grad():
        return (torch.sigmoid(model(x)).squeeze(1) > 0.5).long()


@mutant("12", "predict_labels", expect="データ型")
def float_labels(model, x):
    with torch.no_grad():
        return (torch.sigmoid(model(x)).squeeze(1) >= 0.5).float()


@mutant("12", "predict_labels", expect="データ型")
def bool_labels(model, x):
    with torch.no_grad():
        return torch.sigmoid(model(x)).squeeze(1) >= 0.5


@mutant("12", "predict_labels", expect="形状")
def not_squeezed(model, x):
    with torch.no_grad():
        return (torch.sigmoid(model(x)) >= 0.5).long()


@mutant("12", "predict_labels", expect="形状")
def squeezes_every_dim(model, x):
    with torch.no_grad():
        return (torch.sigmoid(model(x)).squeeze() >= 0.5).long()


@mutant("12", "predict_labels", expect="勾配の記録")
def forgot_no_grad(model, x):
    return (torch.sigmoid(model(x)).squeeze(1) >= 0.5).long()


@mutant("12", "predict_labels", expect="値が違います")
def argmax_of_one_column(model, x):
    with torch.no_grad():
        return model(x).argmax(dim=1)


@mutant("12", "predict_labels", expect="値が違います")
def rounds_the_probability(model, x):
    # torch.round rounds 0.5 to the even number 0: the boundary point becomes class 0.
    with torch.no_grad():
        return torch.round(torch.sigmoid(model(x)).squeeze(1)).long()


@mutant("12", "predict_labels", expect=("形状", "squeeze(dim=...)"))
def squeezes_without_a_dim(model, x):
    with torch.no_grad():
        return (torch.sigmoid(model(x)).squeeze() >= 0.5).long()


# -- accuracy ----------------------------------------------------------------------------------------------------

def _labels(model, inputs):
    return (torch.sigmoid(model(inputs).squeeze(1)) >= 0.5).long()


@mutant("12", "accuracy", expect=("学習モード", "model.eval()"))
def forgot_eval(model, loader):
    correct, total = 0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            correct += int((_labels(model, inputs) == labels).sum())
            total += len(labels)
    return correct / total


@mutant("12", "accuracy", expect="model.training")
def back_to_train_mode(model, loader):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            correct += int((_labels(model, inputs) == labels).sum())
            total += len(labels)
    model.train()
    return correct / total


@mutant("12", "accuracy", expect="勾配の記録")
def forgot_no_grad(model, loader):
    model.eval()
    correct, total = 0, 0
    for inputs, labels in loader:
        correct += int((_labels(model, inputs) == labels).sum())
        total += len(labels)
    return correct / total


@mutant("12", "accuracy", expect="型が違います")
def returns_tensor(model, loader):
    # The tutorial's own eval_model: true_preds is a tensor, so the ratio is a 0-dim tensor.
    model.eval()
    true_preds, num_preds = 0.0, 0.0
    with torch.no_grad():
        for inputs, labels in loader:
            true_preds += (_labels(model, inputs) == labels).sum()
            num_preds += labels.shape[0]
    return true_preds / num_preds


@mutant("12", "accuracy", expect="値が違います")
def mean_of_batch_accuracies(model, loader):
    model.eval()
    rates = []
    with torch.no_grad():
        for inputs, labels in loader:
            rates.append(float((_labels(model, inputs) == labels).float().mean()))
    return sum(rates) / len(rates)


@mutant("12", "accuracy", expect="範囲を外れた")
def percentage(model, loader):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            correct += int((_labels(model, inputs) == labels).sum())
            total += len(labels)
    return 100.0 * correct / total


@mutant("12", "accuracy", expect="値が違います")
def thresholds_logits_at_half(model, loader):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            preds = (model(inputs).squeeze(1) >= 0.5).long()
            correct += int((preds == labels).sum())
            total += len(labels)
    return correct / total


@mutant("12", "accuracy", expect="値が違います")
def compares_unsqueezed_predictions(model, loader):
    # [B, 1] == [B] broadcasts to [B, B]: B * B comparisons instead of B.
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            preds = (torch.sigmoid(model(inputs)) >= 0.5).long()
            correct += int((preds == labels).sum())
            total += len(labels)
    return correct / total


@mutant("12", "accuracy", expect="値が違います")
def divides_by_batches_times_batch_size(model, loader):
    model.eval()
    correct, batches = 0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            correct += int((_labels(model, inputs) == labels).sum())
            batches += 1
    return correct / (batches * loader.batch_size)


# -- decision_grid -----------------------------------------------------------------------------------------------

@mutant("12", "decision_grid", expect="値が違います")
def xy_indexing(step=0.01):
    x = torch.arange(-0.5, 1.5, step)
    xx1, xx2 = torch.meshgrid(x, x, indexing="xy")
    return torch.stack([xx1, xx2], dim=-1)


@mutant("12", "decision_grid", expect="値が違います")
def linspace_includes_the_end(step=0.01):
    x = torch.linspace(-0.5, 1.5, round(2 / step))
    xx1, xx2 = torch.meshgrid(x, x, indexing="ij")
    return torch.stack([xx1, xx2], dim=-1)


@mutant("12", "decision_grid", expect="形状")
def one_step_past_the_end(step=0.01):
    x = torch.arange(-0.5, 1.5 + step, step)
    xx1, xx2 = torch.meshgrid(x, x, indexing="ij")
    return torch.stack([xx1, xx2], dim=-1)


@mutant("12", "decision_grid", expect="値が違います")
def unit_square(step=0.01):
    x = torch.arange(0.0, 2.0, step)
    xx1, xx2 = torch.meshgrid(x, x, indexing="ij")
    return torch.stack([xx1, xx2], dim=-1)


@mutant("12", "decision_grid", expect="形状")
def stacked_on_first_dim(step=0.01):
    x = torch.arange(-0.5, 1.5, step)
    xx1, xx2 = torch.meshgrid(x, x, indexing="ij")
    return torch.stack([xx1, xx2], dim=0)


@mutant("12", "decision_grid", expect="形状")
def ignores_step(step=0.01):
    x = torch.arange(-0.5, 1.5, 0.01)
    xx1, xx2 = torch.meshgrid(x, x, indexing="ij")
    return torch.stack([xx1, xx2], dim=-1)


@mutant("12", "decision_grid", expect="データ型")
def float64_from_numpy(step=0.01):
    x = np.arange(-0.5, 1.5, step)
    xx1, xx2 = np.meshgrid(x, x, indexing="ij")
    return torch.from_numpy(np.stack([xx1, xx2], axis=-1))


@mutant("12", "decision_grid", expect="形状")
def flattened_points(step=0.01):
    x = torch.arange(-0.5, 1.5, step)
    return torch.cartesian_prod(x, x)


@mutant("12", "decision_grid", expect=("値が違います", "indexing='xy'"))
def meshgrid_xy(step=0.01):
    x1 = torch.arange(-0.5, 1.5, step)
    xx1, xx2 = torch.meshgrid(x1, x1, indexing="xy")
    return torch.stack([xx1, xx2], dim=-1)


@mutant("12", "predict_labels", expect="学習モード")
def never_switches_to_eval(model, x):
    with torch.no_grad():
        return (torch.sigmoid(model(x)).squeeze(1) >= 0.5).long()


@mutant("12", "predict_labels", expect="model.training")
def puts_training_mode_back(model, x):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = (torch.sigmoid(model(x)).squeeze(1) >= 0.5).long()
    model.train(was_training)
    return out


# -- predict_grid ------------------------------------------------------------------------------------------------

@mutant("12", "predict_grid", expect="学習モード")
def grid_never_switches_to_eval(model, grid):
    with torch.no_grad():
        return torch.sigmoid(model(grid.to(next(model.parameters()).device)))


@mutant("12", "predict_grid", expect="model.training")
def grid_puts_training_mode_back(model, grid):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = torch.sigmoid(model(grid.to(next(model.parameters()).device)))
    model.train(was_training)
    return out


@mutant("12", "predict_grid", expect="範囲を外れた")
def returns_logits(model, grid):
    with torch.no_grad():
        return model(grid)


@mutant("12", "predict_grid", expect="値が違います")
def probability_of_class_0(model, grid):
    with torch.no_grad():
        return 1 - torch.sigmoid(model(grid))


@mutant("12", "predict_grid", expect="形状")
def squeezed_last_dim(model, grid):
    with torch.no_grad():
        return torch.sigmoid(model(grid)).squeeze(-1)


@mutant("12", "predict_grid", expect="勾配の記録")
def forgot_no_grad(model, grid):
    return torch.sigmoid(model(grid))


@mutant("12", "predict_grid", expect="データ型")
def labels_instead_of_probabilities(model, grid):
    with torch.no_grad():
        return (torch.sigmoid(model(grid)) >= 0.5).long()


@mutant("12", "predict_grid", expect="値が違います")
def softmax_over_one_class(model, grid):
    # softmax over a single logit is always 1.
    with torch.no_grad():
        return torch.softmax(model(grid), dim=-1)


@mutant("12", "predict_grid", expect="勾配の記録")
def detaches_instead_of_no_grad(model, grid):
    # The result looks graph-free, but the forward still recorded one.
    return torch.sigmoid(model(grid)).detach()


@mutant("12", "predict_labels", expect=("例外", "別々のデバイス"))
def x_left_on_the_cpu(model, x):
    """Right while the model is on the CPU."""
    model.eval()
    with torch.no_grad():
        return (torch.sigmoid(model(x)).squeeze(dim=1) >= 0.5).long()


@mutant("12", "predict_labels", expect="デバイス")
def labels_brought_back_to_the_cpu(model, x):
    """The prompt asks for the labels on the model's device."""
    model.eval()
    with torch.no_grad():
        return (torch.sigmoid(model(x.to(next(model.parameters()).device))).squeeze(dim=1) >= 0.5).long().cpu()


@mutant("12", "accuracy", expect="値が違います")
def divides_by_the_dataset_size(model, loader):
    """Right while the loader yields every sample; with drop_last=True it yields fewer."""
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    with torch.no_grad():
        for inputs, labels in loader:
            inputs, labels = inputs.to(device), labels.to(device)
            correct += int(((torch.sigmoid(model(inputs).squeeze(dim=1)) >= 0.5).long() == labels).sum())
    return correct / len(loader.dataset)


@mutant("12", "accuracy", expect=("例外", "別々のデバイス"))
def batches_left_on_the_cpu(model, loader):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            correct += int(((torch.sigmoid(model(inputs).squeeze(dim=1)) >= 0.5).long() == labels).sum())
            total += len(labels)
    return correct / total


@mutant("12", "predict_grid", expect=("例外", "別々のデバイス"))
def grid_left_on_the_cpu(model, grid):
    model.eval()
    with torch.no_grad():
        return torch.sigmoid(model(grid))


# -- confusion_counts ----------------------------------------------------------------------------------------------

def _predictions(model, x):
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        return (torch.sigmoid(model(x.to(device)).squeeze(dim=1)) >= 0.5).long()


@mutant("12", "confusion_counts", expect=("ループ", "for"))
def confusion_counted_in_a_loop(model, x, labels):
    preds = _predictions(model, x)
    counts = torch.zeros(2, 2, dtype=torch.int64, device=preds.device)
    for t, p in zip(labels.to(preds.device), preds):
        counts[t, p] += 1
    return counts


@mutant("12", "confusion_counts", expect=("例外", "[2, 2]"))
def confusion_without_minlength(model, x, labels):
    preds = _predictions(model, x)
    return torch.bincount(2 * labels.to(preds.device) + preds).reshape(2, 2)


@mutant("12", "confusion_counts", expect=("形状", "minlength"))
def confusion_left_flat_without_minlength(model, x, labels):
    preds = _predictions(model, x)
    return torch.bincount(2 * labels.to(preds.device) + preds)


@mutant("12", "confusion_counts", expect=("値が違います", "入れ替わって"))
def confusion_rows_are_predictions(model, x, labels):
    preds = _predictions(model, x)
    return torch.bincount(2 * preds + labels.to(preds.device), minlength=4).reshape(2, 2)


@mutant("12", "confusion_counts", expect="値が違います")
def confusion_thresholds_the_logit_at_half(model, x, labels):
    model.eval()
    with torch.no_grad():
        preds = (model(x).squeeze(dim=1) >= 0.5).long()
    return torch.bincount(2 * labels + preds, minlength=4).reshape(2, 2)


@mutant("12", "confusion_counts", expect="勾配")
def confusion_with_a_graph(model, x, labels):
    model.eval()
    preds = (torch.sigmoid(model(x).squeeze(dim=1)) >= 0.5).long()
    return torch.bincount(2 * labels + preds, minlength=4).reshape(2, 2)


@mutant("12", "confusion_counts", expect="学習モード")
def confusion_in_training_mode(model, x, labels):
    with torch.no_grad():
        preds = (torch.sigmoid(model(x).squeeze(dim=1)) >= 0.5).long()
    return torch.bincount(2 * labels + preds, minlength=4).reshape(2, 2)


@mutant("12", "confusion_counts", expect="cuda")
def confusion_labels_left_on_the_cpu(model, x, labels):
    preds = _predictions(model, x)
    return torch.bincount(2 * labels + preds.cpu(), minlength=4).reshape(2, 2)
