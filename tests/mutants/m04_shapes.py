"""Wrong answers for chapter 04 (shapes)."""
import torch

from kata.api import hints
from kata.api.mutants import mutant

# Fragments of the targeted hints, so that a verdict must show the hint as well as the attribute.
TRANSPOSED = hints.TRANSPOSED[:12]
NEEDS_VIEW = hints.NEEDS_VIEW[:12]
NOT_CONTIGUOUS_EXPECTED = hints.NOT_CONTIGUOUS_EXPECTED[:20]
NEEDS_CONTIGUOUS = hints.NEEDS_CONTIGUOUS[:20]


# -- reshape_view ---------------------------------------------------------------------------------------------------

@mutant("04", "reshape_view", expect=("メモリを共有", NEEDS_VIEW))
def clones_before_view(x, rows, cols):
    return x.clone().view(rows, cols)


@mutant("04", "reshape_view", expect=("メモリを共有", NEEDS_VIEW))
def rebuilds_with_torch_tensor(x, rows, cols):
    return torch.tensor(x.tolist(), dtype=x.dtype).view(rows, cols)


@mutant("04", "reshape_view", expect=("形状", TRANSPOSED))
def rows_and_cols_swapped(x, rows, cols):
    return x.view(cols, rows)


@mutant("04", "reshape_view", expect="値が違います")
def column_major(x, rows, cols):
    return x.view(cols, rows).t()


@mutant("04", "reshape_view", expect="書き換えられています")
def resizes_input_in_place(x, rows, cols):
    return x.resize_(rows, cols)


@mutant("04", "reshape_view", expect="データ型")
def casts_to_float(x, rows, cols):
    return x.view(rows, cols).float()


@mutant("04", "reshape_view", expect=("例外", "-1 の次元の大きさを決められません"))
def infers_cols_with_minus_one(x, rows, cols):
    return x.view(rows, -1)


# -- swap_axes ------------------------------------------------------------------------------------------------------

@mutant("04", "swap_axes", expect=("形状", TRANSPOSED))
def returns_input(x):
    return x


@mutant("04", "swap_axes", expect="値が違います")
def view_instead_of_permute(x):
    return x.reshape(x.shape[1], x.shape[0])


@mutant("04", "swap_axes", expect=("連続性", NOT_CONTIGUOUS_EXPECTED))
def makes_contiguous_copy(x):
    return x.permute(1, 0).contiguous()


@mutant("04", "swap_axes", expect=("メモリを共有", NEEDS_VIEW))
def clones_the_transpose(x):
    return x.t().clone()


@mutant("04", "swap_axes", expect="書き換えられています")
def transposes_in_place(x):
    return x.t_()


# -- flatten_any ----------------------------------------------------------------------------------------------------

@mutant("04", "flatten_any", expect=("例外", "view が使えません"))
def view_fails_on_noncontiguous(x):
    return x.view(-1)


@mutant("04", "flatten_any", expect="値が違います")
def column_major_order(x):
    return x.permute(*reversed(range(x.dim()))).reshape(-1)


@mutant("04", "flatten_any", expect=("連続性", NEEDS_CONTIGUOUS))
def reshape_keeps_strided_1d(x):
    return x.reshape(-1)


@mutant("04", "flatten_any", expect="形状")
def only_contiguous(x):
    return x.contiguous()


@mutant("04", "flatten_any", expect=("連続性", NEEDS_CONTIGUOUS))
def torch_flatten_returns_strided_1d_as_is(x):
    return torch.flatten(x)


@mutant("04", "flatten_any", expect=("連続性", ".contiguous() で行優先"))
def reshape_to_numel(x):
    return x.reshape(x.numel())


# -- add_batch_dim --------------------------------------------------------------------------------------------------

@mutant("04", "add_batch_dim", expect=("形状", TRANSPOSED))
def appends_instead_of_prepends(x):
    return x.unsqueeze(-1)


@mutant("04", "add_batch_dim", expect=("メモリを共有", NEEDS_VIEW))
def stacks_a_copy(x):
    return torch.stack([x])


@mutant("04", "add_batch_dim", expect="書き換えられています")
def unsqueezes_in_place(x):
    return x.unsqueeze_(0)


@mutant("04", "add_batch_dim", expect="形状")
def flattens_into_one_row(x):
    return x.reshape(1, -1)


# -- drop_size1_dims ------------------------------------------------------------------------------------------------

@mutant("04", "drop_size1_dims", expect="形状")
def squeezes_first_dim_only(x):
    return x.squeeze(0)


