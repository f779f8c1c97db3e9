"""Wrong answers for chapter 02."""
import numpy as np
import torch

from kata.api.mutants import mutant

# Fragments of the targeted hints in kata/api/hints.py that a verdict must show.
INT_VS_FLOAT = "torch.Tensor([1, 2]) は既定の dtype"  # hints.INT_VS_FLOAT: int64 where float32 was expected
FLOAT_VS_INT = "torch.tensor と torch.Tensor の違い"  # hints.FLOAT_VS_INT: float where int64 was expected
FLOAT64_FROM_NUMPY = "float64 (倍精度) になっています"  # hints.FLOAT64_NOT_FLOAT32 (chapter 02 passes no array, so the hint names no NumPy)


# -- make_empty ----------------------------------------------------------------------------------------------------

@mutant("02", "make_empty", expect="形状")
def hard_coded_source_shape(shape):
    return torch.Tensor(2, 3, 4)


@mutant("02", "make_empty", expect=("形状", "期待: (2, 3, 4)"))
def lowercase_tensor_of_the_shape(shape):
    # torch.tensor(shape) makes a 1-D tensor holding the numbers of the shape.
    return torch.tensor(shape)


@mutant("02", "make_empty", expect="データ型")
def float64(shape):
    return torch.empty(shape, dtype=torch.float64)


@mutant("02", "make_empty", expect="型が違います")
def numpy_empty(shape):
    return np.empty(shape, dtype=np.float32)


@mutant("02", "make_empty", expect=("形状", "torch.Tensor(*shape)"))
def uppercase_tensor_of_the_shape(shape):
    # The source's torch.Tensor(2, 3, 4) takes the sizes one by one; given the tuple it reads it as data.
    return torch.Tensor(shape)


# -- make_zeros / make_ones ----------------------------------------------------------------------------------------

@mutant("02", "make_zeros", expect="形状")
def hard_coded_zeros(shape):
    return torch.zeros(2, 2)


@mutant("02", "make_zeros", expect=("データ型", INT_VS_FLOAT))
def int64_zeros(shape):
    return torch.zeros(shape, dtype=torch.int64)


@mutant("02", "make_zeros", expect="値が違います")
def ones_instead_of_zeros(shape):
    return torch.ones(shape)


@mutant("02", "make_zeros", expect="型が違います")
def numpy_zeros(shape):
    return np.zeros(shape, dtype=np.float32)


@mutant("02", "make_ones", expect="形状")
def hard_coded_ones(shape):
    return torch.ones(2, 2)


@mutant("02", "make_ones", expect="データ型")
def float64_ones(shape):
    return torch.ones(shape, dtype=torch.float64)


@mutant("02", "make_ones", expect="値が違います")
def zeros_plus_two(shape):
    return torch.zeros(shape) + 2


@mutant("02", "make_ones", expect=("データ型", INT_VS_FLOAT))
def ones_like_int(shape):
    return torch.ones(shape, dtype=torch.long)


@mutant("02", "make_zeros", expect=("データ型", "float64 (倍精度)"))
def explicit_float64(shape):
    return torch.zeros(shape, dtype=torch.float64)


# -- make_rand / make_randn ----------------------------------------------------------------------------------------

@mutant("02", "make_rand", expect="generator")
def rand_from_a_copy_of_the_generator(shape, generator):
    return torch.rand(shape, generator=torch.Generator().manual_seed(generator.initial_seed()))


@mutant("02", "make_randn", expect="generator")
def randn_from_a_copy_of_the_generator(shape, generator):
    return torch.randn(shape, generator=torch.Generator().manual_seed(generator.initial_seed()))


@mutant("02", "make_rand", expect="generator")
def rand_draws_one_extra(shape, generator):
    out = torch.rand(shape, generator=generator)
    torch.rand(1, generator=generator)
    return out


@mutant("02", "make_rand", expect="乱数状態")
def global_rand(shape, generator):
    return torch.rand(shape)


@mutant("02", "make_rand", expect="乱数状態")
def seeds_global_from_generator(shape, generator):
    torch.manual_seed(generator.initial_seed())
    return torch.rand(shape)


@mutant("02", "make_rand", expect="値が違います")
def normal_instead_of_uniform(shape, generator):
    return torch.randn(shape, generator=generator)


@mutant("02", "make_rand", expect="値が違います")
def own_generator_seeded_zero(shape, generator):
    return torch.rand(shape, generator=torch.Generator().manual_seed(0))


@mutant("02", "make_rand", expect="データ型")
def float64_rand(shape, generator):
    return torch.rand(shape, generator=generator, dtype=torch.float64)


@mutant("02", "make_randn", expect="乱数状態")
def global_randn(shape, generator):
    return torch.randn(shape)


