"""Wrong answers for chapter 11 (the training loop, saving and loading a state_dict, evaluating the loss)."""
import copy

import torch

from kata.api.mutants import mutant


def _step(model, optimizer, loss_fn, inputs, labels, zero=True, step=True):
    loss = loss_fn(model(inputs).squeeze(dim=1), labels.float())
    if zero:
        optimizer.zero_grad()
    loss.backward()
    if step:
        optimizer.step()
    return loss


# -- train_model -------------------------------------------------------------------------------------------------

@mutant("11", "train_model", expect=("要素数", "エポックごと"))
def per_batch_losses(model, optimizer, loader, loss_fn, num_epochs):
    model.train()
    losses = []
    for _ in range(num_epochs):
        for inputs, labels in loader:
            losses.append(_step(model, optimizer, loss_fn, inputs, labels).item())
    return losses


@mutant("11", "train_model", expect=("評価モード", "model.train()"))
def forgets_train_mode(model, optimizer, loader, loss_fn, num_epochs):
    losses = []
    for _ in range(num_epochs):
        total, count = 0.0, 0
        for inputs, labels in loader:
            total += _step(model, optimizer, loss_fn, inputs, labels).item() * len(labels)
            count += len(labels)
        losses.append(total / count)
    return losses


@mutant("11", "train_model", expect=("足し合わされ", "zero_grad"))
def forgets_zero_grad(model, optimizer, loader, loss_fn, num_epochs):
    model.train()
    losses = []
    for _ in range(num_epochs):
        total, count = 0.0, 0
        for inputs, labels in loader:
            total += _step(model, optimizer, loss_fn, inputs, labels, zero=False).item() * len(labels)
            count += len(labels)
        losses.append(total / count)
    return losses


@mutant("11", "train_model", expect=("更新されていません", "step"))
def forgets_step(model, optimizer, loader, loss_fn, num_epochs):
    model.train()
    losses = []
    for _ in range(num_epochs):
        total, count = 0.0, 0
        for inputs, labels in loader:
            total += _step(model, optimizer, loss_fn, inputs, labels, step=False).item() * len(labels)
            count += len(labels)
        losses.append(total / count)
    return losses


@mutant("11", "train_model", expect=("型が違います", ".item()"))
def tensor_losses(model, optimizer, loader, loss_fn, num_epochs):
    model.train()
    losses = []
    for _ in range(num_epochs):
        total, count = 0.0, 0
        for inputs, labels in loader:
            total = total + _step(model, optimizer, loss_fn, inputs, labels).detach() * len(labels)
            count += len(labels)
        losses.append(total / count)
    return losses


@mutant("11", "train_model", expect="値が違います")
def mean_of_batch_means(model, optimizer, loader, loss_fn, num_epochs):
    model.train()
    losses = []
    for _ in range(num_epochs):
        batch_losses = [_step(model, optimizer, loss_fn, inputs, labels).item() for inputs, labels in loader]
        losses.append(sum(batch_losses) / len(batch_losses))
    return losses


@mutant("11", "train_model", expect="値が違います")
def sum_of_batch_losses(model, optimizer, loader, loss_fn, num_epochs):
    model.train()
    return [sum(_step(model, optimizer, loss_fn, inputs, labels).item() for inputs, labels in loader)
            for _ in range(num_epochs)]


# -- save_state --------------------------------------------------------------------------------------------------

@mutant("11", "save_state", expect="weights_only")
def saves_whole_model(model, path):
    torch.save(model, path)


@mutant("11", "save_state", expect=("キー", "running_mean"))
def saves_parameters_only(model, path):
    torch.save({name: p.detach() for name, p in model.named_parameters()}, path)


@mutant("11", "save_state", expect=("キー", "state_dict"))
def nested_checkpoint(model, path):
    torch.save({"state_dict": model.state_dict()}, path)


@mutant("11", "save_state", expect="書き出されていません")
def writes_another_file(model, path):
    torch.save(model.state_dict(), str(path) + ".tmp")


@mutant("11", "save_state", expect="型が違います")
def saves_list_of_parameters(model, path):
    torch.save([p.detach() for p in model.parameters()], path)


# -- load_state --------------------------------------------------------------------------------------------------

@mutant("11", "load_state", expect="map_location")
def no_map_location(model, path):
    model.load_state_dict(torch.load(path, weights_only=True))
    return model


@mutant("11", "load_state", expect="そのもの")
def returns_the_state_dict(model, path):
    state_dict = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state_dict)
    return state_dict


@mutant("11", "load_state", expect="そのもの")
def returns_a_new_model(model, path):
    new_model = copy.deepcopy(model)
    new_model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return new_model


@mutant("11", "load_state", expect="値が違います")
def forgets_load_state_dict(model, path):
    torch.load(path, map_location="cpu", weights_only=True)
    return model


# -- evaluate_loss -----------------------------------------------------------------------------------------------

def _batch_loss(model, loss_fn, inputs, labels):
    return loss_fn(model(inputs).squeeze(dim=1), labels.float())


