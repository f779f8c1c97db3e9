"""第 4 章 形状操作

view / reshape / permute / unsqueeze / squeeze / stack / cat でテンソルの形状を変えます。
大事なのは「要素をコピーする操作」と「同じメモリを別の形状で見るだけの操作 (view)」の区別です。
`y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()` ならメモリを共有しています。
各関数の本体 (いまは「未実装」のエラーを送出する raise 文) を書き換えて、`pytest exercises/04` で確かめましょう。
"""
import torch


def reshape_view(x: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """メモリ上で連続なテンソル `x` を、要素をコピーせずに形状 (rows, cols) の view にして返してください。

    入力: x (連続なテンソル。要素数はちょうど rows * cols。dtype は任意)、rows (int、0 以上)、cols (int、1 以上)。
          rows が 0 (x が空) のこともあります。そのときも戻り値の形状は (rows, cols) です。
    出力: 形状 (rows, cols)、x と同じ dtype のテンソル。x とメモリを共有する view であること (コピーは不可)。
    例: x = torch.arange(6), rows=2, cols=3 → tensor([[0, 1, 2], [3, 4, 5]])
    x 自身 (形状も値も) は変更しないでください。
    """
    # view reinterprets the same storage with a new shape: nothing is copied.
    return x.view(rows, cols)


def swap_axes(x: torch.Tensor) -> torch.Tensor:
    """2 次元テンソル `x` の 2 つの次元を入れ替えて (転置して) 返してください。

    入力: x (形状 (a, b) の 2 次元テンソル。dtype は任意)
    出力: 形状 (b, a)、out[j, i] == x[i, j] のテンソル。x とメモリを共有する view であること。
    要素を並べ直してコピーするのではなく、ストライドだけを変えた view なので、結果はふつう非連続
    (is_contiguous() が False) になります。.contiguous() などでコピーしないでください。
    例: torch.arange(6).view(2, 3) → tensor([[0, 3], [1, 4], [2, 5]])
    """
    # permute only swaps the strides; the result is a non-contiguous view of x.
    return x.permute(1, 0)


def flatten_any(x: torch.Tensor) -> torch.Tensor:
    """任意の形状のテンソル `x` を、行優先 (最後の次元がいちばん速く変わる順) に並べた 1 次元テンソルにしてください。

    入力: x (任意の形状・dtype。permute した後などの非連続なテンソルでもよい)
    出力: 形状 (x.numel(),)、x と同じ dtype の 1 次元テンソル。結果はメモリ上で連続 (is_contiguous() が True) であること。
    例: torch.arange(6).view(2, 3).permute(1, 0) → tensor([0, 3, 1, 4, 2, 5])
    注意: 非連続なテンソルには .view(-1) が使えないことがあります。x 自身は変更しないでください。
    """
    # contiguous() copies only when x is not already laid out row-major; then view(-1) is always legal.
    return x.contiguous().view(-1)


def add_batch_dim(x: torch.Tensor) -> torch.Tensor:
    """テンソル `x` の先頭に大きさ 1 の次元 (バッチ次元) を追加して返してください。

    入力: x (任意の形状・dtype。0 次元や非連続なテンソルでもよい)
    出力: 形状 (1, *x.shape) のテンソル。x とメモリを共有する view であること。
    例: 形状 (3, 4) → 形状 (1, 3, 4)
    x 自身 (形状も値も) は変更しないでください (in-place 版の unsqueeze_ は使わない)。
    """
    # unsqueeze inserts a size-1 dim as a view of the same storage.
    return x.unsqueeze(0)


def drop_size1_dims(x: torch.Tensor) -> torch.Tensor:
    """テンソル `x` から大きさ 1 の次元をすべて取り除いて返してください。

    入力: x (任意の形状・dtype)
    出力: x の形状から 1 をすべて除いた形状のテンソル。要素の並び (行優先の順序) と dtype は x と同じ。
    例: 形状 (1, 3, 1, 2) → 形状 (3, 2)、形状 (1, 1) → 0 次元テンソル、大きさ 0 の次元は残す
    x 自身は変更しないでください。
    """
    # squeeze() without a dim removes every size-1 dim at once.
    return x.squeeze()


def stack_and_cat(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """同じ形状の 2 つのテンソル `a`, `b` を、新しい次元で積み重ねたものと、既存の次元 0 でつなげたものを返してください。

    入力: a, b (同じ形状 (n, ...)、同じ dtype。1 次元以上)
    出力: (stacked, joined) のタプル
        stacked: 形状 (2, n, ...)。stacked[0] が a、stacked[1] が b。
        joined : 形状 (2 * n, ...)。前半 n 行が a、後半 n 行が b。
    例: a = [1, 2], b = [3, 4] → (tensor([[1, 2], [3, 4]]), tensor([1, 2, 3, 4]))
    """
    # stack adds a new leading dim; cat joins along the existing dim 0.
    return torch.stack([a, b]), torch.cat([a, b])


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """画像のバッチ `x` を (N, C, H, W) の並びから (N, H, W, C) の並びに変えて返してください。

    入力: x (形状 (N, C, H, W) の 4 次元テンソル。N: バッチ、C: チャンネル、H: 高さ、W: 幅)
    出力: 形状 (N, H, W, C)、out[n, h, w, c] == x[n, c, h, w] のテンソル。x とメモリを共有する view であること。
    注意: view(N, H, W, C) や reshape は要素の順序を変えないので、次元の入れ替えにはなりません。
          また、この関数名の channels_last は次元の並びのことで、PyTorch のメモリ形式 torch.channels_last とは別物です
          (x.to(memory_format=torch.channels_last) は形状を (N, C, H, W) のまま、メモリ上の並びだけを変えます)。
    """
    # permute lists the old dims in their new order: (N, C, H, W) -> (N, H, W, C), as a view.
    return x.permute(0, 2, 3, 1)


def merge_batch_and_swap_last(x: torch.Tensor) -> torch.Tensor:
    """【発展課題】4 次元の連続なテンソル `x` (形状 (A, B, C, D)) の、先頭の 2 つの次元を 1 つにまとめ、最後の 2 つの
    次元を入れ替えてください。コピーせず、`x` とメモリを共有する view で返します。

    入力: x (形状 (A, B, C, D)、連続 (x.is_contiguous() が True)、任意の dtype。どのサイズも 1 以上)
    出力: 形状 (A * B, D, C)、out[a * B + b, d, c] == x[a, b, c, d] のテンソル。x とメモリを共有する view。
    例: x = torch.arange(8).view(1, 2, 2, 2) → tensor([[[0, 2], [1, 3]], [[4, 6], [5, 7]]])
    制約: コピーを作るメソッド (.contiguous()、.clone()、copy_) と torch.tensor、Python のループ・内包表記は
          使えません。どの順に変形すれば view のまま作れるかを考えましょう。
    """
    # Merging the leading dims of a contiguous tensor is a view; the transpose then only swaps two strides.
    a, b, c, d = x.shape
    merged = x.view(a * b, c, d)      # first: neighbours in memory, so a view
    return merged.transpose(1, 2)     # then: only two strides change places


def diagonal_as_view(x: torch.Tensor) -> torch.Tensor:
    """【発展課題】連続な正方行列 `x` (形状 (n, n)) の対角成分 x[0, 0], x[1, 1], …, x[n-1, n-1] を、`x` とメモリを
    共有する 1 次元の view として返してください。

    考え方: 連続な x をメモリの並びどおりに 1 次元に並べると、対角成分は一定の間隔で現れます。
    入力: x (形状 (n, n)、n は 1 以上、連続、任意の dtype)
    出力: 形状 (n,)、out[i] == x[i, i] のテンソル。x とメモリを共有する view (戻り値を書き換えると x の対角も変わります)。
    例: x = torch.arange(9).view(3, 3) → tensor([0, 4, 8])
    制約: torch.diagonal・torch.diag・torch.diag_embed・torch.einsum・as_strided・インデックスのテンソル
          (x[idx, idx] など) による取り出し (torch.take、index_select、gather)、.contiguous()・.clone()、
          Python のループ・内包表記は使えません。
    """
    # In a contiguous (n, n) matrix, x[i, i] sits at flat position i * (n + 1): a strided slice of the flat view.
    n = x.shape[0]
    flat = x.view(-1)            # the n * n elements in memory order, still sharing x's memory
    return flat[:: n + 1]        # every (n + 1)-th one is the next diagonal element
