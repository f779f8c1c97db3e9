"""Wrong answers for chapter 05 (matrix products, indexing, broadcasting, in-place updates)."""
import numpy as np
import torch

from kata.api import hints
from kata.api.mutants import mutant

# Fragments of the targeted hints, so that a verdict must show the hint as well as the attribute.
TRANSPOSED = hints.TRANSPOSED[:12]
NEEDS_VIEW = hints.NEEDS_VIEW[:12]
FLOAT_VS_INT = hints.FLOAT_VS_INT[:12]


# -- matmul ---------------------------------------------------------------------------------------------------------

@mutant("05", "matmul", expect=("データ型", FLOAT_VS_INT))
def casts_to_float(x, w):
    return x.float() @ w.float()


@mutant("05", "matmul", expect=("形状", TRANSPOSED))
def transposed_result(x, w):
    return (x @ w).T


@mutant("05", "matmul", expect="値が違います")
def outer_of_sums(x, w):
    return x.sum(dim=1, keepdim=True) * w.sum(dim=0, keepdim=True)


@mutant("05", "matmul", expect="形状")
def hard_coded_source_result(x, w):
    return torch.tensor([[4, 5, 6, 7], [12, 17, 22, 27], [20, 29, 38, 47]])


@mutant("05", "matmul", expect="値が違います")
def through_float64(x, w):
    """Exact for small integers; int64 beyond 2**53 loses its last digits in float64."""
    return (x.double() @ w.double()).to(x.dtype)


# -- batched_matmul -------------------------------------------------------------------------------------------------

@mutant("05", "batched_matmul", expect="形状")
def first_batch_item_only(a, b):
    return (a[0] @ b[0]).unsqueeze(0)


@mutant("05", "batched_matmul", expect="値が違います")
def reuses_first_b(a, b):
    return torch.stack([a[i] @ b[0] for i in range(len(a))])


@mutant("05", "batched_matmul", expect=("形状", TRANSPOSED))
def transposes_each_result(a, b):
    return (a @ b).transpose(1, 2)


@mutant("05", "batched_matmul", expect="形状")
def sums_over_batch(a, b):
    return (a @ b).sum(dim=0)


@mutant("05", "batched_matmul", expect=("データ型", FLOAT_VS_INT))
def casts_to_float(a, b):
    return torch.bmm(a.float(), b.float())


# -- linear_forward -------------------------------------------------------------------------------------------------

@mutant("05", "linear_forward", expect=("例外", "内側の次元"))
def weight_not_transposed(x, weight, bias):
    return x @ weight + bias


@mutant("05", "linear_forward", expect="値が違います")
def forgets_bias(x, weight, bias):
    return x @ weight.T


@mutant("05", "linear_forward", expect="値が違います")
def subtracts_bias(x, weight, bias):
    return x @ weight.T - bias


@mutant("05", "linear_forward", expect="requires_grad")
def detaches_result(x, weight, bias):
    return (x @ weight.T + bias).detach()


@mutant("05", "linear_forward", expect="勾配")
def detaches_weight(x, weight, bias):
    return x @ weight.detach().T + bias


@mutant("05", "linear_forward", expect="requires_grad")
def through_numpy(x, weight, bias):
    out = np.matmul(x.detach().numpy(), weight.detach().numpy().T) + bias.detach().numpy()
    return torch.from_numpy(out)


@mutant("05", "linear_forward", expect=("requires_grad", "どこで切れたか"))
def detached_result(x, weight, bias):
    return (x @ weight.T + bias).detach()


# -- select_parts ---------------------------------------------------------------------------------------------------

@mutant("05", "select_parts", expect="形状")
def row_instead_of_column(x):
    return x[1], x[0], x[:2, -1], x[1:3, :]


@mutant("05", "select_parts", expect=("メモリを共有", NEEDS_VIEW))
def list_index_copies(x):
    return x[:, 1], x[0], x[:2, -1], x[[1, 2]]