@mutant("11", "evaluate_loss", expect=("勾配の記録", "no_grad"))
def forgets_no_grad(model, loader, loss_fn):
    model.eval()
    total, count = 0.0, 0
    for inputs, labels in loader:
        total += _batch_loss(model, loss_fn, inputs, labels).item() * len(labels)
        count += len(labels)
    return total / count


@mutant("11", "evaluate_loss", expect=("学習モード", "model.eval()"))
def forgets_eval_mode(model, loader, loss_fn):
    total, count = 0.0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            total += _batch_loss(model, loss_fn, inputs, labels).item() * len(labels)
            count += len(labels)
    return total / count


@mutant("11", "evaluate_loss", expect="model.training")
def puts_training_mode_back_eval(model, loader, loss_fn):
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            total += _batch_loss(model, loss_fn, inputs, labels).item() * len(labels)
            count += len(labels)
    model.train(was_training)
    return total / count


@mutant("11", "evaluate_loss", expect="値が違います")
def mean_of_batch_means_eval(model, loader, loss_fn):
    model.eval()
    with torch.no_grad():
        losses = [_batch_loss(model, loss_fn, inputs, labels).item() for inputs, labels in loader]
    return sum(losses) / len(losses)


@mutant("11", "evaluate_loss", expect=("型が違います", ".item()"))
def returns_tensor_eval(model, loader, loss_fn):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            total = total + _batch_loss(model, loss_fn, inputs, labels) * len(labels)
            count += len(labels)
    return total / count


@mutant("11", "evaluate_loss", expect="値が違います")
def sum_of_batch_losses_eval(model, loader, loss_fn):
    model.eval()
    with torch.no_grad():
        return sum(_batch_loss(model, loss_fn, inputs, labels).item() for inputs, labels in loader)


