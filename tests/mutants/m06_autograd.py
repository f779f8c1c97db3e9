"""Wrong answers for chapter 06."""
import torch

from kata.api.mutants import mutant

# -- grad_of_mean ------------------------------------------------------------------------------------------------

@mutant("06", "grad_of_mean", expect="勾配")
def forgets_backward(x):
    y = ((x + 2) ** 2 + 3).mean()
    return y, x.grad


@mutant("06", "grad_of_mean", expect=("勾配", "2 倍"))
def backward_twice(x):
    y = ((x + 2) ** 2 + 3).mean()
    y.backward(retain_graph=True)
    y.backward()
    return y, x.grad


@mutant("06", "grad_of_mean", expect=("値が違います", "合計 (sum)"))
def sum_instead_of_mean(x):
    y = ((x + 2) ** 2 + 3).sum()
    y.backward()
    return y, x.grad


@mutant("06", "grad_of_mean", expect="grad_fn")
def returns_detached_y(x):
    y = ((x + 2) ** 2 + 3).mean()
    y.backward()
    return y.detach(), x.grad


@mutant("06", "grad_of_mean", expect="型が違います")
def returns_python_float(x):
    y = ((x + 2) ** 2 + 3).mean()
    y.backward()
    return y.item(), x.grad


@mutant("06", "grad_of_mean", expect=("入力 x.grad", "None"))
def hard_coded_source_grad(x):
    y = ((x + 2) ** 2 + 3).mean()
    return y, torch.tensor([1.3333, 2.0000, 2.6667])


@mutant("06", "grad_of_mean", expect=("勾配", "要素数 (3) と同じ"))
def backward_of_the_sum(x):
    terms = (x + 2) ** 2 + 3
    terms.sum().backward()
    return terms.mean(), x.grad


@mutant("06", "grad_of_mean", expect=("y (戻り値[0])", "形状"), headline=True, absent="len(x)")
def mean_over_dim_0(x):
    y = ((x + 2) ** 2 + 3).mean(dim=0)
    y.backward(torch.ones_like(y))
    return y, x.grad


@mutant("06", "grad_of_mean", expect=("len(x)", "numel"))
def divides_by_len_not_numel(x):
    y = ((x + 2) ** 2 + 3).sum() / len(x)
    y.backward()
    return y, x.grad


# -- requires_grad_arange --------------------------------------------------------------------------------------

@mutant("06", "requires_grad_arange", expect="requires_grad")
def forgets_requires_grad(n):
    return torch.arange(n, dtype=torch.float32)


@mutant("06", "requires_grad_arange", expect="is_leaf")
def float_after_requires_grad(n):
    return torch.arange(n, dtype=torch.float64, requires_grad=True).float()


@mutant("06", "requires_grad_arange", expect="データ型")
def float64(n):
    return torch.arange(n, dtype=torch.float64, requires_grad=True)


@mutant("06", "requires_grad_arange", expect="形状")
def hard_coded(n):
    return torch.tensor([0.0, 1.0, 2.0], requires_grad=True)


@mutant("06", "requires_grad_arange", expect="値が違います")
def starts_at_one(n):
    return torch.arange(1, n + 1, dtype=torch.float32, requires_grad=True)


# -- accumulated_grad ------------------------------------------------------------------------------------------

@mutant("06", "accumulated_grad", expect="勾配")
def zeroes_between(x, times):
    for _ in range(times):
        x.grad = None
        ((x + 2) ** 2 + 3).mean().backward()
    return x.grad


@mutant("06", "accumulated_grad", expect="勾配")
def backward_once(x, times):
    ((x + 2) ** 2 + 3).mean().backward()
    return x.grad


@mutant("06", "accumulated_grad", expect="勾配")
def off_by_one(x, times):
    y = ((x + 2) ** 2 + 3).mean()
    for _ in range(times + 1):
        y.backward(retain_graph=True)
    return x.grad


@mutant("06", "accumulated_grad", expect="入力 x.grad")
def scales_a_copy(x, times):
    ((x + 2) ** 2 + 3).mean().backward()
    return x.grad * times


@mutant("06", "accumulated_grad", expect=("勾配", "backward() 1 回分"))
def single_backward_pass(x, times):
    ((x + 2) ** 2 + 3).mean().backward()
    return x.grad


@mutant("06", "accumulated_grad", expect=("勾配", "backward() 1 回分"))
def zeroes_between_passes(x, times):
    for _ in range(times):
        if x.grad is not None:
            x.grad.zero_()
        ((x + 2) ** 2 + 3).mean().backward()
    return x.grad


# -- vector_backward -------------------------------------------------------------------------------------------

@mutant("06", "vector_backward", expect="勾配")
def gradient_of_twos(x):
    y = x * x
    y.backward(2 * torch.ones_like(y))
    return x.grad


@mutant("06", "vector_backward", expect="勾配")
def mean_instead_of_ones(x):
    (x * x).mean().backward()
    return x.grad


@mutant("06", "vector_backward", expect=("入力 x.grad", "None"))
def derivative_by_hand(x):
    return 2 * x.detach()


@mutant("06", "vector_backward", expect=("x.grad", "値が違います"))
def cube(x):
    y = x * x * x
    y.backward(torch.ones_like(y))
    return x.grad


# -- detach_grad -----------------------------------------------------------------------------------------------

@mutant("06", "detach_grad", expect=("x.grad", "detach() しない"))
def forgets_detach(x):
    u = x * x
    (u * x).sum().backward()
    return x.grad


