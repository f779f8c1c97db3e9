"""Wrong answers for chapter 09.

Class mutants are all named ``XORDataset`` and registered under their own ``name``.
"""
import torch
from torch.utils import data

from kata.api.mutants import mutant

# -- XORDataset -----------------------------------------------------------------------------------------------------


class _Base(data.Dataset):
    def __len__(self):
        return len(self.label)

    def __getitem__(self, idx):
        return self.data[idx], self.label[idx]


@mutant("09", "XORDataset", expect="データ型", name="float_labels")
class XORDataset(_Base):
    def __init__(self, size, std=0.1):
        super().__init__()
        points = torch.randint(0, 2, (size, 2)).float()
        self.label = (points.sum(dim=1) == 1).float()
        self.data = points + std * torch.randn(size, 2)


@mutant("09", "XORDataset", expect=("ラベル", "値が違います"), name="labels_from_noisy_points")
class XORDataset(_Base):  # noqa: F811
    def __init__(self, size, std=0.1):
        super().__init__()
        points = torch.randint(0, 2, (size, 2)).float()
        points = points + std * torch.randn(size, 2)
        self.label = (points.sum(dim=1) == 1).long()
        self.data = points


@mutant("09", "XORDataset", expect=("ラベル", "値が違います"), name="labels_from_rounded_noisy_points")
class XORDataset(_Base):  # noqa: F811
    def __init__(self, size, std=0.1):
        super().__init__()
        points = torch.randint(0, 2, (size, 2)).float()
        points = points + std * torch.randn(size, 2)
        # Rounding the noisy points gives the corners back only while the noise stays below 0.5.
        self.label = (points.round().clamp(0, 1).sum(dim=1) == 1).long()
        self.data = points


@mutant("09", "XORDataset", expect=("同じシード", "値が違います"), name="noise_drawn_first")
class XORDataset(_Base):  # noqa: F811
    def __init__(self, size, std=0.1):
        super().__init__()
        noise = std * torch.randn(size, 2)
        points = torch.randint(0, 2, (size, 2)).float()
        self.label = (points.sum(dim=1) == 1).long()
        self.data = points + noise


@mutant("09", "XORDataset", expect="標準偏差", name="ignores_std")
class XORDataset(_Base):  # noqa: F811
    def __init__(self, size, std=0.1):
        super().__init__()
        points = torch.randint(0, 2, (size, 2)).float()
        self.label = (points.sum(dim=1) == 1).long()
        self.data = points + 0.1 * torch.randn(size, 2)


@mutant("09", "XORDataset", expect="len(XORDataset", name="len_counts_numbers")
class XORDataset(_Base):  # noqa: F811
    def __init__(self, size, std=0.1):
        super().__init__()
        points = torch.randint(0, 2, (size, 2)).float()
        self.label = (points.sum(dim=1) == 1).long()
        self.data = points + std * torch.randn(size, 2)

    def __len__(self):
        return self.data.numel()


@mutant("09", "XORDataset", expect="形状", name="item_keeps_batch_dim")
class XORDataset(_Base):  # noqa: F811
    def __init__(self, size, std=0.1):
        super().__init__()
        points = torch.randint(0, 2, (size, 2)).float()
        self.label = (points.sum(dim=1) == 1).long()
        self.data = points + std * torch.randn(size, 2)

    def __getitem__(self, idx):
        return self.data[idx:idx + 1], self.label[idx:idx + 1]


@mutant("09", "XORDataset", expect="データ型", name="float64_points")
class XORDataset(_Base):  # noqa: F811
    def __init__(self, size, std=0.1):
        super().__init__()
        points = torch.randint(0, 2, (size, 2)).double()
        self.label = (points.sum(dim=1) == 1).long()
        self.data = points + std * torch.randn(size, 2, dtype=torch.float64)


@mutant("09", "XORDataset", expect="型が違います", name="item_as_list")
class XORDataset(_Base):  # noqa: F811
    def __init__(self, size, std=0.1):
        super().__init__()
        points = torch.randint(0, 2, (size, 2)).float()
        self.label = (points.sum(dim=1) == 1).long()
        self.data = points + std * torch.randn(size, 2)

    def __getitem__(self, idx):
        return [self.data[idx], self.label[idx]]


# -- make_loader ----------------------------------------------------------------------------------------------------

@mutant("09", "make_loader", expect="num_workers")
def two_worker_processes(dataset, batch_size, shuffle, drop_last=False):
    return data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, num_workers=2)


@mutant("09", "make_loader", expect=("バッチ数", "19"))
def ignores_drop_last(dataset, batch_size, shuffle, drop_last=False):
    return data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)


@mutant("09", "make_loader", expect="シャッフル")
def never_shuffles(dataset, batch_size, shuffle, drop_last=False):
    return data.DataLoader(dataset, batch_size=batch_size, drop_last=drop_last)


@mutant("09", "make_loader", expect=("順番", "値が違います"))
def always_shuffles(dataset, batch_size, shuffle, drop_last=False):
    return data.DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=drop_last)


@mutant("09", "make_loader", expect="バッチ数")
def fixed_batch_size(dataset, batch_size, shuffle, drop_last=False):
    return data.DataLoader(dataset, batch_size=128, shuffle=shuffle, drop_last=drop_last)


@mutant("09", "make_loader", expect="バッチ数")
def drops_last_by_default(dataset, batch_size, shuffle, drop_last=True):
    return data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last)


@mutant("09", "make_loader", expect="型が違います")
def returns_list_of_batches(dataset, batch_size, shuffle, drop_last=False):
    return list(data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last))


