"""The finale, ``kata run xor``: the tutorial's run end to end, its pictures decoded and checked pixel by pixel."""
from __future__ import annotations

import contextlib
import io
import re
import shutil
import struct
import sys
import types
import warnings
import zlib
from pathlib import Path

import pytest
import torch

import kata
from kata import catalog, finale, loader, messages, png
from kata.cli import main
from kata.frontend import say

ROOT = catalog.ROOT


# -- an independent PNG reader (the format kata.png writes, and the other filter types) ---------------------------

def read_png(path: Path) -> tuple[int, int, int, list[bytes]]:
    """(width, height, channels, rows) of an 8-bit, non-interlaced PNG; every chunk's CRC is verified."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, payload = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + payload), f"bad CRC in chunk {kind!r}"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", payload)
        elif kind == b"IDAT":
            idat += payload
        elif kind == b"IEND":
            break
        pos += 12 + length
    assert header is not None, "no IHDR chunk"
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour in (2, 6), header
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    assert len(raw) == height * (stride + 1)
    rows: list[bytes] = []
    previous = bytearray(stride)
    for r in range(height):
        kind, line = raw[r * (stride + 1)], bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
            else:
                assert kind == 0, f"unknown filter type {kind}"
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def pixel(rows: list[bytes], channels: int, row: int, col: int) -> tuple[int, int, int]:
    start = col * channels
    return tuple(rows[row][start:start + 3])


def grid_pixel(x1: float, x2: float) -> tuple[int, int]:
    """(row, column) of the picture's pixel at the grid point nearest to (x1, x2): x1 to the right, x2 upward."""
    n = round((finale.GRID_HIGH - finale.GRID_LOW) / finale.GRID_STEP)
    i = round((x1 - finale.GRID_LOW) / finale.GRID_STEP)
    j = round((x2 - finale.GRID_LOW) / finale.GRID_STEP)
    scale = finale.PIXELS_PER_POINT
    return finale.PLOT_TOP + (n - 1 - j) * scale + scale // 2, finale.PLOT_LEFT + i * scale + scale // 2


def distance(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    return max(abs(x - y) for x, y in zip(a, b))


def has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["run", "xor", *args])
    return code, out.getvalue(), err.getvalue()


def printed_accuracy(text: str) -> float:
    pattern = re.escape(messages.FINALE_ACCURACY).replace(re.escape("{n}"), r"(\d+)").replace(
        re.escape("{percent:.2f}"), r"([\d.]+)")
    match = re.search(pattern, text)
    assert match, f"no accuracy line in:\n{text}"
    assert int(match.group(1)) == finale.TEST_SIZE
    return float(match.group(2)) / 100


# -- the tutorial's full run, with the references -----------------------------------------------------------------

