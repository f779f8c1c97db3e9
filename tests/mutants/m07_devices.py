"""Wrong answers for chapter 07."""
import random
import time

import numpy as np
import torch

from kata.api.mutants import mutant

# -- pick_device ---------------------------------------------------------------------------------------------------


@mutant("07", "pick_device", expect=("デバイスの種類", "mps"))
def source_text_ignores_mps():
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


@mutant("07", "pick_device", expect=("デバイスの種類", "cuda"))
def prefers_mps_over_cuda():
    if torch.backends.mps.is_available():
        return torch.device("mps")
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


@mutant("07", "pick_device", expect="型が違います")
def returns_a_string():
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


@mutant("07", "pick_device", expect="デバイスの種類")
def hard_coded_cpu():
    return torch.device("cpu")


@mutant("07", "pick_device", expect="デバイスの種類")
def decided_at_import(cuda=torch.cuda.is_available(), mps=torch.backends.mps.is_available()):
    return torch.device("cuda" if cuda else "mps" if mps else "cpu")


# -- to_device -----------------------------------------------------------------------------------------------------

@mutant("07", "to_device", expect="デバイス")
def discards_the_result(x, device):
    x.to(device)
    return x


@mutant("07", "to_device", expect="デバイス")
def always_cpu(x, device):
    return x.cpu()


@mutant("07", "to_device", expect="データ型")
def casts_to_float32(x, device):
    return x.to(device, torch.float32)


@mutant("07", "to_device", expect="値が違います")
def fresh_zeros_on_device(x, device):
    return torch.zeros_like(x, device=device)


# -- same_device_add -----------------------------------------------------------------------------------------------

@mutant("07", "same_device_add", expect=("例外", "別々のデバイス"))
def does_not_move(a, b):
    return a + b


@mutant("07", "same_device_add", expect="書き換えられています")
def adds_into_a(a, b):
    return a.add_(b.to(a.device))


@mutant("07", "same_device_add", expect="データ型")
def casts_to_float32(a, b):
    return (a + b.to(a.device)).float()


@mutant("07", "same_device_add", expect="値が違います")
def forgets_a(a, b):
    return b.to(a.device) + torch.zeros_like(a)


@mutant("07", "same_device_add", expect=("例外", "meta デバイス"))
def adds_on_the_cpu_then_moves(a, b):
    return (a.cpu() + b.cpu()).to(a.device)


# -- seed_everything -----------------------------------------------------------------------------------------------

def _cudnn():
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def _seed_the_three(seed):
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


@mutant("07", "seed_everything", expect=("再現", "NumPy"))
def forgets_numpy(seed):
    torch.manual_seed(seed)
    random.seed(seed)
    _cudnn()


@mutant("07", "seed_everything", expect=("再現", "NumPy"))
def seeds_a_private_numpy_generator(seed):
    torch.manual_seed(seed)
    np.random.default_rng(seed)
    random.seed(seed)
    _cudnn()


@mutant("07", "seed_everything", expect=("再現", "random"))
def forgets_random(seed):
    torch.manual_seed(seed)
    np.random.seed(seed)
    _cudnn()


@mutant("07", "seed_everything", expect="torch.backends.cudnn.benchmark")
def leaves_benchmark_on(seed):
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = True


@mutant("07", "seed_everything", expect="torch.backends.cudnn.deterministic")
def deterministic_algorithms_instead_of_cudnn(seed):
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False


@mutant("07", "seed_everything", expect="torch.cuda.manual_seed_all")
def cuda_seed_from_the_source_text(seed):
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(42)
    np.random.seed(seed)
    random.seed(seed)
    _cudnn()


@mutant("07", "seed_everything", expect=("torch.backends.cudnn.deterministic", "CUDA が使えないときにだけ"))
def cudnn_flags_guarded_the_wrong_way(seed):
    _seed_the_three(seed)
    if not torch.cuda.is_available():
        _cudnn()


@mutant("07", "seed_everything", expect="torch.backends.cudnn.deterministic")
def cudnn_flags_only_with_mps(seed):
    _seed_the_three(seed)
    if torch.backends.mps.is_available():
        _cudnn()


