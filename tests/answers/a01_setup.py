"""Correct answers for chapter 01, written differently from the reference (every check must accept them)."""
import torch

from kata.api.mutants import answer


@answer("01", "torch_version")
def version_object_itself():
    return torch.__version__  # a TorchVersion, a subclass of str


@answer("01", "rand_with_generator")
def generator_seeded_by_its_method(seed, n):
    generator = torch.Generator()
    generator.manual_seed(seed)
    return torch.rand(n, generator=generator)


@answer("01", "two_streams_from_one_seed")
def z_drawn_before_u(seed, n):
    """The streams are independent: drawing z first changes nothing."""
    g_normal = torch.Generator()
    g_normal.manual_seed(seed + 1)
    z = torch.normal(0.0, 1.0, (n,), generator=g_normal)
    g_uniform = torch.Generator()
    g_uniform.manual_seed(seed)
    return torch.empty(n).uniform_(0, 1, generator=g_uniform), z