@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("finale")
    threads, rng = torch.get_num_threads(), torch.get_rng_state()
    code, out, err = run_cli("--solutions", "--output", str(folder))
    assert torch.get_num_threads() == threads and torch.equal(torch.get_rng_state(), rng), "global state changed"
    return code, out, err, folder


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_full_run_reaches_the_tutorials_accuracy(full_run):
    code, out, err, _ = full_run
    assert code == 0, err
    assert "Traceback" not in out + err
    assert printed_accuracy(out) >= 0.95
    assert messages.FINALE_LOW_ACCURACY not in out
    assert messages.FINALE_PROGRESS.format(bar="━" * finale._Progress.WIDTH, epoch=100, epochs=100) in out


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_full_run_saves_a_state_dict_that_loads_with_weights_only(full_run):
    *_, folder = full_run
    state = torch.load(folder / finale.MODEL_FILE, weights_only=True)
    assert sorted(state) == ["linear1.bias", "linear1.weight", "linear2.bias", "linear2.weight"]
    assert state["linear1.weight"].shape == (4, 2) and state["linear2.weight"].shape == (1, 4)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_full_run_draws_the_blend_of_the_saved_models_predictions(full_run):
    *_, folder = full_run
    width, height, channels, rows = read_png(folder / finale.BOUNDARY_PNG)
    side = 200 * finale.PIXELS_PER_POINT
    assert width > finale.PLOT_LEFT + side and height > finale.PLOT_TOP + side and channels == 3
    c0, c1 = finale.CLASS_COLOURS
    # XOR: the corners (0, 0) and (1, 1) are class 0, (0, 1) and (1, 0) class 1; the trained model is sure there.
    for corner, colour in (((0, 0), c0), ((1, 1), c0), ((0, 1), c1), ((1, 0), c1)):
        assert distance(pixel(rows, channels, *grid_pixel(*corner)), colour) <= 25, corner

    # Every grid point: the blend (1 - p) * c0 + p * c1 of the probability that the saved model predicts there.
    reference = loader.load(catalog.chapter("08").reference_file(), "kata_test_finale.c08", learner=False)
    model = reference.SimpleClassifier(2, 4, 1)
    model.load_state_dict(torch.load(folder / finale.MODEL_FILE, weights_only=True))
    axis = torch.arange(finale.GRID_LOW, finale.GRID_HIGH, finale.GRID_STEP)
    with torch.no_grad():
        probs = torch.sigmoid(model(torch.stack(torch.meshgrid(axis, axis, indexing="ij"), dim=-1)))
    colours = torch.tensor(finale.CLASS_COLOURS, dtype=torch.float32)
    expected = (1 - probs) * colours[0] + probs * colours[1]  # expected[i, j] at (x1[i], x2[j])
    picture = torch.tensor(list(b"".join(rows)), dtype=torch.float32).reshape(height, width, 3)
    scale, top, left = finale.PIXELS_PER_POINT, finale.PLOT_TOP, finale.PLOT_LEFT
    plot = picture[top:top + side:scale, left:left + side:scale]
    drawn = plot.flip(0).permute(1, 0, 2)  # back to [i, j] = (x1[i], x2[j])
    assert (drawn - expected).abs().max() <= 1.0
    # The blend is not one flat colour: both classes cover a good part of the plane.
    share = (probs >= 0.5).double().mean().item()
    assert 0.2 < share < 0.8


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_full_run_pictures_decode_with_matplotlib_too(full_run):
    _, out, _, folder = full_run
    if not has_matplotlib():
        assert say(messages.FINALE_NO_MATPLOTLIB) in out
        pytest.skip("matplotlib is not installed: only the decision boundary is drawn")
    from matplotlib.image import imread

    ours = read_png(folder / finale.BOUNDARY_PNG)
    theirs = imread(folder / finale.BOUNDARY_PNG)
    assert theirs.shape == (ours[1], ours[0], 3)
    assert (torch.from_numpy((theirs * 255).round()).to(torch.uint8).flatten().tolist()
            == list(b"".join(ours[3])))
    for name in (finale.FIGURE_PNG, finale.LOSS_PNG):
        image = imread(folder / name)
        assert image.shape[0] >= 300 and image.shape[1] >= 300, name
        assert read_png(folder / name)[:2] == (image.shape[1], image.shape[0])
    assert say(messages.FINALE_NO_MATPLOTLIB) not in out


# -- without matplotlib; short runs -------------------------------------------------------------------------------

