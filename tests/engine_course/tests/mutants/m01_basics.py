"""Wrong answers for the engine's test course, chapter 01: ``--kata-mutants`` in this course must reject each with
a verdict naming what differs (tests/test_plugin.py)."""
import torch

from kata.api.mutants import mutant


@mutant("01", "answer", expect="型")
def answer_as_text():
    return "42"


@mutant("01", "scaled", expect="データ型 (dtype)")
def scaled_in_float64(x: torch.Tensor, k: float) -> torch.Tensor:
    return (x * k).double()


@mutant("01", "scaled", expect="の値が違います")
def scaled_by_two(x: torch.Tensor, k: float) -> torch.Tensor:
    return x * 2


@mutant("01", "scaled_twice", expect="『戻り値[1]』の値が違います")
def scaled_twice_once(x: torch.Tensor, k: float) -> tuple[torch.Tensor, torch.Tensor]:
    return x * k, x * k
