"""Wrong answers for chapter 08.

Class mutants are all named ``SimpleClassifier`` (so that their repr reads like the learner's) and registered under
their own ``name``.
"""
import numpy as np
import torch
import torch.nn.functional as functional
from torch import nn
from torch import sigmoid as logistic

from kata.api.mutants import mutant

# -- SimpleClassifier ------------------------------------------------------------------------------------------------


@mutant("08", "SimpleClassifier", expect="パラメータ", name="layers_in_plain_list")
class SimpleClassifier(nn.Module):
    def __init__(self, num_inputs, num_hidden, num_outputs):
        super().__init__()
        self.layers = [nn.Linear(num_inputs, num_hidden), nn.Tanh(), nn.Linear(num_hidden, num_outputs)]

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


@mutant("08", "SimpleClassifier", expect="act_fn", name="sigmoid_instead_of_tanh")
class SimpleClassifier(nn.Module):  # noqa: F811
    def __init__(self, num_inputs, num_hidden, num_outputs):
        super().__init__()
        self.linear1 = nn.Linear(num_inputs, num_hidden)
        self.act_fn = nn.Sigmoid()
        self.linear2 = nn.Linear(num_hidden, num_outputs)

    def forward(self, x):
        return self.linear2(self.act_fn(self.linear1(x)))


@mutant("08", "SimpleClassifier", expect="値が違います", name="returns_probabilities")
class SimpleClassifier(nn.Module):  # noqa: F811
    def __init__(self, num_inputs, num_hidden, num_outputs):
        super().__init__()
        self.linear1 = nn.Linear(num_inputs, num_hidden)
        self.act_fn = nn.Tanh()
        self.linear2 = nn.Linear(num_hidden, num_outputs)

    def forward(self, x):
        return torch.sigmoid(self.linear2(self.act_fn(self.linear1(x))))


@mutant("08", "SimpleClassifier", expect=("linear1.weight の初期値", "値が違います"), name="creates_linear2_first")
class SimpleClassifier(nn.Module):  # noqa: F811
    def __init__(self, num_inputs, num_hidden, num_outputs):
        super().__init__()
        second = nn.Linear(num_hidden, num_outputs)
        self.linear1 = nn.Linear(num_inputs, num_hidden)
        self.act_fn = nn.Tanh()
        self.linear2 = second

    def forward(self, x):
        return self.linear2(self.act_fn(self.linear1(x)))


@mutant("08", "SimpleClassifier", expect="linear1", name="other_attribute_names")
class SimpleClassifier(nn.Module):  # noqa: F811
    def __init__(self, num_inputs, num_hidden, num_outputs):
        super().__init__()
        self.fc1 = nn.Linear(num_inputs, num_hidden)
        self.act_fn = nn.Tanh()
        self.fc2 = nn.Linear(num_hidden, num_outputs)

    def forward(self, x):
        return self.fc2(self.act_fn(self.fc1(x)))


@mutant("08", "SimpleClassifier", expect="値が違います", name="forward_skips_activation")
class SimpleClassifier(nn.Module):  # noqa: F811
    def __init__(self, num_inputs, num_hidden, num_outputs):
        super().__init__()
        self.linear1 = nn.Linear(num_inputs, num_hidden)
        self.act_fn = nn.Tanh()
        self.linear2 = nn.Linear(num_hidden, num_outputs)

    def forward(self, x):
        return self.linear2(self.linear1(x))


@mutant("08", "SimpleClassifier", expect=("パラメータ数", "17"), name="no_bias_in_linear2")
class SimpleClassifier(nn.Module):  # noqa: F811
    def __init__(self, num_inputs, num_hidden, num_outputs):
        super().__init__()
        self.linear1 = nn.Linear(num_inputs, num_hidden)
        self.act_fn = nn.Tanh()
        self.linear2 = nn.Linear(num_hidden, num_outputs, bias=False)

    def forward(self, x):
        return self.linear2(self.act_fn(self.linear1(x)))


@mutant("08", "SimpleClassifier", expect="requires_grad", name="forward_without_grad")
class SimpleClassifier(nn.Module):  # noqa: F811
    def __init__(self, num_inputs, num_hidden, num_outputs):
        super().__init__()
        self.linear1 = nn.Linear(num_inputs, num_hidden)
        self.act_fn = nn.Tanh()
        self.linear2 = nn.Linear(num_hidden, num_outputs)

    @torch.no_grad()
    def forward(self, x):
        return self.linear2(self.act_fn(self.linear1(x)))