@mutant("04", "drop_size1_dims", expect="形状")
def flattens(x):
    return x.reshape(-1)


@mutant("04", "drop_size1_dims", expect="書き換えられています")
def squeezes_in_place(x):
    return x.squeeze_()


@mutant("04", "drop_size1_dims", expect=("形状", TRANSPOSED))
def reverses_remaining_dims(x):
    y = x.squeeze()
    return y.permute(*reversed(range(y.dim())))


# -- stack_and_cat --------------------------------------------------------------------------------------------------

@mutant("04", "stack_and_cat", expect="形状")
def swapped_results(a, b):
    return torch.cat([a, b]), torch.stack([a, b])


@mutant("04", "stack_and_cat", expect=("形状", TRANSPOSED))
def stacks_along_dim1(a, b):
    return torch.stack([a, b], dim=1), torch.cat([a, b])


@mutant("04", "stack_and_cat", expect="形状")
def cats_along_last_dim(a, b):
    return torch.stack([a, b]), torch.cat([a, b], dim=-1)


@mutant("04", "stack_and_cat", expect="値が違います")
def b_before_a(a, b):
    return torch.stack([b, a]), torch.cat([b, a])


@mutant("04", "stack_and_cat", expect="型が違います")
def returns_list(a, b):
    return [torch.stack([a, b]), torch.cat([a, b])]


# -- channels_last --------------------------------------------------------------------------------------------------

@mutant("04", "channels_last", expect="値が違います")
def reshape_instead_of_permute(x):
    n, c, h, w = x.shape
    return x.reshape(n, h, w, c)


@mutant("04", "channels_last", expect=("形状", TRANSPOSED))
def wrong_dim_order(x):
    return x.permute(0, 3, 2, 1)


@mutant("04", "channels_last", expect=("メモリを共有", NEEDS_VIEW))
def contiguous_copy(x):
    return x.permute(0, 2, 3, 1).contiguous()


@mutant("04", "channels_last", expect=("形状", TRANSPOSED))
def channels_first_kept(x):
    return x


@mutant("04", "swap_axes", expect=("値が違います", "rot90"), headline=True, absent="view (メモリ共有)")
def rotates_instead_of_swapping(x):
    # rot90 turns the matrix: the dims are swapped, and one of them is read backwards.
    return x.rot90()


# -- merge_batch_and_swap_last (challenge) ---------------------------------------------------------------------------

@mutant("04", "merge_batch_and_swap_last", expect="値が違います")
def reshapes_without_swapping(x):
    a, b, c, d = x.shape
    return x.view(a * b, d, c)


@mutant("04", "merge_batch_and_swap_last", expect="使えません")
def contiguous_copy_then_view(x):
    a, b, c, d = x.shape
    return x.transpose(2, 3).contiguous().view(a * b, d, c)


@mutant("04", "merge_batch_and_swap_last", expect="メモリを共有")
def concatenates_the_batch(x):
    return torch.cat(list(x.transpose(2, 3)))


@mutant("04", "merge_batch_and_swap_last", expect="ループ")
def stacks_in_a_loop(x):
    return torch.stack([m.T for m in x.flatten(0, 1)])


@mutant("04", "merge_batch_and_swap_last", expect="形状")
def swaps_the_middle_dims(x):
    a, b, c, d = x.shape
    return x.transpose(1, 2).reshape(a * c, b, d)


# -- diagonal_as_view (challenge) ------------------------------------------------------------------------------------

@mutant("04", "diagonal_as_view", expect="使えません")
def calls_torch_diagonal(x):
    return torch.diagonal(x)


@mutant("04", "diagonal_as_view", expect="値が違います")
def step_of_n_instead_of_n_plus_one(x):
    n = x.shape[0]
    return x.view(-1)[::n][:n]


@mutant("04", "diagonal_as_view", expect="メモリを共有")
def indexes_with_arange(x):
    i = torch.arange(x.shape[0])
    return x[i, i]


@mutant("04", "diagonal_as_view", expect="メモリを共有")
def flat_copy_through_a_transpose(x):
    n = x.shape[0]
    return x.t().reshape(-1)[:: n + 1]


@mutant("04", "diagonal_as_view", expect="ループ")
def stacks_the_diagonal_in_a_loop(x):
    return torch.stack([x[i, i] for i in range(x.shape[0])])


@mutant("04", "diagonal_as_view", expect="使えません")
def strided_by_hand(x):
    n = x.shape[0]
    return x.as_strided((n,), (n + 1,), x.storage_offset())