@mutant("05", "select_parts", expect=("メモリを共有", NEEDS_VIEW))
def clones_parts(x):
    return x[:, 1].clone(), x[0].clone(), x[:2, -1].clone(), x[1:3, :].clone()


@mutant("05", "select_parts", expect="値が違います")
def last_column_of_last_rows(x):
    return x[:, 1], x[0], x[-2:, -1], x[1:3, :]


@mutant("05", "select_parts", expect="形状")
def inclusive_slice_end(x):
    return x[:, 1], x[0], x[:2, -1], x[1:4, :]


@mutant("05", "select_parts", expect="型が違います")
def returns_list(x):
    return [x[:, 1], x[0], x[:2, -1], x[1:3, :]]


# -- outer_sum ------------------------------------------------------------------------------------------------------

@mutant("05", "outer_sum", expect=("形状", TRANSPOSED))
def wrong_orientation(a, b):
    return a[None, :] + b[:, None]


@mutant("05", "outer_sum", expect="値が違います")
def outer_product(a, b):
    return torch.outer(a, b)


@mutant("05", "outer_sum", expect="書き換えられています")
def adds_into_a(a, b):
    return a.unsqueeze_(1).add(b)


@mutant("05", "outer_sum", expect="データ型")
def float_result(a, b):
    return a[:, None].float() + b[None, :].float()


# -- row_normalize --------------------------------------------------------------------------------------------------

@mutant("05", "row_normalize", expect="値が違います")
def normalizes_columns(A):
    return A / A.sum(dim=0, keepdim=True)


@mutant("05", "row_normalize", expect="値が違います")
def softmax_instead(A):
    return torch.softmax(A, dim=1)


@mutant("05", "row_normalize", expect="書き換えられています")
def divides_in_place(A):
    return A.div_(A.sum(dim=1, keepdim=True))


@mutant("05", "row_normalize", expect="値が違います")
def divides_by_total(A):
    return A / A.sum()


# -- add_inplace ----------------------------------------------------------------------------------------------------

@mutant("05", "add_inplace", expect=("その場で更新されていません", "dst.data"))
def replaces_data(dst, src):
    dst.data = dst + src
    return dst


@mutant("05", "add_inplace", expect="そのもの")
def returns_new_tensor(dst, src):
    return dst + src


@mutant("05", "add_inplace", expect="そのもの")
def returns_copy_after_adding(dst, src):
    dst.add_(src)
    return dst.clone()


@mutant("05", "add_inplace", expect=("型が違います", "return"))
def forgets_return(dst, src):
    dst.add_(src)


@mutant("05", "add_inplace", expect="値が違います")
def overwrites_instead_of_adding(dst, src):
    return dst.copy_(src)


@mutant("05", "add_inplace", expect="書き換えられています")
def also_doubles_src(dst, src):
    dst.add_(src)
    src.mul_(2)
    return dst


@mutant("05", "batched_matmul", expect="値が違います")
def batched_through_float64(a, b):
    return torch.bmm(a.double(), b.double()).to(a.dtype)


@mutant("05", "row_normalize", expect="値が違います")
def divides_by_the_l1_norm(A):
    """The same as the row sum while every entry is positive."""
    return torch.nn.functional.normalize(A, p=1, dim=1)


@mutant("05", "row_normalize", expect="値が違います")
def divides_by_the_absolute_sum(A):
    return A / A.sum(dim=1, keepdim=True).abs()


# Right values, but with the Python loop the prompt forbids (a rule read from the source text).

@mutant("05", "batched_matmul", expect=("ループ", "while"))
def while_loop_over_the_batch(a, b):
    out = torch.empty(a.shape[0], a.shape[1], b.shape[2], dtype=a.dtype)
    i = 0
    while i < a.shape[0]:
        out[i] = a[i] @ b[i]
        i += 1
    return out


@mutant("05", "outer_sum", expect=("ループ", "for"))
def for_loop_over_rows(a, b):
    out = torch.empty(a.shape[0], b.shape[0], dtype=a.dtype)
    for i in range(a.shape[0]):
        out[i] = a[i] + b
    return out


# -- stable_softmax (challenge) --------------------------------------------------------------------------------------

