"""Correct answers for chapter 11, written differently from the reference."""
import copy

import torch

from kata.api.mutants import answer


@answer("11", "train_keep_best")
def deep_copies_and_an_own_loop(model, optimizer, train_loader, val_loader, loss_fn, num_epochs):
    device = next(model.parameters()).device
    losses, states = [], []
    for _ in range(num_epochs):
        model.train()
        for inputs, labels in train_loader:
            loss = loss_fn(model(inputs.to(device))[:, 0], labels.to(device).float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.inference_mode():
            total = sum(loss_fn(model(x.to(device))[:, 0], y.to(device).float()).item() * len(y) for x, y in val_loader)
            losses.append(total / sum(len(y) for _, y in val_loader))
        states.append(copy.deepcopy(model.state_dict()))  # deepcopy gives every tensor its own memory
    best = min(range(num_epochs), key=losses.__getitem__)
    model.load_state_dict(states[best])
    return losses[best]


def _fit_one_epoch(model, optimizer, loader, loss_fn):
    model.train()
    for inputs, labels in loader:
        optimizer.zero_grad()
        loss_fn(model(inputs).squeeze(1), labels.float()).backward()
        optimizer.step()


@torch.no_grad()
def _mean_loss(model, loader, loss_fn):
    model.eval()
    pairs = [(loss_fn(model(x).squeeze(1), y.float()).item(), len(y)) for x, y in loader]
    return sum(v * n for v, n in pairs) / sum(n for _, n in pairs)


@answer("11", "train_keep_best")
def a_copy_of_the_whole_model(model, optimizer, train_loader, val_loader, loss_fn, num_epochs):
    best_loss, best_model = float("inf"), None
    for _ in range(num_epochs):
        _fit_one_epoch(model, optimizer, train_loader, loss_fn)
        val_loss = _mean_loss(model, val_loader, loss_fn)
        if val_loss < best_loss:
            best_loss, best_model = val_loss, copy.deepcopy(model)  # a model of its own, with its own tensors
    model.load_state_dict(best_model.state_dict())
    return best_loss
