"""Wrong answers for chapter 01."""
import torch

from kata.api.mutants import mutant


@mutant("01", "torch_version", expect="型が違います")
def prints_instead_of_returning():
    print(torch.__version__)


@mutant("01", "torch_version", expect="バージョン")
def hard_coded_version():
    return "1.12.1"


@mutant("01", "torch_version", expect="型が違います")
def returns_module_attribute_object():
    return torch.version


@mutant("01", "seeded_rand", expect="値が違います")
def seeds_after_drawing(seed, shape):
    x = torch.rand(shape)
    torch.manual_seed(seed)
    return x


@mutant("01", "seeded_rand", expect="データ型")
def float64(seed, shape):
    torch.manual_seed(seed)
    return torch.rand(shape, dtype=torch.float64)


@mutant("01", "seeded_rand", expect="形状")
def hard_coded(seed, shape):
    return torch.tensor([[0.4963, 0.7682], [0.0885, 0.1320]])


@mutant("01", "same_random_twice", expect="メモリ")
def one_draw_returned_twice(seed, n):
    torch.manual_seed(seed)
    first = torch.randn(n)
    return first, first


@mutant("01", "same_random_twice", expect="値が違います")
def seeds_once(seed, n):
    torch.manual_seed(seed)
    return torch.randn(n), torch.randn(n)


@mutant("01", "same_random_twice", expect="型が違います")
def returns_list(seed, n):
    torch.manual_seed(seed)
    a = torch.randn(n)
    torch.manual_seed(seed)
    return [a, torch.randn(n)]


@mutant("01", "same_random_twice", expect="値が違います")
def uniform_instead_of_normal(seed, n):
    torch.manual_seed(seed)
    a = torch.rand(n)
    torch.manual_seed(seed)
    return a, torch.rand(n)


@mutant("01", "rand_with_generator", expect="乱数状態")
def seeds_global(seed, n):
    torch.manual_seed(seed)
    return torch.rand(n)


@mutant("01", "rand_with_generator", expect="値が違います")
def ignores_generator(seed, n):
    torch.Generator().manual_seed(seed)
    return torch.rand(n, generator=torch.Generator())


@mutant("01", "rand_with_generator", expect="値が違います")
def normal_instead_of_uniform(seed, n):
    return torch.randn(n, generator=torch.Generator().manual_seed(seed))


@mutant("01", "seeded_rand", expect=("乱数状態", "torch.manual_seed(seed) でシードを固定"))
def private_generator(seed, shape):
    """The same numbers, but the global RNG is never seeded: the lesson of this exercise is skipped."""
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


@mutant("01", "same_random_twice", expect=("乱数状態", "torch.manual_seed(seed) でシードを固定"))
def private_generators(seed, n):
    first = torch.randn(n, generator=torch.Generator().manual_seed(seed))
    second = torch.randn(n, generator=torch.Generator().manual_seed(seed))
    return first, second


@mutant("01", "rand_with_generator", expect=("使えません", "torch.random.manual_seed"))
def seeds_global_and_restores_it(seed, n):
    state = torch.get_rng_state()
    torch.random.manual_seed(seed)
    out = torch.rand(n)
    torch.set_rng_state(state)
    return out


# -- two_streams_from_one_seed (challenge) ---------------------------------------------------------------------------

@mutant("01", "two_streams_from_one_seed", expect="値が違います")
def one_generator_for_both_streams(seed, n):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, generator=g), torch.randn(n, generator=g)


@mutant("01", "two_streams_from_one_seed", expect="値が違います")
def both_generators_seeded_alike(seed, n):
    return (torch.rand(n, generator=torch.Generator().manual_seed(seed)),
            torch.randn(n, generator=torch.Generator().manual_seed(seed)))


@mutant("01", "two_streams_from_one_seed", expect="使えません")
def seeds_the_global_generator(seed, n):
    torch.manual_seed(seed)
    u = torch.rand(n)
    torch.manual_seed(seed + 1)
    return u, torch.randn(n)


@mutant("01", "two_streams_from_one_seed", expect="使えません")
def global_seeding_inside_fork_rng(seed, n):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        u = torch.rand(n)
        torch.manual_seed(seed + 1)
        return u, torch.randn(n)


@mutant("01", "two_streams_from_one_seed", expect="乱数状態")
def draws_z_from_the_global_generator(seed, n):
    return torch.rand(n, generator=torch.Generator().manual_seed(seed)), torch.randn(n)