@mutant("08", "SimpleClassifier", expect=("例外", "super().__init__()"), name="forgets_super_init")
class SimpleClassifier(nn.Module):
    def __init__(self, num_inputs, num_hidden, num_outputs):
        self.linear1 = nn.Linear(num_inputs, num_hidden)
        self.act_fn = nn.Tanh()
        self.linear2 = nn.Linear(num_hidden, num_outputs)

    def forward(self, x):
        return self.linear2(self.act_fn(self.linear1(x)))


# -- count_parameters -----------------------------------------------------------------------------------------------

@mutant("08", "count_parameters", expect="が違います。期待")
def counts_frozen_too(model):
    return sum(p.numel() for p in model.parameters())


@mutant("08", "count_parameters", expect="が違います。期待")
def counts_tensors_not_scalars(model):
    return len([p for p in model.parameters() if p.requires_grad])


@mutant("08", "count_parameters", expect="が違います。期待")
def counts_state_dict(model):
    return sum(v.numel() for v in model.state_dict().values())


@mutant("08", "count_parameters", expect="型が違います")
def returns_tensor(model):
    return torch.tensor(sum(p.numel() for p in model.parameters() if p.requires_grad))


@mutant("08", "count_parameters", expect="が違います。期待")
def counts_shared_twice(model):
    return sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False) if p.requires_grad)


# -- build_mlp ------------------------------------------------------------------------------------------------------

class _ListMLP(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.layers = layers

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def _layers(sizes, act=nn.Tanh, last=False):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i and act:
            layers.append(act())
        layers.append(nn.Linear(a, b))
    if last:
        layers.append(act())
    return layers


@mutant("08", "build_mlp", expect="パラメータ")
def plain_python_list(sizes):
    return _ListMLP(_layers(sizes))


@mutant("08", "build_mlp", expect="値が違います")
def tanh_after_last_layer(sizes):
    return nn.Sequential(*_layers(sizes, last=True))


@mutant("08", "build_mlp", expect="値が違います")
def relu_instead_of_tanh(sizes):
    return nn.Sequential(*_layers(sizes, act=nn.ReLU))


@mutant("08", "build_mlp", expect="値が違います")
def no_activation(sizes):
    return nn.Sequential(*_layers(sizes, act=None))


@mutant("08", "build_mlp", expect="形状")
def in_and_out_swapped(sizes):
    layers = _layers(sizes)
    return nn.Sequential(*(nn.Linear(m.out_features, m.in_features) if isinstance(m, nn.Linear) else m
                           for m in layers))


@mutant("08", "build_mlp", expect=("初期値", "値が違います"))
def builds_layers_back_to_front(sizes):
    linears = [nn.Linear(a, b) for a, b in reversed(list(zip(sizes[:-1], sizes[1:])))][::-1]
    layers = []
    for i, layer in enumerate(linears):
        layers += [nn.Tanh(), layer] if i else [layer]
    return nn.Sequential(*layers)


# -- my_tanh --------------------------------------------------------------------------------------------------------

@mutant("08", "my_tanh", expect="nan")
def naive_formula(x):
    return (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x))


@mutant("08", "my_tanh", expect=("使えません", "torch.tanh"))
def uses_torch_tanh(x):
    return torch.tanh(x)


@mutant("08", "my_tanh", expect=("使えません", "torch.Tensor.sigmoid"))
def via_sigmoid(x):
    return 2 * (2 * x).sigmoid() - 1


@mutant("08", "my_tanh", expect="データ型")
def computes_in_float64(x):
    e = torch.exp(-2 * x.double().abs())
    return torch.sign(x) * (1 - e) / (1 + e)


@mutant("08", "my_tanh", expect="値が違います")
def forgets_the_sign(x):
    e = torch.exp(-2 * x.abs())
    return (1 - e) / (1 + e)


@mutant("08", "my_tanh", expect="torch.exp")
def through_numpy(x):
    return torch.as_tensor(np.tanh(x.detach().numpy()))


@mutant("08", "my_tanh", expect="書き換えられています")
def overwrites_input(x):
    sign = torch.sign(x)
    e = x.abs_().mul_(-2).exp_()
    return sign * (1 - e) / (1 + e)


@mutant("08", "build_mlp", expect="Linear 層の数", absent="Python のリスト")
def one_layer_short(sizes):
    # range(len(sizes) - 2): the last Linear is never made.
    return nn.Sequential(*_layers(sizes[:-1]))


# Evasions of the rule read from the source text (each spelling of a forbidden op is a kind of its own).

def _squash(z):
    return torch.tanh(z)


@mutant("08", "my_tanh", expect=("使えません", "logistic"))
def imported_under_another_name(x):
    return 2 * logistic(2 * x) - 1


