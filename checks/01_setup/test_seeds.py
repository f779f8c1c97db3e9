"""Checks for chapter 01 (setup and seeds)."""
import torch

from kata.api.compare import (
    RngSnapshot,
    expect,
    expect_equal,
    expect_no_shared_memory,
    expect_rng_unchanged,
    expect_sequence,
    expect_tensor,
    expect_type,
    learner_state,
    torch_rng_of,
)
from kata.api.staticrules import forbid_in_source

# -- verdict templates only these checks use (str.format) --------------------------------------------------------------
RNG_NOT_SEEDED = "呼び出しのあとのグローバルな乱数状態が、『{expected}』を実行したあとの状態と違います。"

# -- hints only these checks use ---------------------------------------------------------------------------------------
GLOBAL_SEED = ("この演習で学ぶのはグローバルな乱数生成器のシードです。専用の torch.Generator ではなく、"
               "torch.manual_seed(seed) でシードを固定してから、generator を渡さずに乱数を引きましょう。")


def _expect_global_rng_after(sub, what: str, replay) -> None:
    """The global torch RNG of the learner's world is where ``replay()`` (the prompt's own calls) leaves it: seeding
    is the lesson."""
    after = torch_rng_of(learner_state(sub))
    replay()
    expect(torch.equal(after, torch.get_rng_state()), "rng", RNG_NOT_SEEDED, GLOBAL_SEED,
           expected=what)


def test_torch_version_is_str(sub):
    expect_type(sub.torch_version(), str)


def test_torch_version_matches_installed(sub):
    expect_equal(sub.torch_version(), str(torch.__version__), name="バージョン")


def test_seeded_rand_source_values(sub):
    """The source text prints this after torch.manual_seed(0)."""
    expected = torch.tensor([[0.4963, 0.7682], [0.0885, 0.1320]])
    expect_tensor(sub.seeded_rand(0, (2, 2)), expected, atol=5e-5, rtol=0)


def test_seeded_rand_matches_reference(sub, ref, gen):
    shapes: list[tuple[int, ...]] = []
    while len(shapes) < 3:
        shape = tuple(int(s) for s in torch.randint(0, 5, (int(torch.randint(1, 4, (), generator=gen)),),
                                                    generator=gen))
        if shape != (2, 2):  # the source's own shape is pinned above; here a copied printout must show its shape
            shapes.append(shape)
    for shape in shapes:
        seed = int(torch.randint(0, 2**31 - 1, (), generator=gen))
        expect_tensor(sub.seeded_rand(seed, shape), ref.seeded_rand(seed, shape), name=f"seeded_rand({seed}, {shape})")


def test_seeded_rand_seeds_the_global_rng(sub, gen):
    seed = int(torch.randint(0, 2**31 - 1, (), generator=gen))
    shape = (int(torch.randint(1, 5, (), generator=gen)), int(torch.randint(1, 5, (), generator=gen)))
    torch.manual_seed(seed + 1)
    sub.seeded_rand(seed, shape)
    _expect_global_rng_after(sub, f"torch.manual_seed({seed}); torch.rand({shape})",
                             lambda: (torch.manual_seed(seed), torch.rand(shape)))


def test_same_random_twice_equal(sub, gen):
    seed, n = int(torch.randint(0, 10_000, (), generator=gen)), int(torch.randint(1, 20, (), generator=gen))
    first, second = expect_sequence(sub.same_random_twice(seed, n), 2)
    expect_tensor(second, first, name="2 回目")
    # Two draws, not one draw returned twice: equal values in two separate tensors.
    expect_no_shared_memory(second, first, name="2 回目", other_name="1 回目")


def test_same_random_twice_matches_reference(sub, ref, gen):
    seed, n = int(torch.randint(0, 10_000, (), generator=gen)), int(torch.randint(1, 20, (), generator=gen))
    actual = expect_sequence(sub.same_random_twice(seed, n), 2)
    expected = ref.same_random_twice(seed, n)
    for i in range(2):
        expect_tensor(actual[i], expected[i], name=f"戻り値[{i}]")