# -- seeded_loader --------------------------------------------------------------------------------------------------

@mutant("09", "seeded_loader", expect="乱数状態")
def seeds_global_rng(dataset, batch_size, seed):
    torch.manual_seed(seed)
    return data.DataLoader(dataset, batch_size=batch_size, shuffle=True)


@mutant("09", "seeded_loader", expect="乱数状態")
def generator_not_passed(dataset, batch_size, seed):
    torch.Generator().manual_seed(seed)
    return data.DataLoader(dataset, batch_size=batch_size, shuffle=True)


@mutant("09", "seeded_loader", expect="シャッフル")
def not_shuffled(dataset, batch_size, seed):
    return data.DataLoader(dataset, batch_size=batch_size, generator=torch.Generator().manual_seed(seed))


@mutant("09", "seeded_loader", expect="seed によって変わりません")
def ignores_seed(dataset, batch_size, seed):
    return data.DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(0))


_SHARED = torch.Generator()


@mutant("09", "seeded_loader", expect="再現")
def shares_one_generator(dataset, batch_size, seed):
    return data.DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=_SHARED.manual_seed(seed))


@mutant("09", "seeded_loader", expect="乱数状態")
def forks_global_rng_only_while_building(dataset, batch_size, seed):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return data.DataLoader(dataset, batch_size=batch_size, shuffle=True)


# -- first_batch ----------------------------------------------------------------------------------------------------

@mutant("09", "first_batch", expect="型が違います")
def returns_the_list(loader):
    return next(iter(loader))


@mutant("09", "first_batch", expect="形状")
def returns_last_batch(loader):
    for inputs, labels in loader:
        pass
    return inputs, labels


@mutant("09", "first_batch", expect="形状")
def returns_first_item(loader):
    inputs, labels = loader.dataset[0]
    return inputs, labels


@mutant("09", "first_batch", expect="形状")
def swapped(loader):
    inputs, labels = next(iter(loader))
    return labels, inputs


@mutant("09", "first_batch", expect="値が違います")
def skips_first_batch(loader):
    batches = iter(loader)
    next(batches)
    inputs, labels = next(batches)
    return inputs, labels


@mutant("09", "first_batch", expect=("型が違います", "return a, b"))
def returns_the_batch_list(loader):
    batch = next(iter(loader))
    return batch


@mutant("09", "make_loader", expect=("位置", "sampler"), absent="チェック側の内部エラー")
def drop_last_passed_by_position(dataset, batch_size, shuffle, drop_last=False):
    # DataLoader's fourth parameter is sampler, not drop_last.
    return data.DataLoader(dataset, batch_size, shuffle, drop_last)


@mutant("09", "make_loader", expect="グローバルな乱数", absent="の値が違います")
def draws_from_the_global_rng_while_building(dataset, batch_size, shuffle, drop_last=False):
    start = int(torch.randint(0, 1, ()))  # always 0, but it moves the global generator on before the shuffle
    return data.DataLoader(data.Subset(dataset, range(start, len(dataset))), batch_size=batch_size, shuffle=shuffle,
                           drop_last=drop_last)


@mutant("09", "seeded_loader", expect=("使えません", "torch.manual_seed"))
def seeds_global_generator_then_restores_it(dataset, batch_size, seed):
    state = torch.get_rng_state()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(int(torch.randint(0, 2**31 - 1, ())))
    torch.set_rng_state(state)
    return data.DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator)


# -- EveryKthView ---------------------------------------------------------------------------------------------------
# The mutants that a rule read from the source catches have names of their own: the engine finds a class's first line
# with inspect, which takes the first class of a name in the file.

@mutant("09", "EveryKthView", expect=("が違います", "切り上げ"), name="view_len_floor_division")
class EveryKthView(data.Dataset):
    def __init__(self, base, k):
        self.base, self.k = base, k

    def __len__(self):
        return len(self.base) // self.k

    def __getitem__(self, i):
        return self.base[i * self.k]


@mutant("09", "EveryKthView", expect=("ループ", "内包表記"), name="view_copies_items_eagerly")
class EveryKthViewCopyingEagerly(data.Dataset):
    def __init__(self, base, k):
        self.items = [base[i] for i in range(0, len(base), k)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


@mutant("09", "EveryKthView", expect=("使えません", "Subset"), name="view_through_subset")
class EveryKthViewThroughSubset(data.Dataset):
    def __init__(self, base, k):
        self.inner = data.Subset(base, range(0, len(base), k))

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        return self.inner[i]


@mutant("09", "EveryKthView", expect=("メモリを共有", "写して"), name="view_deep_copies_an_item")
class EveryKthView(data.Dataset):  # noqa: F811
    def __init__(self, base, k):
        self.base, self.k = base, k

    def __len__(self):
        return (len(self.base) + self.k - 1) // self.k

    def __getitem__(self, i):
        import copy

        return copy.deepcopy(self.base[i * self.k])


@mutant("09", "EveryKthView", expect="が違います", name="view_counts_strides_from_one")
class EveryKthView(data.Dataset):  # noqa: F811
    def __init__(self, base, k):
        self.base, self.k = base, k

    def __len__(self):
        return len(self.base) // self.k

    def __getitem__(self, i):
        return self.base[(i + 1) * self.k - 1]


@mutant("09", "EveryKthView", expect="len』が違います", name="view_len_of_the_base")
class EveryKthView(data.Dataset):  # noqa: F811
    def __init__(self, base, k):
        self.base, self.k = base, k

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        return self.base[i * self.k]