@mutant("07", "seed_everything", expect="値が違います")
def off_by_one_seed(seed):
    torch.manual_seed(seed + 1)
    np.random.seed(seed + 1)
    random.seed(seed + 1)
    _cudnn()


# -- time_matmul ---------------------------------------------------------------------------------------------------

def _operands(n, device):
    return torch.randn(n, n, device=device), torch.randn(n, n, device=device)


@mutant("07", "time_matmul", expect="型が違います")
def integer_nanoseconds(n, device):
    a, b = _operands(n, device)
    start = time.perf_counter_ns()
    a @ b
    return time.perf_counter_ns() - start


@mutant("07", "time_matmul", expect="範囲外")
def start_minus_end(n, device):
    a, b = _operands(n, device)
    start = time.perf_counter()
    a @ b
    return start - time.perf_counter()


@mutant("07", "time_matmul", expect="範囲外")
def returns_the_clock(n, device):
    a, b = _operands(n, device)
    a @ b
    return time.time()


@mutant("07", "time_matmul", expect="行列積")
def times_only_the_setup(n, device):
    start = time.perf_counter()
    _operands(n, device)
    return time.perf_counter() - start


@mutant("07", "time_matmul", expect="型が違います")
def returns_a_tensor(n, device):
    a, b = _operands(n, device)
    start = time.perf_counter()
    a @ b
    return torch.tensor(time.perf_counter() - start)


@mutant("07", "time_matmul", expect=("範囲外", "時刻を読む前に torch.cuda.synchronize()"))
def never_synchronizes(n, device):
    """Right on a CPU; on a GPU it times only the launch of the product (caught by the simulated GPU)."""
    a, b = _operands(n, device)
    start = time.perf_counter()
    a @ b
    return time.perf_counter() - start


@mutant("07", "time_matmul", expect=("範囲外", "時刻を読み始める前にも synchronize()"))
def synchronizes_only_after(n, device):
    """The product is waited for, but so are the matrices' creation kernels still queued before it."""
    a, b = _operands(n, device)
    start = time.perf_counter()
    a @ b
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


@mutant("07", "time_matmul", expect=("範囲外", "時刻を読む前に torch.cuda.synchronize()"))
def synchronizes_only_before(n, device):
    a, b = _operands(n, device)
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    a @ b
    return time.perf_counter() - start


@mutant("07", "same_device_add", expect="データ型")
def converts_b_to_a(a, b):
    """b.to(a) takes a's dtype as well as its device."""
    return a + b.to(a)


# -- random_leaf_on_device ---------------------------------------------------------------------------------------

@mutant("07", "random_leaf_on_device", expect=("is_leaf", "葉"))
def leaf_requires_grad_before_the_move(shape, device, generator):
    return torch.randn(shape, generator=generator, requires_grad=True).to(device)


@mutant("07", "random_leaf_on_device", expect=("generator", "device の上で直接"))
def leaf_drawn_on_the_device(shape, device, generator):
    return torch.randn(shape, generator=generator, device=device).requires_grad_()


@mutant("07", "random_leaf_on_device", expect=("使えません", "manual_seed"))
def leaf_from_the_seeded_global_rng(shape, device, generator):
    torch.manual_seed(generator.initial_seed())
    return torch.randn(shape).to(device).requires_grad_()


@mutant("07", "random_leaf_on_device", expect="generator")
def leaf_from_the_global_rng(shape, device, generator):
    return torch.randn(shape).to(device).requires_grad_()


@mutant("07", "random_leaf_on_device", expect="requires_grad")
def leaf_without_requires_grad(shape, device, generator):
    return torch.randn(shape, generator=generator).to(device)


@mutant("07", "random_leaf_on_device", expect="データ型")
def leaf_in_float64(shape, device, generator):
    return torch.randn(shape, generator=generator, dtype=torch.float64).to(device).requires_grad_()


@mutant("07", "random_leaf_on_device", expect="デバイス")
def leaf_left_on_the_cpu(shape, device, generator):
    return torch.randn(shape, generator=generator).requires_grad_()
