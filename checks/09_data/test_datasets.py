"""Checks for chapter 09 (Dataset and DataLoader)."""
import torch
from torch.utils import data

from kata import messages
from kata.api import xor
from kata.api.compare import (
    Mismatch,
    RngSnapshot,
    expect,
    expect_equal,
    expect_rng_unchanged,
    expect_scalar,
    expect_sequence,
    expect_shares_memory,
    expect_tensor,
    expect_type,
)
from kata.api.inputs import call_both, items_of, randint, seed_all
from kata.api.portable import IndexDataset, XorSet
from kata.api.staticrules import forbid_in_source

#: What the prompt forbids, as far as the source text shows it (read, never run: counts in kata grade).
GLOBAL_SEED_RULE = "torch.manual_seed などグローバルな乱数状態を変える関数"
GLOBAL_SEEDING = (torch.manual_seed, torch.seed, torch.set_rng_state)

VIEW_RULE = "ループ・内包表記と data.Subset"
VIEW_FORBIDDEN = (data.Subset, torch.utils.data.dataset.Subset)

# -- verdict templates only these checks use (str.format) --------------------------------------------------------------
NOT_SHUFFLED = "『{name}』がシャッフルされていません (データセットの順番のまま出てきます)。"
SEED_IGNORED = "『{name}』が seed によって変わりません (seed={first}、seed={second}: 同じ順番になりました)。"

# -- hints only these checks use ---------------------------------------------------------------------------------------
SHUFFLE_ARG = "DataLoader の shuffle 引数を確認しましょう。"
POSITIONAL_SAMPLER = ("DataLoader の引数は (dataset, batch_size, shuffle, sampler, ...) の順なので、4 番目に位置で渡した値は "
                      "drop_last ではなく sampler になります。shuffle= や drop_last= はキーワード引数で渡しましょう。")
SAMPLER_NOT_SAMPLER = "『{name}』の sampler が {actual} です (サンプラーではありません)。"
DREW_WHILE_BUILDING = ("『{name}』を作るときに、グローバルな乱数 (torch) を引いています。そのぶん、同じシードでもシャッフルの"
                       "順番がずれます。")
BUILD_WITHOUT_DRAWING = ("shuffle=True の DataLoader は、回すときにグローバルな乱数から順番を決めます。ローダーを作るときに "
                         "torch.randint などで乱数を引くと、その分だけ順番が変わります。作るときは乱数を使わないようにしましょう。")
VIEW_LEN_FLOOR = ("len(base) // k では、n が k で割り切れないときに最後の 1 個 (たとえば n = 10、k = 3 の 9 番目) が"
                  "数えられません。0, k, 2k, ... のうち n より小さいものの個数は、切り上げの割り算 (n + k - 1) // k です。")
VIEW_COPIES = ("base の要素を写していませんか？ base[i * k] をそのまま返せば、テンソルは base と同じメモリを"
               "共有します (ビューのデータセットはデータを持たず、頼まれたときに取り出すだけです)。")
SEED_THE_GENERATOR = "専用の torch.Generator を seed で初期化 (manual_seed) し、DataLoader の generator= 引数に渡しましょう。"