@mutant("05", "stable_softmax", expect="使えません")
def calls_softmax(x):
    return torch.softmax(x, dim=-1)


@mutant("05", "stable_softmax", expect="使えません")
def through_logsumexp(x):
    return (x - torch.logsumexp(x, dim=-1, keepdim=True)).exp()


@mutant("05", "stable_softmax", expect="ループ")
def row_by_row(x):
    rows = x.reshape(-1, x.shape[-1])
    return torch.stack([(r - r.max()).exp() / (r - r.max()).exp().sum() for r in rows]).reshape(x.shape)


@mutant("05", "stable_softmax", expect="値が違います")
def without_the_shift(x):
    """exp(1000.) is inf: inf / inf is nan."""
    e = x.exp()
    return e / e.sum(dim=-1, keepdim=True)


@mutant("05", "stable_softmax", expect="値が違います")
def shifted_by_the_whole_maximum(x):
    """One maximum for the whole tensor: a row thousands below it underflows to 0 / 0."""
    e = (x - x.max()).exp()
    return e / e.sum(dim=-1, keepdim=True)


@mutant("05", "stable_softmax", expect="値が違います")
def sums_over_the_first_dim(x):
    e = (x - x.amax(dim=-1, keepdim=True)).exp()
    return e / e.sum(dim=0, keepdim=True)


@mutant("05", "stable_softmax", expect="値が違います")
def sum_without_keepdim(x):
    """(k, k) / (k,) broadcasts against columns, not rows; other shapes raise."""
    e = (x - x.amax(dim=-1, keepdim=True)).exp()
    return e / e.sum(dim=-1)


@mutant("05", "stable_softmax", expect="書き換え")
def in_place_on_x(x):
    x.sub_(x.amax(dim=-1, keepdim=True)).exp_()
    return x / x.sum(dim=-1, keepdim=True)


# -- class_means (challenge) -----------------------------------------------------------------------------------------

@mutant("05", "class_means", expect="使えません")
def index_add_of_rows(x, labels, num_classes):
    sums = torch.zeros(num_classes, x.shape[1], dtype=x.dtype).index_add(0, labels, x)
    counts = torch.bincount(labels, minlength=num_classes).to(x.dtype).unsqueeze(1)
    return sums / counts.clamp(min=1)


@mutant("05", "class_means", expect="使えません")
def one_hot_table(x, labels, num_classes):
    table = torch.nn.functional.one_hot(labels, num_classes).to(x.dtype)
    return table.T @ x / table.sum(dim=0).unsqueeze(1).clamp(min=1)


@mutant("05", "class_means", expect="ループ")
def class_by_class(x, labels, num_classes):
    return torch.stack([x[labels == c].mean(dim=0) if (labels == c).any() else torch.zeros(x.shape[1], dtype=x.dtype)
                        for c in range(num_classes)])


@mutant("05", "class_means", expect="値が違います")
def empty_class_is_nan(x, labels, num_classes):
    """0 / 0 for a class with no rows."""
    table = (labels.unsqueeze(1) == torch.arange(num_classes)).to(x.dtype)
    return table.T @ x / table.sum(dim=0).unsqueeze(1)


@mutant("05", "class_means", expect="値が違います")
def divides_by_all_rows(x, labels, num_classes):
    table = (labels.unsqueeze(1) == torch.arange(num_classes)).to(x.dtype)
    return table.T @ x / max(len(labels), 1)


@mutant("05", "class_means", expect="形状")
def transposed_product(x, labels, num_classes):
    table = (labels.unsqueeze(1) == torch.arange(num_classes)).to(x.dtype)
    return (x.T @ table) / table.sum(dim=0).clamp(min=1)


@mutant("05", "class_means", expect="例外")
def integer_table(x, labels, num_classes):
    """An int64 table times a float x: the matrix product wants one dtype."""
    table = (labels.unsqueeze(1) == torch.arange(num_classes)).long()
    return (table.T @ x) / table.sum(dim=0).unsqueeze(1).clamp(min=1)