@mutant("11", "train_model", expect="値が違います")
def divides_by_the_dataset_size(model, optimizer, loader, loss_fn, num_epochs):
    """Right while the loader yields every sample; with drop_last=True it yields fewer."""
    model.train()
    losses = []
    for _ in range(num_epochs):
        total = 0.0
        for inputs, labels in loader:
            loss = loss_fn(model(inputs).squeeze(dim=1), labels.float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
        losses.append(total / len(loader.dataset))
    return losses


@mutant("11", "train_model", expect=("例外", "別々のデバイス"))
def batches_left_on_the_cpu(model, optimizer, loader, loss_fn, num_epochs):
    model.train()
    losses = []
    for _ in range(num_epochs):
        total, count = 0.0, 0
        for inputs, labels in loader:
            loss = loss_fn(model(inputs).squeeze(dim=1), labels.float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
            count += len(labels)
        losses.append(total / count)
    return losses


@mutant("11", "evaluate_loss", expect="値が違います")
def eval_divides_by_the_dataset_size(model, loader, loss_fn):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for inputs, labels in loader:
            total += loss_fn(model(inputs).squeeze(dim=1), labels.float()).item() * len(labels)
    return total / len(loader.dataset)


@mutant("11", "evaluate_loss", expect=("例外", "別々のデバイス"))
def eval_batches_left_on_the_cpu(model, loader, loss_fn):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            total += loss_fn(model(inputs).squeeze(dim=1), labels.float()).item() * len(labels)
            count += len(labels)
    return total / count


# -- train_keep_best -------------------------------------------------------------------------------------------------

def _train_epoch(model, optimizer, loader, loss_fn, set_mode=True):
    if set_mode:
        model.train()
    for inputs, labels in loader:
        _step(model, optimizer, loss_fn, inputs, labels)


def _val_loss(model, loader, loss_fn, set_mode=True, no_grad=True):
    if set_mode:
        model.eval()
    total, count = 0.0, 0
    with torch.set_grad_enabled(not no_grad):
        for inputs, labels in loader:
            total += loss_fn(model(inputs).squeeze(dim=1), labels.float()).item() * len(labels)
            count += len(labels)
    return total / count


@mutant("11", "train_keep_best", expect=("値が違います", "clone"))
def best_state_shares_memory(model, optimizer, train_loader, val_loader, loss_fn, num_epochs):
    best_loss, best_state = float("inf"), None
    for _ in range(num_epochs):
        _train_epoch(model, optimizer, train_loader, loss_fn)
        val_loss = _val_loss(model, val_loader, loss_fn)
        if val_loss < best_loss:
            best_loss, best_state = val_loss, model.state_dict()
    model.load_state_dict(best_state)
    return best_loss


@mutant("11", "train_keep_best", expect=("値が違います", "clone"))
def best_state_copied_as_a_dict(model, optimizer, train_loader, val_loader, loss_fn, num_epochs):
    best_loss, best_state = float("inf"), None
    for _ in range(num_epochs):
        _train_epoch(model, optimizer, train_loader, loss_fn)
        val_loss = _val_loss(model, val_loader, loss_fn)
        if val_loss < best_loss:
            best_loss, best_state = val_loss, dict(model.state_dict())
    model.load_state_dict(best_state)
    return best_loss


@mutant("11", "train_keep_best", expect=("値が違います", "load_state_dict"))
def best_state_never_loaded(model, optimizer, train_loader, val_loader, loss_fn, num_epochs):
    best_loss = float("inf")
    for _ in range(num_epochs):
        _train_epoch(model, optimizer, train_loader, loss_fn)
        best_loss = min(best_loss, _val_loss(model, val_loader, loss_fn))
    return best_loss


@mutant("11", "train_keep_best", expect=("値が違います", "バッファ"))
def only_parameters_kept(model, optimizer, train_loader, val_loader, loss_fn, num_epochs):
    best_loss, best_params = float("inf"), {}
    for _ in range(num_epochs):
        _train_epoch(model, optimizer, train_loader, loss_fn)
        val_loss = _val_loss(model, val_loader, loss_fn)
        if val_loss < best_loss:
            best_loss, best_params = val_loss, {n: p.detach().clone() for n, p in model.named_parameters()}
    model.load_state_dict(best_params, strict=False)
    return best_loss


@mutant("11", "train_keep_best", expect=("値が違います", "最小値"))
def last_validation_loss_returned(model, optimizer, train_loader, val_loader, loss_fn, num_epochs):
    best_loss, best_state, val_loss = float("inf"), None, float("inf")
    for _ in range(num_epochs):
        _train_epoch(model, optimizer, train_loader, loss_fn)
        val_loss = _val_loss(model, val_loader, loss_fn)
        if val_loss < best_loss:
            best_loss, best_state = val_loss, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return val_loss


@mutant("11", "train_keep_best", expect=("値が違います", "学習の前の状態"))
def state_before_training_a_candidate(model, optimizer, train_loader, val_loader, loss_fn, num_epochs):
    best_loss, best_state = _val_loss(model, val_loader, loss_fn), copy.deepcopy(model.state_dict())
    for _ in range(num_epochs):
        _train_epoch(model, optimizer, train_loader, loss_fn)
        val_loss = _val_loss(model, val_loader, loss_fn)
        if val_loss < best_loss:
            best_loss, best_state = val_loss, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return best_loss


@mutant("11", "train_keep_best", expect=("評価モード", "model.train()"))
def train_mode_set_once(model, optimizer, train_loader, val_loader, loss_fn, num_epochs):
    model.train()
    best_loss, best_state = float("inf"), None
    for _ in range(num_epochs):
        _train_epoch(model, optimizer, train_loader, loss_fn, set_mode=False)
        val_loss = _val_loss(model, val_loader, loss_fn)
        if val_loss < best_loss:
            best_loss, best_state = val_loss, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return best_loss


@mutant("11", "train_keep_best", expect=("学習モード", "model.eval()"))
def validation_in_train_mode(model, optimizer, train_loader, val_loader, loss_fn, num_epochs):
    best_loss, best_state = float("inf"), None
    for _ in range(num_epochs):
        _train_epoch(model, optimizer, train_loader, loss_fn)
        val_loss = _val_loss(model, val_loader, loss_fn, set_mode=False)
        if val_loss < best_loss:
            best_loss, best_state = val_loss, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return best_loss


@mutant("11", "train_keep_best", expect=("勾配の記録が有効", "no_grad"))
def validation_records_the_graph(model, optimizer, train_loader, val_loader, loss_fn, num_epochs):
    best_loss, best_state = float("inf"), None
    for _ in range(num_epochs):
        _train_epoch(model, optimizer, train_loader, loss_fn)
        val_loss = _val_loss(model, val_loader, loss_fn, no_grad=False)
        if val_loss < best_loss:
            best_loss, best_state = val_loss, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return best_loss


@mutant("11", "train_keep_best", expect=("training", "評価モードのまま"))
def back_to_train_mode_at_the_end(model, optimizer, train_loader, val_loader, loss_fn, num_epochs):
    best_loss, best_state = float("inf"), None
    for _ in range(num_epochs):
        _train_epoch(model, optimizer, train_loader, loss_fn)
        val_loss = _val_loss(model, val_loader, loss_fn)
        if val_loss < best_loss:
            best_loss, best_state = val_loss, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    model.train()
    return best_loss


@mutant("11", "train_keep_best", expect=("使えません", "torch.save"))
def best_state_through_a_file_in_memory(model, optimizer, train_loader, val_loader, loss_fn, num_epochs):
    import io

    best_loss, buffer = float("inf"), io.BytesIO()
    for _ in range(num_epochs):
        _train_epoch(model, optimizer, train_loader, loss_fn)
        val_loss = _val_loss(model, val_loader, loss_fn)
        if val_loss < best_loss:
            best_loss, buffer = val_loss, io.BytesIO()
            torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    model.load_state_dict(torch.load(buffer, weights_only=True))
    return best_loss


@mutant("11", "train_keep_best", expect="型")
def best_loss_as_a_tensor(model, optimizer, train_loader, val_loader, loss_fn, num_epochs):
    best_loss, best_state = torch.tensor(float("inf")), None
    for _ in range(num_epochs):
        _train_epoch(model, optimizer, train_loader, loss_fn)
        val_loss = torch.tensor(_val_loss(model, val_loader, loss_fn))
        if val_loss < best_loss:
            best_loss, best_state = val_loss, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return best_loss