@pytest.mark.slow
def test_without_matplotlib_the_run_succeeds_and_says_how_to_get_the_pictures(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    code, out, err = run_cli("--solutions", "--epochs", "3", "--output", str(tmp_path))
    assert code == 0, err
    assert say(messages.FINALE_NO_MATPLOTLIB) in out and 'pip install -e ".[plot]"' in out
    printed_accuracy(out)
    width, height, channels, _ = read_png(tmp_path / finale.BOUNDARY_PNG)  # with its axes and key all the same
    assert width > finale.PLOT_LEFT + 400 and height > finale.PLOT_TOP + 400 and channels == 3
    assert messages.FINALE_BOUNDARY_KEY.format(low="-0.5", high="1.5") in out  # what the colours mean, in words
    assert not (tmp_path / finale.LOSS_PNG).exists() and not (tmp_path / finale.FIGURE_PNG).exists()


@pytest.mark.slow
def test_the_default_output_folder_is_in_the_learners_folder_and_ignored_by_git(tmp_path):
    shutil.copytree(ROOT / "solutions", tmp_path / "exercises")
    code, out, err = run_cli("--solutions", "--epochs", "1", "--root", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / finale.OUTPUT_DIR / finale.MODEL_FILE).is_file()
    assert f"{finale.OUTPUT_DIR}/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


@pytest.mark.slow
def test_run_xor_in_a_notebook_shows_the_pictures_inline(tmp_path, monkeypatch):
    shown: list[str] = []
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace(kernel=object())
    display = types.ModuleType("IPython.display")
    display.Image = lambda filename: filename
    display.display = shown.append
    ipython.display = display
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    rng = torch.get_rng_state()
    with contextlib.redirect_stdout(io.StringIO()):
        result = kata.run_xor(solutions=True, output=tmp_path, epochs=2)
    assert torch.equal(torch.get_rng_state(), rng)
    assert result is not None and len(result.losses) == 2 and 0.0 <= result.accuracy <= 1.0
    names = [Path(p).name for p in shown]
    assert names == ([finale.FIGURE_PNG, finale.LOSS_PNG] if has_matplotlib() else [finale.BOUNDARY_PNG])


# -- a learner's function that is not ready stops the run with one Japanese line ----------------------------------

BROKEN = {
    "stub": ("11_training/training.py",
             "def train_model(model, optimizer, loader, loss_fn, num_epochs):\n    raise NotImplementedError\n",
             say(messages.FINALE_ERR_TODO, "11", n=11, nn="11", name="train_model")),
    "raises": ("11_training/training.py",
               "def train_model(model, optimizer, loader, loss_fn, num_epochs):\n    raise ValueError('boom')\n",
               "第 11 章の『train_model』で例外が発生しました (exercises/11_training/training.py:"),
    "raises_in_forward": ("08_modules/modules.py",
                          "def _forward(self, x):\n    return self.linear2(x)\nSimpleClassifier.forward = _forward\n",
                          "第 8 章の『SimpleClassifier』で例外が発生しました (exercises/08_modules/modules.py:"),
    "returns_none": ("11_training/training.py",
                     "def train_model(model, optimizer, loader, loss_fn, num_epochs):\n    return None\n",
                     "第 11 章の『train_model』の結果が正しくありません"),
    "forward_stub": ("08_modules/modules.py",
                     "def _forward(self, x):\n    raise NotImplementedError\nSimpleClassifier.forward = _forward\n",
                     say(messages.FINALE_ERR_TODO, "08", n=8, nn="08", name="SimpleClassifier")),
    "wrong_accuracy": ("12_evaluation/evaluation.py", "def accuracy(model, loader):\n    return 0.123\n",
                       "第 12 章の『accuracy』の結果が正しくありません"),
    "load_returns_other": ("11_training/training.py",
                           "def load_state(model, path):\n    return type(model)(2, 4, 1)\n",
                           "第 11 章の『load_state』の結果が正しくありません"),
    "missing": ("12_evaluation/evaluation.py", "del decision_grid\n",
                "第 12 章の『decision_grid』が『exercises/"),
    "syntax": ("09_data/datasets.py", "def oops(:\n", "第 9 章のファイルを読み込めません: "),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_function_that_is_not_ready_is_named_in_one_japanese_line(case, tmp_path):
    file, appended, expected = BROKEN[case]
    shutil.copytree(ROOT / "solutions", tmp_path / "exercises")
    target = tmp_path / "exercises" / file
    target.write_text(target.read_text(encoding="utf-8") + "\n\n" + appended, encoding="utf-8")
    code, out, err = run_cli("--epochs", "2", "--root", str(tmp_path), "--output", str(tmp_path / "out"))
    assert code == 1
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], err
    assert f"pytest exercises/{file[:2]}" in lines[0]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_run_that_does_not_learn_says_what_to_look_at(tmp_path):
    shutil.copytree(ROOT / "solutions", tmp_path / "exercises")
    target = tmp_path / "exercises" / "10_optim" / "loss_optim.py"
    target.write_text(target.read_text(encoding="utf-8") + "\n\ndef make_sgd(model, lr):\n"
                      "    return torch.optim.SGD(model.parameters(), lr=lr * 1e-4)\n", encoding="utf-8")
    code, out, err = run_cli("--root", str(tmp_path), "--output", str(tmp_path / "out"))
    assert code == 0, err
    assert printed_accuracy(out) < finale.LOW_ACCURACY_BELOW
    assert messages.FINALE_LOW_ACCURACY in out


def test_the_repositorys_stubs_name_the_first_chapter_to_do(tmp_path):
    shutil.copytree(ROOT / "exercises", tmp_path / "exercises")
    code, _, err = run_cli("--root", str(tmp_path), "--output", str(tmp_path / "out"))
    assert code == 1
    assert err.strip() == say(messages.FINALE_ERR_TODO, "08", n=8, nn="08", name="SimpleClassifier")


# -- small parts --------------------------------------------------------------------------------------------------

def test_the_boundary_picture_has_axes_ticks_and_a_colour_key_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # drawn by kata.png and kata.raster alone
    probs = torch.linspace(0, 1, 200)[:, None, None].expand(200, 200, 1)  # p grows with x1
    image = finale.blend_image(probs)
    width, height, channels, rows = read_png(finale.write_boundary_png(tmp_path / "b.png", image))
    side, top, left, ink = 400, finale.PLOT_TOP, finale.PLOT_LEFT, finale.INK
    # The plot itself, pixel for pixel.
    expected = (image.repeat_interleave(2, 0).repeat_interleave(2, 1) * 255).round().to(torch.uint8)
    for row, col in ((0, 0), (123, 45), (399, 399)):
        assert pixel(rows, channels, top + row, left + col) == tuple(expected[row, col].tolist())
    # A frame, and tick marks below and to the left at every tick.
    assert pixel(rows, channels, top - 1, left + 200) == ink and pixel(rows, channels, top + side, left + 200) == ink
    assert pixel(rows, channels, top + 200, left - 1) == ink and pixel(rows, channels, top + 200, left + side) == ink
    for value in finale.TICKS:
        offset = min(side, round((value - finale.GRID_LOW) / (finale.GRID_HIGH - finale.GRID_LOW) * side))
        assert pixel(rows, channels, top + side + 3, left + offset) == ink, value
        assert pixel(rows, channels, top + side - offset, left - 3) == ink, value
    # Numbers under the x axis and left of the y axis: ink where the labels are, none between the axis and them.
    under = [pixel(rows, channels, r, c) for r in range(top + side + 8, top + side + 18) for c in range(left, left + side)]
    beside = [pixel(rows, channels, r, c) for r in range(top, top + side) for c in range(0, left - 9)]
    assert under.count(ink) > 50 and beside.count(ink) > 50
    # The key: class 1's colour at the top, class 0's at the bottom.
    key = left + side + finale.KEY_GAP + finale.KEY_WIDTH // 2
    c0, c1 = finale.CLASS_COLOURS
    assert distance(pixel(rows, channels, top, key), c1) <= 1
    assert distance(pixel(rows, channels, top + side - 1, key), c0) <= 1
    assert width >= key + finale.KEY_WIDTH and height >= top + side + 20


def _figure_words(monkeypatch) -> list[list[str]]:
    """The title, axis labels and legend entries of every figure the finale saves."""
    from matplotlib.figure import Figure

    seen: list[list[str]] = []
    original = Figure.savefig

    def savefig(fig, *args, **kwargs):
        ax = fig.axes[0]
        legend = ax.get_legend()
        seen.append([ax.get_title(), ax.get_xlabel(), ax.get_ylabel(),
                     *([t.get_text() for t in legend.get_texts()] if legend else [])])
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return seen


def _plot_both(folder: Path, font: str | None) -> None:
    probs = torch.full((200, 200, 1), 0.5)
    points = torch.rand(20, 2, generator=torch.Generator().manual_seed(0))
    finale._plot_classification(folder / finale.FIGURE_PNG, finale.blend_image(probs), points,
                                (points.sum(1) > 1).long(), font)
    finale._plot_losses(folder / finale.LOSS_PNG, [0.7, 0.5, 0.4], font)


def test_the_plots_speak_japanese_with_a_japanese_font_without_glyph_warnings(tmp_path, monkeypatch):
    if not has_matplotlib():
        pytest.skip("matplotlib is not installed")
    font = finale.japanese_font()
    if font is None:
        pytest.skip("no Japanese font installed here (the fallback is tested below)")
    seen = _figure_words(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font" would fail the test
        _plot_both(tmp_path, font)
    words = messages.FINALE_PLOT_WORDS
    assert seen[0][0] == words["classification_title"] and seen[0][3:] == [words["class"].format(cls=c) for c in (0, 1)]
    assert seen[1] == [words["loss_title"], words["epoch"], words["loss"]]


def test_without_a_japanese_font_the_plots_are_in_english_without_glyph_warnings(tmp_path, monkeypatch):
    if not has_matplotlib():
        pytest.skip("matplotlib is not installed")
    seen = _figure_words(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _plot_both(tmp_path, None)
    assert seen[1] == [finale.PLOT_WORDS_ASCII[k] for k in ("loss_title", "epoch", "loss")]
    assert all(text.isascii() for figure in seen for text in figure)


@pytest.mark.slow
def test_a_run_without_a_japanese_font_says_so_once(tmp_path, monkeypatch):
    if not has_matplotlib():
        pytest.skip("matplotlib is not installed")
    monkeypatch.setattr(finale, "japanese_font", lambda: None)
    code, out, err = run_cli("--solutions", "--epochs", "1", "--output", str(tmp_path))
    assert code == 0, err
    assert out.count(messages.FINALE_NO_JAPANESE_FONT) == 1
    assert (tmp_path / finale.FIGURE_PNG).is_file() and (tmp_path / finale.LOSS_PNG).is_file()


def test_png_writer_round_trip(tmp_path):
    pixels = bytes(range(2 * 3 * 3))
    path = png.write_rgb(tmp_path / "t.png", 3, 2, pixels)
    assert read_png(path) == (3, 2, 3, [pixels[:9], pixels[9:]])
    with pytest.raises(ValueError):
        png.encode_rgb(3, 2, pixels[:-1])


def test_blend_image_puts_x1_to_the_right_and_x2_upward():
    probs = torch.zeros(4, 4, 1)
    probs[3, 0] = 1.0  # x1 largest, x2 smallest: the bottom-right pixel
    image = finale.blend_image(probs)
    c1 = torch.tensor(finale.CLASS_COLOURS[1], dtype=torch.float32) / 255
    assert torch.allclose(image[3, 3], c1) and image[0, 0].tolist() != c1.tolist()


def test_bad_arguments_are_one_japanese_line(capsys):
    assert main(["run", "xor", "--epochs", "0"]) == 2
    assert "エポック数は 1 以上" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "mnist"])
    assert "xor" in capsys.readouterr().err