@mutant("02", "make_randn", expect="値が違います")
def uniform_instead_of_normal(shape, generator):
    return torch.rand(shape, generator=generator)


@mutant("02", "make_randn", expect="データ型")
def float64_randn(shape, generator):
    return torch.randn(shape, generator=generator, dtype=torch.float64)


@mutant("02", "make_randn", expect=("generator", "状態が"))
def fresh_generator(shape, generator):
    return torch.randn(shape, generator=torch.Generator())


# -- make_arange ---------------------------------------------------------------------------------------------------

@mutant("02", "make_arange", expect=("データ型", FLOAT_VS_INT))
def always_float32(start, end, step):
    return torch.arange(start, end, step, dtype=torch.float32)


@mutant("02", "make_arange", expect=("データ型", INT_VS_FLOAT))
def casts_arguments_to_int(start, end, step):
    return torch.arange(int(start), int(end), int(step) or 1)


@mutant("02", "make_arange", expect=("データ型", FLOAT64_FROM_NUMPY))
def via_numpy(start, end, step):
    return torch.from_numpy(np.arange(start, end, step))


@mutant("02", "make_arange", expect="形状")
def includes_end(start, end, step):
    return torch.arange(start, end + step, step)


@mutant("02", "make_arange", expect="型が違います")
def numpy_arange(start, end, step):
    return np.arange(start, end, step)


# -- float_tensor_from_list ----------------------------------------------------------------------------------------

@mutant("02", "float_tensor_from_list", expect=("データ型", INT_VS_FLOAT))
def lowercase_tensor(data):
    return torch.tensor(data)


@mutant("02", "float_tensor_from_list", expect=("データ型", FLOAT64_FROM_NUMPY))
def via_numpy_float64(data):
    return torch.from_numpy(np.array(data, dtype=float))


@mutant("02", "float_tensor_from_list", expect="型が違います")
def numpy_array(data):
    return np.array(data, dtype=np.float32)


@mutant("02", "float_tensor_from_list", expect="形状")
def hard_coded_source_list(data):
    return torch.Tensor([[1, 2], [3, 4]])


# -- exact_tensor_from_list ----------------------------------------------------------------------------------------

@mutant("02", "exact_tensor_from_list", expect=("データ型", FLOAT_VS_INT))
def uppercase_tensor(data):
    return torch.Tensor(data)


@mutant("02", "exact_tensor_from_list", expect=("データ型", FLOAT64_FROM_NUMPY))
def via_numpy_inferred(data):
    return torch.from_numpy(np.array(data))


@mutant("02", "exact_tensor_from_list", expect="データ型")
def always_int64(data):
    return torch.tensor(data, dtype=torch.int64)


@mutant("02", "exact_tensor_from_list", expect="型が違います")
def returns_the_list(data):
    return data


@mutant("02", "exact_tensor_from_list", expect="値が違います")
def through_float32_then_inferred_dtype(data):
    """Right dtype, but the values went through float32: integers beyond 2**24 lose their last digits."""
    return torch.Tensor(data).to(torch.tensor(data).dtype)


# -- cast_dtype ----------------------------------------------------------------------------------------------------

@mutant("02", "cast_dtype", expect="書き換えられています")
def converts_t_in_place(t, dtype):
    t.data = t.data.to(dtype)
    return t


@mutant("02", "cast_dtype", expect="データ型")
def always_float(t, dtype):
    return t.float()


@mutant("02", "cast_dtype", expect="値が違います")
def reinterprets_bits(t, dtype):
    # view(dtype) reads the same bytes as another type instead of converting the values.
    return t.view(dtype)


@mutant("02", "cast_dtype", expect=("が違います", "0 の方へ切り捨て", "round"))
def rounds_instead_of_truncating(t, dtype):
    return t.round().to(dtype) if t.is_floating_point() else t.to(dtype)


@mutant("02", "cast_dtype", expect="値が違います")
def through_float64(t, dtype):
    """Exact for small integers; int64 beyond 2**53 loses its last digits on the way through float64."""
    return t.double().to(dtype)


@mutant("02", "cast_dtype", expect=("が違います", "0 の方へ切り捨て", "floor"))
def floors_instead_of_truncating(t, dtype):
    return t.floor().to(dtype) if t.is_floating_point() and not dtype.is_floating_point else t.to(dtype)


@mutant("02", "make_rand", expect=("使えません", "torch.manual_seed"))
def seeds_global_and_restores_it(shape, generator):
    state = torch.get_rng_state()
    torch.manual_seed(0)
    out = torch.rand(shape, generator=generator)
    torch.set_rng_state(state)
    return out


