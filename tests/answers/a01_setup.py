"""Correct answers for chapter 01, written differently from the reference (every check must accept them)."""
import torch

from kata.mutants import answer


@answer("01", "torch_version")
def version_object_itself():
    return torch.__version__  # a TorchVersion, a subclass of str


@answer("01", "rand_with_generator")
def generator_seeded_by_its_method(seed, n):
    generator = torch.Generator()
    generator.manual_seed(seed)
    return torch.rand(n, generator=generator)