def test_same_random_twice_seeds_the_global_rng(sub, gen):
    seed, n = int(torch.randint(0, 10_000, (), generator=gen)), int(torch.randint(1, 20, (), generator=gen))
    torch.manual_seed(seed + 1)
    sub.same_random_twice(seed, n)
    _expect_global_rng_after(sub, f"torch.manual_seed({seed}); torch.randn({n})",
                             lambda: (torch.manual_seed(seed), torch.randn(n)))


def test_rand_with_generator_source_values(sub):
    expect_tensor(sub.rand_with_generator(42, 3), torch.tensor([0.8823, 0.9150, 0.3829]), atol=5e-5, rtol=0)


def test_rand_with_generator_matches_reference(sub, ref, gen):
    seed, n = int(torch.randint(0, 10_000, (), generator=gen)), int(torch.randint(1, 50, (), generator=gen))
    expect_tensor(sub.rand_with_generator(seed, n), ref.rand_with_generator(seed, n))


def test_rand_with_generator_source_without_manual_seed(sub):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "rand_with_generator", "torch.manual_seed", torch.manual_seed)
    sub.rand_with_generator(3, 2)  # an untouched stub reads 未着手


def test_rand_with_generator_leaves_global_rng(sub, gen):
    torch.manual_seed(int(torch.randint(0, 10_000, (), generator=gen)))
    before = RngSnapshot(sub)
    sub.rand_with_generator(7, 5)
    expect_rng_unchanged(before)


# -- two_streams_from_one_seed (challenge) ---------------------------------------------------------------------------

GLOBAL_SEEDING = "グローバルな乱数状態を変える関数 (torch.manual_seed など)"


def _streams(seed: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The prompt's two streams, each from a fresh generator of its own: independent of the reference."""
    return (torch.rand(n, generator=torch.Generator().manual_seed(seed)),
            torch.randn(n, generator=torch.Generator().manual_seed(seed + 1)))


def test_two_streams_from_one_seed_source_without_global_seeding(sub):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "two_streams_from_one_seed", GLOBAL_SEEDING, torch.manual_seed, torch.seed,
                     torch.set_rng_state, torch.random.fork_rng, torch.random.manual_seed, torch.random.seed,
                     torch.random.set_rng_state)
    sub.two_streams_from_one_seed(3, 2)  # an untouched stub reads 未着手


def test_two_streams_from_one_seed_source_values(sub):
    u, z = expect_sequence(sub.two_streams_from_one_seed(42, 3), 2)
    expect_tensor(u, torch.tensor([0.8823, 0.9150, 0.3829]), name="u", atol=5e-5, rtol=0)
    expect_tensor(z, torch.tensor([-0.6484, -0.7058, 0.6432]), name="z", atol=5e-5, rtol=0)


def test_two_streams_from_one_seed_each_stream_from_its_own_generator(sub, gen):
    """u from a generator seeded with seed, z from another seeded with seed + 1: n from 1 up, so that drawing z after
    u from one generator, or seeding both alike, shows."""
    for n in (1, int(torch.randint(2, 40, (), generator=gen))):
        seed = int(torch.randint(0, 2**31 - 2, (), generator=gen))
        u, z = expect_sequence(sub.two_streams_from_one_seed(seed, n), 2)
        expected_u, expected_z = _streams(seed, n)
        expect_tensor(u, expected_u, name=f"two_streams_from_one_seed({seed}, {n}) の u")
        expect_tensor(z, expected_z, name=f"two_streams_from_one_seed({seed}, {n}) の z")


def test_two_streams_from_one_seed_matches_reference(sub, ref, gen):
    seed, n = int(torch.randint(0, 10_000, (), generator=gen)), int(torch.randint(1, 20, (), generator=gen))
    actual = expect_sequence(sub.two_streams_from_one_seed(seed, n), 2)
    expected = ref.two_streams_from_one_seed(seed, n)
    for i in range(2):
        expect_tensor(actual[i], expected[i], name=f"戻り値[{i}]")


def test_two_streams_from_one_seed_leaves_global_rng(sub, gen):
    torch.manual_seed(int(torch.randint(0, 10_000, (), generator=gen)))
    before = RngSnapshot(sub)
    sub.two_streams_from_one_seed(int(torch.randint(0, 10_000, (), generator=gen)), 5)
    expect_rng_unchanged(before)