# -- evenly_spaced (challenge) ---------------------------------------------------------------------------------------

@mutant("02", "evenly_spaced", expect="使えません")
def calls_linspace(start, end, steps):
    return torch.linspace(start, end, steps)


@mutant("02", "evenly_spaced", expect="ループ")
def comprehension_of_python_floats(start, end, steps):
    gap = (end - start) / max(steps - 1, 1)
    return torch.tensor([start + i * gap for i in range(steps)], dtype=torch.float32)


@mutant("02", "evenly_spaced", expect="形状")
def float_step_arange_stops_before_end(start, end, steps):
    return torch.arange(start, end, (end - start) / max(steps - 1, 1), dtype=torch.float32)


@mutant("02", "evenly_spaced", expect="形状")
def float_step_arange_past_end(start, end, steps):
    gap = (end - start) / (steps - 1) if steps > 1 else 1.0
    return torch.arange(start, end + gap, gap, dtype=torch.float32)


@mutant("02", "evenly_spaced", expect="値が違います")
def divides_by_steps(start, end, steps):
    return start + torch.arange(steps) * ((end - start) / steps)


@mutant("02", "evenly_spaced", expect="ZeroDivisionError")
def one_step_divides_by_zero(start, end, steps):
    return start + torch.arange(steps) * ((end - start) / (steps - 1))


@mutant("02", "evenly_spaced", expect="データ型")
def integer_gap_for_int_arguments(start, end, steps):
    gap = (end - start) // max(steps - 1, 1) if isinstance(start, int) and isinstance(end, int) else \
        (end - start) / max(steps - 1, 1)
    return start + torch.arange(steps) * gap


@mutant("02", "evenly_spaced", expect="データ型")
def float64_positions(start, end, steps):
    return start + torch.arange(steps, dtype=torch.float64) * ((end - start) / max(steps - 1, 1))


# -- smallest_int_tensor (challenge) ---------------------------------------------------------------------------------

@mutant("02", "smallest_int_tensor", expect="データ型")
def always_int64(values):
    return torch.tensor(values, dtype=torch.int64)


@mutant("02", "smallest_int_tensor", expect="データ型")
def upper_bound_excluded(values):
    """127 itself taken for out of int8's range."""
    for dtype in (torch.int8, torch.int16, torch.int32, torch.int64):
        info = torch.iinfo(dtype)
        if all(info.min <= v < info.max for v in values):
            return torch.tensor(values, dtype=dtype)
    return torch.tensor(values)


@mutant("02", "smallest_int_tensor", expect="データ型")
def symmetric_range(values):
    """abs(v) <= max: -128 does not look like it fits in int8."""
    for dtype in (torch.int8, torch.int16, torch.int32, torch.int64):
        if all(abs(v) <= torch.iinfo(dtype).max for v in values):
            return torch.tensor(values, dtype=dtype)
    return torch.tensor(values)


@mutant("02", "smallest_int_tensor", expect="データ型")
def unsigned_for_non_negative(values):
    """uint8 for 0..255: the prompt asks for signed types."""
    if values and all(0 <= v <= 255 for v in values):
        return torch.tensor(values, dtype=torch.uint8)
    for dtype in (torch.int8, torch.int16, torch.int32, torch.int64):
        info = torch.iinfo(dtype)
        if all(info.min <= v <= info.max for v in values):
            return torch.tensor(values, dtype=dtype)
    return torch.tensor(values)


@mutant("02", "smallest_int_tensor", expect="値が違います")
def through_float64(values):
    """Right type, but the values went through float64: beyond 2**53 the last digits are lost."""
    t = torch.tensor(values, dtype=torch.float64)
    for dtype in (torch.int8, torch.int16, torch.int32, torch.int64):
        info = torch.iinfo(dtype)
        if all(info.min <= v <= info.max for v in values):
            return t.to(dtype)
    return t.long()


@mutant("02", "smallest_int_tensor", expect="例外")
def fails_on_an_empty_list(values):
    """min() of an empty list raises."""
    low, high = min(values), max(values)
    for dtype in (torch.int8, torch.int16, torch.int32, torch.int64):
        if torch.iinfo(dtype).min <= low and high <= torch.iinfo(dtype).max:
            return torch.tensor(values, dtype=dtype)
    return torch.tensor(values)


@mutant("02", "smallest_int_tensor", expect="データ型")
def checks_only_the_first_value(values):
    first = values[0] if values else 0
    for dtype in (torch.int8, torch.int16, torch.int32, torch.int64):
        info = torch.iinfo(dtype)
        if info.min <= first <= info.max:
            return torch.tensor(values, dtype=torch.int64).to(dtype)
    return torch.tensor(values)