@mutant("06", "detach_grad", expect=("x.grad", "x は detach しません"))
def detaches_the_wrong_factor(x):
    u = x * x
    (u * x.detach()).sum().backward()
    return x.grad


@mutant("06", "detach_grad", expect=("入力 x.grad", "None"))
def returns_u(x):
    return (x * x).detach()


@mutant("06", "detach_grad", expect="勾配")
def mean_instead_of_sum(x):
    u = (x * x).detach()
    (u * x).mean().backward()
    return x.grad


# -- sgd_step_ -------------------------------------------------------------------------------------------------

@mutant("06", "sgd_step_", expect="そのもの")
def rebinds_instead_of_in_place(w, lr):
    with torch.no_grad():
        w = w - lr * w.grad
    return w


@mutant("06", "sgd_step_", expect=("例外", "no_grad"))
def updates_while_recording(w, lr):
    w -= lr * w.grad
    w.grad = None
    return w


@mutant("06", "sgd_step_", expect="勾配")
def keeps_the_grad(w, lr):
    with torch.no_grad():
        w -= lr * w.grad
    return w


@mutant("06", "sgd_step_", expect="値が違います")
def gradient_ascent(w, lr):
    with torch.no_grad():
        w += lr * w.grad
    w.grad = None
    return w


@mutant("06", "sgd_step_", expect="そのもの")
def returns_detached_copy(w, lr):
    out = w.detach() - lr * w.grad
    w.grad = None
    return out


# -- predict_no_grad -------------------------------------------------------------------------------------------

@mutant("06", "predict_no_grad", expect="is_grad_enabled")
def detaches_afterwards(f, x):
    return f(x).detach()


@mutant("06", "predict_no_grad", expect="requires_grad")
def records_the_graph(f, x):
    return f(x)


@mutant("06", "predict_no_grad", expect="is_grad_enabled")
def leaves_grad_mode_off(f, x):
    torch.set_grad_enabled(False)
    return f(x)


@mutant("06", "predict_no_grad", expect="requires_grad")
def detaches_only_the_input(f, x):
    return f(x.detach())


@mutant("06", "predict_no_grad", expect=("requires_grad", "あとから切り離す"))
def returns_f_of_x_with_its_graph(f, x):
    return f(x)


@mutant("06", "accumulated_grad", expect=("勾配", "times 倍していませんか"))
def one_backward_then_scaled(x, times):
    """Equal to times backward() calls in float32 and float64; float16 rounds the two differently."""
    y = ((x + 2) ** 2 + 3).mean()
    y.backward()
    x.grad *= times
    return x.grad


@mutant("06", "accumulated_grad", expect=("勾配", "times 倍していませんか"))
def grad_assigned_times_autograd_grad(x, times):
    y = ((x + 2) ** 2 + 3).mean()
    (g,) = torch.autograd.grad(y, x)
    x.grad = times * g
    return x.grad


@mutant("06", "vector_backward", expect=("計算グラフにつながっています", "代入していませんか"))
def grad_assigned_without_backward(x):
    x.grad = 2 * x
    return x.grad


@mutant("06", "grad_of_mean", expect=("計算グラフにつながっています", "代入していませんか"))
def mean_grad_assigned_without_backward(x):
    y = ((x + 2) ** 2 + 3).mean()
    x.grad = 2 * (x + 2) / x.numel()
    return y, x.grad


@mutant("06", "sgd_step_", expect=("バージョンカウンタ", "w.data を書き換えていませんか"))
def updates_through_data(w, lr):
    w.data -= lr * w.grad
    w.grad = None
    return w


# -- derivative_at_points ----------------------------------------------------------------------------------------

@mutant("06", "derivative_at_points", expect=("ループ", "for"))
def derivative_point_by_point(f, x):
    z = x.detach().reshape(-1)
    out = torch.empty_like(z)
    for i in range(z.numel()):
        zi = z[i].clone().requires_grad_()
        (out[i],) = torch.autograd.grad(f(zi), zi)
    return out.reshape(x.shape)


@mutant("06", "derivative_at_points", expect=("使えません", "backward"))
def derivative_through_backward(f, x):
    z = x.detach().requires_grad_()
    f(z).sum().backward()
    return z.grad


@mutant("06", "derivative_at_points", expect=("入力 x", "requires_grad"))
def derivative_marks_the_input(f, x):
    x.requires_grad_()
    (grad,) = torch.autograd.grad(f(x).sum(), x)
    return grad


@mutant("06", "derivative_at_points", expect=("値が違います", "平均"))
def derivative_of_the_mean(f, x):
    z = x.detach().requires_grad_()
    (grad,) = torch.autograd.grad(f(z).mean(), z)
    return grad


@mutant("06", "derivative_at_points", expect=("requires_grad", "create_graph"))
def derivative_keeps_a_graph(f, x):
    z = x.detach().requires_grad_()
    (grad,) = torch.autograd.grad(f(z).sum(), z, create_graph=True)
    return grad


@mutant("06", "derivative_at_points", expect="2 回")
def derivative_calls_f_twice(f, x):
    z = x.detach().requires_grad_()
    y = f(z)
    (grad,) = torch.autograd.grad(f(z).sum(), z)
    return grad + 0 * y.detach()


@mutant("06", "derivative_at_points", expect="勾配")
def derivative_into_the_callers_grad(f, x):
    z = x if x.requires_grad else x.detach().requires_grad_()
    (grad,) = torch.autograd.grad(f(z).sum(), z)
    if x.requires_grad:
        x.grad = grad.clone()
    return grad