def _cat(batches: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat(batches) if batches else torch.zeros(0, dtype=torch.int64)


def _made_loader(loader, name: str = "返されたローダー"):
    """``loader``, after checking that it is a DataLoader whose sampler is a sampler (a bool there was passed by
    position where drop_last was meant)."""
    expect_type(loader, data.DataLoader, name=name)
    sampler = loader.sampler
    expect(not isinstance(sampler, (bool, int, float)), "sampler", SAMPLER_NOT_SAMPLER, POSITIONAL_SAMPLER, name=name,
           actual=repr(sampler))
    return loader


def _order(loader) -> torch.Tensor:
    """The indices a loader over ``IndexDataset`` yields, in order, as one int64 tensor."""
    return _cat(list(_made_loader(loader)))


POINT, LABEL = torch.zeros(2), torch.zeros((), dtype=torch.int64)  # what an item looks like (shape and dtype)


def _items(ds, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every item of an XOR dataset, checked one by one and stacked: points [size, 2], labels [size]."""
    points, labels = [], []
    for i, item in enumerate(items_of(ds, size)):
        point, label = expect_sequence(item, 2, name=f"dataset[{i}]")
        expect_tensor(point, POINT, name=f"dataset[{i}] の入力点", values=False)
        expect_tensor(label, LABEL, name=f"dataset[{i}] のラベル", values=False)
        points.append(point)
        labels.append(label)
    return torch.stack(points), torch.stack(labels)


def _expect_shuffled(order: torch.Tensor, n: int, name: str) -> None:
    expect_tensor(order.sort().values, torch.arange(n), name=f"{name} (小さい順に並べ直したもの)")
    expect(not torch.equal(order, torch.arange(n)), "shuffle", NOT_SHUFFLED, SHUFFLE_ARG, name=name)


# -- XORDataset ------------------------------------------------------------------------------------------------------

def test_XORDataset_len(sub, gen):
    for size in (1, randint(gen, 2, 60)):
        expect_equal(len(sub.XORDataset(size)), size, name=f"len(XORDataset({size}))")


def test_XORDataset_item_types(sub, gen):
    size = randint(gen, 1, 30)
    ds = sub.XORDataset(size, std=0.1)
    for idx in (0, randint(gen, 0, size)):
        point, label = expect_sequence(ds[idx], 2, name=f"dataset[{idx}]")
        expect_tensor(point, POINT, name=f"dataset[{idx}] の入力点", values=False)
        expect_tensor(label, LABEL, name=f"dataset[{idx}] のラベル", values=False)


def test_XORDataset_labels_consistent(sub, gen):
    """Without noise the points are the corners; with a little noise the nearest corner still gives the label."""
    size = randint(gen, 40, 80)
    points, labels = _items(sub.XORDataset(size, std=0.0), size)
    expect_tensor(points, points.round(), name="std=0 の入力点 (0 か 1 のはず)")
    expect_tensor(labels, (points.sum(dim=1) == 1).long(), name="std=0 のラベル (x0 + x1 == 1 のとき 1)")
    std = 0.03 + 0.07 * float(torch.rand((), generator=gen))
    points, labels = _items(sub.XORDataset(size, std=std), size)
    expect_tensor(labels, (points.round().sum(dim=1) == 1).long(),
                  name=f"std={std:.3f} のラベル (ノイズを足す前の角で決まる)")


def test_XORDataset_noise_has_std(sub, gen):
    """The noise (point minus nearest corner) has the asked-for standard deviation, 0.1 by default."""
    size = 600
    std = 0.03 + 0.04 * float(torch.rand((), generator=gen))  # far enough from the default 0.1 to tell apart
    for ds, expected, label in ((sub.XORDataset(size, std=std), std, f"std={std:.3f}"),
                                (sub.XORDataset(size), 0.1, "std を省略 (0.1)")):
        points, _ = _items(ds, size)
        measured = float((points - points.round()).std())
        expect_scalar(measured, expected, rtol=0.12, atol=0.0, name=f"ノイズの標準偏差 ({label})")


def test_XORDataset_matches_reference(sub, ref, gen, seed):
    size = randint(gen, 5, 60)
    std = 0.05 + 0.2 * float(torch.rand((), generator=gen))
    # The last case is pinned so that noise moves points across 0.5 (labels read off the noisy points differ from
    # the corners' labels): with std 0.8 and 200 points, some coordinate always crosses.
    for args in ((size, std), (size,), (200, 0.8)):
        size = args[0]
        actual, expected = call_both(sub.XORDataset, ref.XORDataset, *args, seed=seed)
        a_points, a_labels = _items(actual, size)
        e_points, e_labels = _items(expected, size)
        what = f"XORDataset{args}" if len(args) > 1 else f"XORDataset({size})"
        expect_tensor(a_labels, e_labels, name=f"{what} のラベル (同じシード)")
        expect_tensor(a_points, e_points, name=f"{what} の入力点 (同じシード)")


def test_XORDataset_works_with_dataloader(sub, gen):
    size, batch = randint(gen, 10, 40), randint(gen, 2, 8)
    loader = data.DataLoader(sub.XORDataset(size), batch_size=batch)
    inputs, labels = next(iter(loader))
    expect_tensor(inputs, torch.zeros(batch, 2), name="DataLoader が出したバッチの入力", values=False)
    expect_tensor(labels, torch.zeros(batch, dtype=torch.int64), name="DataLoader が出したバッチのラベル", values=False)


# -- make_loader ------------------------------------------------------------------------------------------------------

def test_make_loader_returns_dataloader(sub, gen):
    expect_type(sub.make_loader(IndexDataset(randint(gen, 1, 20)), 4, False), data.DataLoader, name="make_loader(...)")


def test_make_loader_keeps_num_workers_at_zero(sub, gen):
    """The prompt: num_workers stays at its default, 0 (the batches are made in this process)."""
    loader = _made_loader(sub.make_loader(IndexDataset(randint(gen, 1, 20)), randint(gen, 1, 5), False))
    expect_equal(loader.num_workers, 0, name="DataLoader の num_workers")


def test_make_loader_batch_count_source(sub):
    """2500 items in batches of 128: 20 batches, the last of 68; 19 full batches with drop_last."""
    for drop_last, count, last in ((False, 20, 68), (True, 19, 128)):
        loader = _made_loader(sub.make_loader(IndexDataset(2500), 128, False, drop_last=drop_last), "make_loader(...)")
        expect_equal(len(loader), count, name=f"len(loader) (バッチ数。2500 件、batch_size=128、drop_last={drop_last})")
        batches = list(loader)
        expect_equal(len(batches), count, name=f"回したときのバッチ数 (drop_last={drop_last})")
        expect_equal(len(batches[-1]), last, name=f"最後のバッチの件数 (drop_last={drop_last})")


def test_make_loader_default_keeps_last_batch(sub, gen):
    batch = randint(gen, 2, 10)
    n = batch * randint(gen, 1, 5) + randint(gen, 1, batch)
    batches = list(_made_loader(sub.make_loader(IndexDataset(n), batch, False)))
    expect_equal(len(batches), n // batch + 1, name=f"drop_last を省略したときのバッチ数 ({n} 件、batch_size={batch})")


def test_make_loader_batch_sizes(sub, gen):
    batch = randint(gen, 1, 12)
    n = randint(gen, batch, 8 * batch + 1)
    drop_last = bool(randint(gen, 0, 2))
    full, rest = divmod(n, batch)
    expected = [batch] * full + ([rest] if rest and not drop_last else [])
    shuffle = bool(randint(gen, 0, 2))
    sizes = [len(b) for b in _made_loader(sub.make_loader(IndexDataset(n), batch, shuffle, drop_last=drop_last))]
    expect_equal(sizes, expected,
                 name=f"各バッチの件数 ({n} 件、batch_size={batch}、shuffle={shuffle}、drop_last={drop_last})")


def test_make_loader_order_not_shuffled(sub, gen):
    n, batch = randint(gen, 20, 80), randint(gen, 1, 10)
    order = _order(sub.make_loader(IndexDataset(n), batch, False))
    expect_tensor(order, torch.arange(n), name="shuffle=False で出てきたデータの順番")


def test_make_loader_shuffles(sub, gen):
    n, batch = randint(gen, 30, 80), randint(gen, 1, 10)
    seed_all(randint(gen, 0, 2**31 - 1))
    _expect_shuffled(_order(sub.make_loader(IndexDataset(n), batch, True)), n, "shuffle=True で出てきたデータの順番")


def test_make_loader_matches_reference(sub, ref, gen, seed):
    """Shuffled and not, under the same seed as the reference.  The prompt forbids drawing from the global RNG while
    building the loader: such a draw is named first, instead of the order it shifts (in grading mode the order
    alone did not show it)."""
    for shuffle in (True, False):
        n, batch, drop_last = randint(gen, 10, 60), randint(gen, 1, 10), bool(randint(gen, 0, 2))
        dataset = IndexDataset(n)
        seed_all(seed)
        before = RngSnapshot(sub)
        _made_loader(sub.make_loader(dataset, batch, shuffle, drop_last=drop_last), "make_loader(...)")
        drew = "torch" in before.changed()
        expect(not drew, "rng", DREW_WHILE_BUILDING, BUILD_WITHOUT_DRAWING, name="make_loader(...)")
        args = (dataset, batch, shuffle)
        actual, expected = call_both(lambda a=args, d=drop_last: _order(sub.make_loader(*a, drop_last=d)),
                                     lambda a=args, d=drop_last: _order(ref.make_loader(*a, drop_last=d)),
                                     seed=seed)
        expect_tensor(actual, expected, name=f"出てきたデータの順番 ({n} 件、batch_size={batch}、shuffle={shuffle}、"
                                             f"drop_last={drop_last}、同じシード)")


# -- seeded_loader ----------------------------------------------------------------------------------------------------

def test_seeded_loader_returns_dataloader(sub, gen):
    expect_type(sub.seeded_loader(IndexDataset(randint(gen, 1, 20)), 4, randint(gen, 0, 1000)), data.DataLoader,
                name="seeded_loader(...)")


def test_seeded_loader_source_without_global_seeding(sub, gen):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "seeded_loader", GLOBAL_SEED_RULE, *GLOBAL_SEEDING)
    sub.seeded_loader(IndexDataset(4), 2, randint(gen, 0, 1000))  # an untouched stub reads 未着手


def test_seeded_loader_same_batches(sub, gen):
    """Two loaders made with the same seed, both made before either is iterated, give the same batches."""
    n, batch, seed = randint(gen, 30, 80), randint(gen, 1, 10), randint(gen, 0, 2**31 - 1)
    first, second = sub.seeded_loader(IndexDataset(n), batch, seed), sub.seeded_loader(IndexDataset(n), batch, seed)
    expect_type(first, data.DataLoader, name="seeded_loader(...)")
    a, b = list(first), list(second)
    expect_equal([len(x) for x in a], [len(x) for x in b], name="2 つのローダーの各バッチの件数")
    expect(torch.equal(_cat(a), _cat(b)), "reproducible", messages.NOT_REPRODUCIBLE, SEED_THE_GENERATOR,
           name=f"seed={seed} で作った 2 つのローダーのバッチ")


def test_seeded_loader_is_shuffled(sub, gen):
    n, batch = randint(gen, 30, 80), randint(gen, 1, 10)
    order = _order(sub.seeded_loader(IndexDataset(n), batch, randint(gen, 0, 2**31 - 1)))
    _expect_shuffled(order, n, "seeded_loader で出てきたデータの順番")


def test_seeded_loader_depends_on_seed(sub, gen):
    n, batch = randint(gen, 30, 80), randint(gen, 1, 10)
    s1 = randint(gen, 0, 2**31 - 1)
    s2 = (s1 + randint(gen, 1, 1000)) % 2**31
    first, second = (_order(sub.seeded_loader(IndexDataset(n), batch, s)) for s in (s1, s2))
    expect(not torch.equal(first, second), "seed", SEED_IGNORED, SEED_THE_GENERATOR,
           name="データの順番", first=s1, second=s2)


def test_seeded_loader_yields_every_item_once_in_batches(sub, gen):
    """What the prompt promises and no more: batches of batch_size (the last one shorter), every item exactly once.
    The order itself is the learner's generator's to choose (any generator seeded from seed keeps the promise)."""
    n, batch, seed = randint(gen, 10, 60), randint(gen, 1, 10), randint(gen, 0, 2**31 - 1)
    batches = list(sub.seeded_loader(IndexDataset(n), batch, seed))
    sizes = [len(b) for b in batches]
    expect_equal(sizes, [batch] * (n // batch) + ([n % batch] if n % batch else []),
                 name=f"seed={seed}、{n} 件、batch_size={batch} のときの各バッチの件数")
    expect_tensor(torch.sort(_cat(batches)).values, torch.arange(n), name="出てきたデータ (並べ替えたもの)")


def test_seeded_loader_leaves_global_rng(sub, gen):
    n, batch = randint(gen, 10, 40), randint(gen, 1, 10)
    seed_all(randint(gen, 0, 2**31 - 1))
    before = RngSnapshot(sub)
    loader = sub.seeded_loader(IndexDataset(n), batch, randint(gen, 0, 2**31 - 1))
    expect_rng_unchanged(before)
    list(loader)
    expect_rng_unchanged(before)


# -- first_batch ------------------------------------------------------------------------------------------------------

def _xor_loader(gen, n, batch, **kwargs):
    points, labels = xor.xor_points(n, gen)
    return data.DataLoader(xor.XorSet(points, labels), batch_size=batch, **kwargs), points, labels


def test_first_batch_returns_tuple(sub, gen):
    loader, _, _ = _xor_loader(gen, randint(gen, 4, 20), randint(gen, 1, 4))
    expect_sequence(sub.first_batch(loader), 2, name="first_batch(loader)")


def test_first_batch_values_not_shuffled(sub, gen):
    """With n = k * batch + r (k >= 2, 0 < r < batch), the first batch differs from the second and the last."""
    batch = randint(gen, 2, 9)
    n = batch * randint(gen, 2, 5) + randint(gen, 1, batch)
    loader, points, labels = _xor_loader(gen, n, batch)
    inputs, targets = expect_sequence(sub.first_batch(loader), 2, name="first_batch(loader)")
    expect_tensor(inputs, points[:batch], name="inputs (最初のバッチ)")
    expect_tensor(targets, labels[:batch], name="labels (最初のバッチ)")


def test_first_batch_smaller_dataset_than_batch(sub, gen):
    n = randint(gen, 1, 6)
    loader, points, labels = _xor_loader(gen, n, n + randint(gen, 1, 5))
    inputs, targets = expect_sequence(sub.first_batch(loader), 2, name="first_batch(loader)")
    expect_tensor(inputs, points, name=f"inputs (データが {n} 件しかないときの最初のバッチ)")
    expect_tensor(targets, labels, name=f"labels (データが {n} 件しかないときの最初のバッチ)")


def test_first_batch_matches_reference_shuffled(sub, ref, gen):
    batch = randint(gen, 2, 9)
    n, seed = batch * randint(gen, 2, 5) + randint(gen, 0, batch), randint(gen, 0, 2**31 - 1)
    points, labels = xor.xor_points(n, gen)

    def loader():
        return data.DataLoader(xor.XorSet(points, labels), batch_size=batch, shuffle=True,
                               generator=torch.Generator().manual_seed(seed))

    actual = expect_sequence(sub.first_batch(loader()), 2, name="first_batch(loader)")
    expected = ref.first_batch(loader())
    expect_tensor(actual[0], expected[0], name="inputs (シャッフルする loader の最初のバッチ)")
    expect_tensor(actual[1], expected[1], name="labels (シャッフルする loader の最初のバッチ)")


# -- EveryKthView ----------------------------------------------------------------------------------------------------

def _view_len(n: int, k: int) -> int:
    return len(range(0, n, k))


def _view_sizes(gen):
    """(n, k) with n not a multiple of k (the telling case for a floor division), k >= 2."""
    k = randint(gen, 2, 6)
    return k * randint(gen, 1, 6) + randint(gen, 1, k), k


def test_EveryKthView_source_without_loops_or_subset(sub):
    """Read from the source text, never run: counts in kata grade as when learning."""
    forbid_in_source(sub, "EveryKthView", VIEW_RULE, *VIEW_FORBIDDEN, loops=True)
    len(sub.EveryKthView(IndexDataset(3), 2))  # an untouched stub reads 未着手


def test_EveryKthView_len(sub, gen):
    """len counts 0, k, 2k, ... below n: a partial last stride counts; k = 1 keeps all; k > n keeps one."""
    n, k = _view_sizes(gen)
    length = len(sub.EveryKthView(IndexDataset(n), k))
    expect_equal(length, _view_len(n, k), name=f"n = {n}、k = {k} の len",
                 hint=VIEW_LEN_FLOOR if length == n // k else None)
    for size, step in ((k * 3, k), (n, 1), (n, n + randint(gen, 0, 4)), (0, k)):
        expect_equal(len(sub.EveryKthView(IndexDataset(size), step)), _view_len(size, step),
                     name=f"n = {size}、k = {step} の len")


def test_EveryKthView_items(sub, gen):
    """Item i is base[i * k], the last one included."""
    n, k = _view_sizes(gen)
    view = sub.EveryKthView(IndexDataset(n), k)
    count = _view_len(n, k)
    got = items_of(view, count)
    expect_equal(got, list(range(0, n, k)), name=f"n = {n}、k = {k} の view[0], …, view[{count - 1}]")


def test_EveryKthView_items_share_memory_with_base(sub, gen):
    """Nothing is copied: tensor items are base's own views."""
    n, k = _view_sizes(gen)
    points, labels = torch.randn(n, 2, generator=gen), torch.arange(n)
    base = data.TensorDataset(points, labels)
    view = sub.EveryKthView(base, k)
    i = randint(gen, 0, _view_len(n, k))
    point, label = expect_sequence(view[i], 2, name=f"view[{i}]")
    expect_tensor(point, points[i * k], name=f"view[{i}] の入力点")
    expect_tensor(label, labels[i * k], name=f"view[{i}] のラベル")
    try:
        expect_shares_memory(point, points, name=f"view[{i}] の入力点", other_name="base の入力点")
    except Mismatch as m:
        raise Mismatch(m.attribute, m.message, VIEW_COPIES) from None


def test_EveryKthView_dataloader_batches(sub, gen):
    """A DataLoader over the view: ceil(len / batch) batches (one fewer partial one with drop_last) that together
    hold base items 0, k, 2k, ... in order."""
    n, k = _view_sizes(gen)
    n += k * randint(gen, 2, 5)
    count = _view_len(n, k)
    batch = randint(gen, 2, max(3, count))
    for drop_last in (False, True):
        batches = list(data.DataLoader(sub.EveryKthView(IndexDataset(n), k), batch_size=batch, drop_last=drop_last))
        kept = count - count % batch if drop_last else count
        expect_equal(len(batches), len(range(0, kept, batch)),
                     name=f"n = {n}、k = {k}、batch_size={batch}、drop_last={drop_last} のバッチの数")
        expect_tensor(_cat(batches), torch.arange(0, n, k)[:kept],
                      name=f"batch_size={batch}、drop_last={drop_last} のバッチをつなげたもの")


def test_EveryKthView_over_pairs(sub, gen):
    """Any dataset: pairs of tensors (XorSet), k = 1 shows every item."""
    n = randint(gen, 1, 12)
    points, labels = torch.randn(n, 2, generator=gen), torch.randint(0, 2, (n,), generator=gen)
    for k in (1, randint(gen, 2, 5)):
        view = sub.EveryKthView(XorSet(points, labels), k)
        count = _view_len(n, k)
        expect_equal(len(view), count, name=f"n = {n}、k = {k} の len")
        got_points, got_labels = zip(*(expect_sequence(item, 2, name="view の要素") for item in items_of(view, count)))
        expect_tensor(torch.stack(got_points), points[::k], name=f"k = {k} の入力点")
        expect_tensor(torch.stack(got_labels), labels[::k], name=f"k = {k} のラベル")


def test_EveryKthView_matches_reference(sub, ref, gen):
    n, k = _view_sizes(gen)
    actual, expected = sub.EveryKthView(IndexDataset(n), k), ref.EveryKthView(IndexDataset(n), k)
    expect_equal(len(actual), len(expected), name=f"n = {n}、k = {k} の len")
    expect_equal(items_of(actual, len(expected)), items_of(expected, len(expected)), name=f"n = {n}、k = {k} の要素")
