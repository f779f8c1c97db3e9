"""Wrong answers for chapter 05 (matrix products, indexing, broadcasting, in-place updates)."""
import numpy as np
import torch

from kata import hints
from kata.mutants import mutant

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


# -- pairwise_sq_distances (challenge) -------------------------------------------------------------------------------

@mutant("05", "pairwise_sq_distances", expect="使えません")
def calls_cdist(a, b):
    return torch.cdist(a, b) ** 2


@mutant("05", "pairwise_sq_distances", expect="ループ")
def one_row_at_a_time(a, b):
    return torch.stack([((a - row) ** 2).sum(dim=1) for row in b], dim=1)


@mutant("05", "pairwise_sq_distances", expect="形状")
def broadcast_the_other_way(a, b):
    return ((a[None, :, :] - b[:, None, :]) ** 2).sum(dim=-1)


@mutant("05", "pairwise_sq_distances", expect="値が違います")
def distances_not_squared(a, b):
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(dim=-1).sqrt()


@mutant("05", "pairwise_sq_distances", expect="値が違います")
def square_of_the_summed_difference(a, b):
    return (a[:, None, :] - b[None, :, :]).sum(dim=-1) ** 2


@mutant("05", "pairwise_sq_distances", expect="形状")
def sums_over_the_wrong_dim(a, b):
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(dim=1)


# -- one_hot_by_comparison (challenge) -------------------------------------------------------------------------------

@mutant("05", "one_hot_by_comparison", expect="使えません")
def calls_f_one_hot(labels, num_classes):
    return torch.nn.functional.one_hot(labels, num_classes)


@mutant("05", "one_hot_by_comparison", expect="使えません")
def scatters_ones(labels, num_classes):
    return torch.zeros(len(labels), num_classes, dtype=torch.int64).scatter_(1, labels[:, None], 1)


@mutant("05", "one_hot_by_comparison", expect="ループ")
def fills_rows_in_a_loop(labels, num_classes):
    out = torch.zeros(len(labels), num_classes, dtype=torch.int64)
    for i, c in enumerate(labels.tolist()):
        out[i, c] = 1
    return out


@mutant("05", "one_hot_by_comparison", expect="データ型")
def returns_the_bool_table(labels, num_classes):
    return labels[:, None] == torch.arange(num_classes)


@mutant("05", "one_hot_by_comparison", expect="形状")
def classes_as_rows(labels, num_classes):
    return (labels[None, :] == torch.arange(num_classes)[:, None]).long()


@mutant("05", "one_hot_by_comparison", expect="形状")
def columns_from_the_largest_label(labels, num_classes):
    classes = int(labels.max()) + 1 if len(labels) else num_classes
    return (labels[:, None] == torch.arange(classes)).long()