@mutant("08", "my_tanh", expect=("使えません", "functional.sigmoid"))
def through_an_aliased_functional_module(x):
    return 2 * functional.sigmoid(2 * x) - 1


@mutant("08", "my_tanh", expect=("使えません", "torch.Tensor.tanh"))
def unbound_tensor_method(x):
    return torch.Tensor.tanh(x)


@mutant("08", "my_tanh", expect=("使えません", "T.tanh"))
def aliased_torch_module(x):
    T = torch
    return T.tanh(x)


@mutant("08", "my_tanh", expect=("使えません", "torch.tanh", "m08_modules.py"))
def hidden_in_a_helper(x):
    return _squash(x)


@mutant("08", "my_tanh", expect=("使えません", "nn.Tanh"))
def tanh_layer(x):
    return nn.Tanh()(x)


@mutant("08", "my_tanh", expect=("使えません", "torch.special.expit"))
def sigmoid_under_its_special_name(x):
    return 2 * torch.special.expit(2 * x) - 1


@mutant("08", "my_tanh", expect=("使えません", "torch.ops.aten.tanh"))
def aten_operator(x):
    return torch.ops.aten.tanh.default(x)


@mutant("08", "my_tanh", expect=("使えません", "getattr"))
def name_built_at_run_time(x):
    return getattr(torch, "tan" + "h")(x)


@mutant("08", "my_tanh", expect=("使えません", "__import__"))
def imported_at_run_time(x):
    return __import__("torch").tanh(x)


@mutant("08", "my_tanh", expect=("使えません", "eval"))
def evaluated_text(x):
    return eval("torch.ta" + "nh")(x)


# -- parameters_by_child ---------------------------------------------------------------------------------------------

@mutant("08", "parameters_by_child", expect=("使えません", "parameters"))
def counts_of_each_childs_parameters(model):
    return {name: sum(p.numel() for p in child.parameters() if p.requires_grad)
            for name, child in model.named_children()}


@mutant("08", "parameters_by_child", expect=("値が違います", "共有"))
def each_childs_named_parameters(model):
    return {name: sum(p.numel() for _, p in child.named_parameters() if p.requires_grad)
            for name, child in model.named_children()}


@mutant("08", "parameters_by_child", expect=("値が違います", "共有"))
def duplicates_kept(model):
    counts = {name: 0 for name, _ in model.named_children()}
    for name, p in model.named_parameters(remove_duplicate=False):
        if p.requires_grad:
            counts[name.split(".")[0]] += p.numel()
    return counts


@mutant("08", "parameters_by_child", expect="値が違います")
def shared_counted_at_the_last_child(model):
    owner = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        owner[p] = name.split(".")[0]
    counts = {name: 0 for name, _ in model.named_children()}
    for p, child in owner.items():
        if p.requires_grad:
            counts[child] += p.numel()
    return counts


@mutant("08", "parameters_by_child", expect=("キー", "0 で"))
def children_without_parameters_left_out(model):
    counts = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            child = name.split(".")[0]
            counts[child] = counts.get(child, 0) + p.numel()
    return counts


@mutant("08", "parameters_by_child", expect=("キー", "最初の"))
def keys_are_the_layers_names(model):
    counts = {}
    for name, p in model.named_parameters():
        layer = name.rsplit(".", 1)[0]
        counts[layer] = counts.get(layer, 0) + (p.numel() if p.requires_grad else 0)
    return counts


@mutant("08", "parameters_by_child", expect=("値が違います", "凍結"))
def frozen_parameters_counted(model):
    counts = {name: 0 for name, _ in model.named_children()}
    for name, p in model.named_parameters():
        counts[name.split(".")[0]] += p.numel()
    return counts


@mutant("08", "parameters_by_child", expect=("使えません", "state_dict"))
def counts_from_the_state_dict(model):
    counts = {name: 0 for name, _ in model.named_children()}
    for name, value in model.state_dict().items():
        counts[name.split(".")[0]] += value.numel()
    return counts


@mutant("08", "parameters_by_child", expect=("使えません", "modules"))
def owners_found_through_modules(model):
    counts = {name: 0 for name, _ in model.named_children()}
    seen = set()
    for name, child in model.named_children():
        for layer in child.modules():
            for p in layer._parameters.values():
                if p is not None and p.requires_grad and p not in seen:
                    seen.add(p)
                    counts[name] += p.numel()
    return counts


@mutant("08", "parameters_by_child", expect="型")
def counts_as_tensors(model):
    counts = {name: torch.tensor(0) for name, _ in model.named_children()}
    for name, p in model.named_parameters():
        if p.requires_grad:
            counts[name.split(".")[0]] += p.numel()
    return counts
