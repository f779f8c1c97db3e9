"""Correct answers for chapter 12, written differently from the reference."""
import torch
from torch.nn import functional as F

from kata.api.mutants import answer


@answer("12", "confusion_counts")
def one_hot_outer_products(model, x, labels):
    # Sum of outer products of one-hot rows: entry (t, p) counts the samples with label t and prediction p.
    device = next(model.parameters()).device
    model.eval()
    with torch.inference_mode():
        logits = model(x.to(device))[:, 0]
    predicted = F.one_hot((torch.sigmoid(logits) >= 0.5).long(), 2)
    truth = F.one_hot(labels.to(device), 2)
    return truth.T @ predicted
