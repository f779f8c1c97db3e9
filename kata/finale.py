"""The finale, ``kata run xor``: the tutorial's own XOR run, end to end, with the learner's functions of chapters 08-12.

The configuration is the UvA tutorial's (the continuation that chapters 08-12 follow): 2,500 noisy XOR training
points, SimpleClassifier(2, 4, 1), BCEWithLogitsLoss, plain SGD with lr 0.1, shuffled batches of 128, 100 epochs,
seed 42; the trained parameters are saved to ``our_model.tar`` and loaded into a fresh model, which is evaluated on
500 test points; the decision boundary is drawn as the tutorial's ``visualize_classification`` does (the two class
colours blended by the predicted probability), and the loss curve beside it.

Every step calls the learner's function (``--solutions``: the references).  When one is still a stub, raises, is
missing or returns something wrong, the run stops with one Japanese line that names the chapter and the function.
The run leaves the caller's global state (RNG, threads, grad mode, default dtype) as it found it.

Pictures: ``decision_boundary.png`` (the blend itself, one square of pixels per grid point) is written by
``kata.png`` and needs nothing else; with matplotlib (``pip install -e ".[plot]"``) the tutorial's figure (test
points over the blend) and the loss curve are written too.  Importing this module is cheap (no torch): the CLI
imports it to register the sub-command (``kata.cli.run``).
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from kata import catalog, messages
from kata.display import display_path
from kata.errors import UsageError
from kata.frontend import say

# -- the tutorial's configuration ---------------------------------------------------------------------------------

TRAIN_SIZE = 2500
TEST_SIZE = 500
NOISE_STD = 0.1
NUM_INPUTS, NUM_HIDDEN, NUM_OUTPUTS = 2, 4, 1
NUM_PARAMETERS = NUM_INPUTS * NUM_HIDDEN + NUM_HIDDEN + NUM_HIDDEN * NUM_OUTPUTS + NUM_OUTPUTS  # 17
LEARNING_RATE = 0.1
BATCH_SIZE = 128
EPOCHS = 100
SEED = 42
GRID_STEP = 0.01
GRID_LOW, GRID_HIGH = -0.5, 1.5
# matplotlib's default colours "C0" (blue) and "C1" (orange), which the tutorial blends with to_rgba("C0"/"C1").
CLASS_COLOURS = ((0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E))
LOW_ACCURACY_BELOW = 0.9  # the tutorial's run reaches about 100%; below this, something in the loop is off
PIXELS_PER_POINT = 2  # the 200 x 200 grid becomes a 400 x 400 plot
# decision_boundary.png around the plot: axes with ticks and numbers (x1 below, x2 on the left) and, on the right, a
# colour key (the blend from probability 0 at the bottom to 1 at the top); its words are printed, not drawn.
PLOT_LEFT, PLOT_TOP = 64, 20
TICKS = (-0.5, 0.0, 0.5, 1.0, 1.5)
KEY_GAP, KEY_WIDTH = 20, 16
KEY_TICKS = (0.0, 0.5, 1.0)
INK = (0x33, 0x33, 0x33)
# Japanese fonts that matplotlib may find (Linux, macOS, Windows); the first one installed writes the plots' words.
JAPANESE_FONTS = ("Noto Sans CJK JP", "Noto Sans JP", "Source Han Sans JP", "IPAexGothic", "IPAGothic",
                  "Hiragino Sans", "Hiragino Kaku Gothic ProN", "Yu Gothic", "Meiryo", "MS Gothic", "TakaoGothic",
                  "VL Gothic", "Noto Sans CJK SC")
# The plots' words where no Japanese font is installed (a missing glyph would be an empty box and a warning).
PLOT_WORDS_ASCII = {"classification_title": "Test samples and decision boundary", "class": "Class {cls}",
                    "loss_title": "Training loss (BCEWithLogitsLoss)", "epoch": "Epoch",
                    "loss": "Mean loss per sample"}

OUTPUT_DIR = "kata_output"
MODEL_FILE = "our_model.tar"
BOUNDARY_PNG = "decision_boundary.png"
FIGURE_PNG = "xor_classification.png"
LOSS_PNG = "loss_curve.png"
TASKS = ("xor",)
CHAPTERS = ("08", "09", "10", "11", "12")


class FinaleError(Exception):
    """The run cannot go on; the message is one Japanese line naming the chapter and the function to fix."""


# -- from Python (the command is kata.cli.run) -----------------------------------------------------------------------

def notebook_run(*, solutions: bool = False, root: str | os.PathLike | None = None,
                 output: str | os.PathLike | None = None, epochs: int = EPOCHS,
                 show: bool | None = None) -> FinaleResult | None:
    """``kata.run_xor``: the finale in this process; in a notebook the pictures are shown inline."""
    try:
        result = run(solutions=solutions, root=root, output=output, epochs=epochs)
    except (FinaleError, UsageError) as err:
        print(err, file=sys.stderr)
        return None
    if show is None:
        show = _in_notebook()
    if show:
        _show_inline(result)
    return result


# -- the run ------------------------------------------------------------------------------------------------------

@dataclass
class FinaleResult:
    accuracy: float
    test_loss: float
    losses: list[float]
    output: Path
    model_file: Path
    pictures: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    def __repr__(self) -> str:
        return (f"FinaleResult(accuracy={self.accuracy:.4f}, test_loss={self.test_loss:.4f}, "
                f"epochs={len(self.losses)}, output={str(self.output)!r})")


def run(*, solutions: bool = False, root: str | os.PathLike | None = None, output: str | os.PathLike | None = None,
        epochs: int = EPOCHS, out: TextIO | None = None) -> FinaleResult:
    """The whole finale; raises ``FinaleError`` (learner code) or ``UsageError`` (arguments)."""
    from kata.cli.learner import learner_root

    out = out or sys.stdout
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise UsageError(messages.FINALE_ERR_BAD_EPOCHS.format(value=epochs))
    learner = learner_root(root)
    folder = Path(output).resolve() if output is not None else learner / OUTPUT_DIR
    code = _Code(learner, solutions)

    import torch

    from kata.state import GlobalState

    state = GlobalState.capture()
    started = time.perf_counter()
    try:
        # One intra-op thread: this model is tiny, and more threads only fight over the cores (6 s vs 44 s on 2).
        torch.set_num_threads(1)
        torch.set_grad_enabled(True)
        result = _run(code, folder, epochs, out)
    finally:
        state.restore()
    result.seconds = time.perf_counter() - started
    print(messages.FINALE_ELAPSED.format(seconds=result.seconds), file=out)
    return result


def _run(code: _Code, folder: Path, epochs: int, out: TextIO) -> FinaleResult:
    import torch
    from torch import nn

    who = messages.FINALE_WHO_SOLUTIONS if code.solutions else messages.FINALE_WHO_LEARNER
    print(messages.FINALE_HEADER.format(who=who, train=TRAIN_SIZE, std=NOISE_STD,
                        i=NUM_INPUTS, h=NUM_HIDDEN, o=NUM_OUTPUTS, lr=LEARNING_RATE, batch=BATCH_SIZE,
                        epochs=epochs, seed=SEED), file=out, flush=True)
    torch.manual_seed(SEED)

    # The model, the data and the optimizer, in the tutorial's order.
    model = code.call("08", "SimpleClassifier", NUM_INPUTS, NUM_HIDDEN, NUM_OUTPUTS)
    _check_model(code, model)
    train_set = code.call("09", "XORDataset", TRAIN_SIZE, NOISE_STD)
    _check_dataset(code, train_set, TRAIN_SIZE)
    train_loader = code.call("09", "make_loader", train_set, BATCH_SIZE, True)
    _check_loader(code, train_loader, BATCH_SIZE)
    optimizer = code.call("10", "make_sgd", model, LEARNING_RATE)
    _check_optimizer(code, optimizer, model)
    loss_fn = nn.BCEWithLogitsLoss()

    # Training, with a progress line per epoch (the loader tells when one pass over it ends).
    progress = _Progress(epochs, out)
    trained_at = time.perf_counter()
    losses = code.call("11", "train_model", model, optimizer, _EpochCounter(train_loader, progress.epoch_done),
                       loss_fn, epochs)
    progress.close()
    losses = _check_losses(code, losses, epochs)
    print(messages.FINALE_TRAINED.format(seconds=time.perf_counter() - trained_at, first=losses[0], last=losses[-1],
                                         epochs=epochs), file=out)

    # Save, and load into a fresh model: everything after this point uses the loaded one.
    folder.mkdir(parents=True, exist_ok=True)
    model_file = folder / MODEL_FILE
    if model_file.exists():
        model_file.unlink()
    code.call("11", "save_state", model, model_file)
    _check_saved(code, model_file, model)
    fresh = code.call("08", "SimpleClassifier", NUM_INPUTS, NUM_HIDDEN, NUM_OUTPUTS)
    loaded = code.call("11", "load_state", fresh, model_file)
    _check_loaded(code, loaded, fresh, model)
    print(messages.FINALE_SAVED.format(file=_shown(model_file)), file=out)

    # Evaluation on new test points.
    test_set = code.call("09", "XORDataset", TEST_SIZE, NOISE_STD)
    _check_dataset(code, test_set, TEST_SIZE)
    test_loader = code.call("09", "make_loader", test_set, BATCH_SIZE, False)
    _check_loader(code, test_loader, BATCH_SIZE)
    test_loss = code.call("11", "evaluate_loss", loaded, test_loader, loss_fn)
    test_loss = _check_float(code, "11", "evaluate_loss", test_loss)
    print(messages.FINALE_TEST_LOSS.format(n=TEST_SIZE, loss=test_loss), file=out)
    acc = _check_float(code, "12", "accuracy", code.call("12", "accuracy", loaded, test_loader))
    points, labels = _stack(test_set)
    with torch.no_grad():
        predicted = (torch.sigmoid(_forward(code, loaded, points).reshape(-1)) >= 0.5).long()
    truth = (predicted == labels).double().mean().item()
    if abs(acc - truth) > 1e-6:
        code.wrong("12", "accuracy", messages.FINALE_WRONG_VALUE.format(
            what=messages.NAME_RETURNED,
            expected=messages.FINALE_EXPECTED_ACCURACY.format(accuracy=truth),
            actual=f"{acc:.4f}"))
    print(messages.FINALE_ACCURACY.format(n=TEST_SIZE, percent=100 * acc), file=out)
    if epochs >= EPOCHS and acc < LOW_ACCURACY_BELOW:
        print(messages.FINALE_LOW_ACCURACY, file=out)

    # The decision boundary: the class colours blended by the predicted probability on a grid.
    grid = code.call("12", "decision_grid", GRID_STEP)
    _check_grid(code, grid)
    probs = code.call("12", "predict_grid", loaded, grid)
    _check_probs(code, probs, loaded, grid)
    image = blend_image(probs)
    boundary = folder / BOUNDARY_PNG
    write_boundary_png(boundary, image)
    print(messages.FINALE_PICTURE_BOUNDARY.format(file=_shown(boundary)), file=out)
    print(messages.FINALE_BOUNDARY_KEY.format(low=_fmt(GRID_LOW), high=_fmt(GRID_HIGH)), file=out)
    pictures = [boundary]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(say(messages.FINALE_NO_MATPLOTLIB), file=out)
    else:
        font = japanese_font()
        if font is None:
            print(messages.FINALE_NO_JAPANESE_FONT, file=out)
        figure = _plot_classification(folder / FIGURE_PNG, image, points, labels, font)
        curve = _plot_losses(folder / LOSS_PNG, losses, font)
        print(messages.FINALE_PICTURE_FIGURE.format(file=_shown(figure)), file=out)
        print(messages.FINALE_PICTURE_LOSS.format(file=_shown(curve)), file=out)
        pictures += [figure, curve]
    return FinaleResult(acc, test_loss, losses, folder, model_file, pictures)


# -- pictures -----------------------------------------------------------------------------------------------------

def blend_image(probs):
    """The tutorial's blend ``(1 - p) * c0 + p * c1`` as an RGB image: rows are x2 (top = 1.5), columns are x1.

    ``probs`` has shape (N, N, 1) with ``probs[i, j]`` at (x1[i], x2[j]) (``meshgrid(indexing="ij")``).  The tutorial
    hands this array to imshow as it is, which puts x1 on the vertical axis; XOR is symmetric, so its picture looks
    the same, but here x1 runs to the right as on the figure's axes.
    """
    import torch

    c0, c1 = (torch.tensor(c, dtype=torch.float32) / 255 for c in CLASS_COLOURS)
    blend = (1 - probs) * c0[None, None] + probs * c1[None, None]  # (N, N, 1) with (1, 1, 3) -> (N, N, 3)
    return blend.permute(1, 0, 2).flip(0).clamp(0, 1)


def _fmt(value: float) -> str:
    return f"{value:g}"


def write_boundary_png(path: Path, image) -> Path:
    """``image`` (H, W, 3 floats in [0, 1]) as an 8-bit PNG, each grid point a PIXELS_PER_POINT square, with axes
    (ticks and numbers at TICKS, the names x1 and x2) and a colour key of the class probability on the right."""
    import torch

    from kata import png
    from kata.raster import GLYPH_HEIGHT, Canvas, text_width

    scaled = image.repeat_interleave(PIXELS_PER_POINT, dim=0).repeat_interleave(PIXELS_PER_POINT, dim=1)
    pixels = (scaled * 255).round().to(torch.uint8).contiguous()
    height, width, _ = pixels.shape
    glyph = GLYPH_HEIGHT * 2
    key_left = PLOT_LEFT + width + KEY_GAP
    canvas = Canvas(key_left + KEY_WIDTH + 6 + text_width("0.5") + 8, PLOT_TOP + height + 8 + glyph + 6 + glyph + 8)
    canvas.paste(PLOT_LEFT, PLOT_TOP, width, height, pixels.numpy().tobytes())
    canvas.frame(PLOT_LEFT, PLOT_TOP, width, height, INK)
    span = GRID_HIGH - GRID_LOW
    for value in TICKS:
        label = _fmt(value)
        x = PLOT_LEFT + min(width, round((value - GRID_LOW) / span * width))  # x1 grows to the right
        canvas.fill(x, PLOT_TOP + height + 1, 1, 5, INK)
        canvas.text(x - text_width(label) // 2, PLOT_TOP + height + 8, label, INK)
        y = PLOT_TOP + height - min(height, round((value - GRID_LOW) / span * height))  # x2 grows upward
        canvas.fill(PLOT_LEFT - 6, y, 5, 1, INK)
        canvas.text(PLOT_LEFT - 9 - text_width(label), y - glyph // 2, label, INK)
    canvas.text(PLOT_LEFT + width // 2 - text_width("x1") // 2, PLOT_TOP + height + 8 + glyph + 6, "x1", INK)
    canvas.text(4, PLOT_TOP + height // 2 - glyph // 2, "x2", INK)
    # The key: each row the blend at its probability, 1 (class 1) at the top, 0 (class 0) at the bottom.
    (r0, g0, b0), (r1, g1, b1) = CLASS_COLOURS
    for row in range(height):
        p = 1 - row / (height - 1)
        colour = (round((1 - p) * r0 + p * r1), round((1 - p) * g0 + p * g1), round((1 - p) * b0 + p * b1))
        canvas.fill(key_left, PLOT_TOP + row, KEY_WIDTH, 1, colour)
    canvas.frame(key_left, PLOT_TOP, KEY_WIDTH, height, INK)
    for value in KEY_TICKS:
        y = PLOT_TOP + round((1 - value) * (height - 1))
        canvas.fill(key_left + KEY_WIDTH + 1, y, 4, 1, INK)
        canvas.text(key_left + KEY_WIDTH + 6, y - glyph // 2, _fmt(value), INK)
    canvas.text(key_left + KEY_WIDTH // 2 - text_width("p") // 2, PLOT_TOP - glyph - 6, "p", INK)
    return png.write_rgb(path, canvas.width, canvas.height, bytes(canvas.pixels))


def japanese_font() -> str | None:
    """The first of JAPANESE_FONTS that matplotlib finds installed, else None."""
    from matplotlib import font_manager

    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((name for name in JAPANESE_FONTS if name in installed), None)


@contextlib.contextmanager
def _plot_style(font: str | None) -> Iterator[dict[str, str]]:
    """The plots' words, and matplotlib set to write them: in Japanese with ``font`` (the default font after it,
    for the glyphs it lacks), else in English."""
    import matplotlib

    if font is None:
        yield PLOT_WORDS_ASCII
        return
    with matplotlib.rc_context({"font.family": "sans-serif",
                                "font.sans-serif": [font, *matplotlib.rcParams["font.sans-serif"]]}):
        yield messages.FINALE_PLOT_WORDS


def _plot_classification(path: Path, image, points, labels, font: str | None = None) -> Path:
    """The tutorial's ``visualize_classification``: the test points over the blend, without pyplot's global state."""
    from matplotlib.figure import Figure

    with _plot_style(font) as words:
        fig = Figure(figsize=(4, 4), dpi=150)
        ax = fig.add_subplot()
        data = points.numpy()
        for cls in (0, 1):
            chosen = data[(labels == cls).numpy()]
            ax.scatter(chosen[:, 0], chosen[:, 1], s=12, color=f"C{cls}", edgecolor="#333", linewidths=0.5,
                       label=words["class"].format(cls=cls))
        # image rows run from x2 = 1.5 down; imshow with origin="upper" (its default) draws the first row at the top.
        ax.imshow(image.numpy(), extent=(GRID_LOW, GRID_HIGH, GRID_LOW, GRID_HIGH))
        ax.set_title(words["classification_title"])
        ax.set_xlabel(r"$x_1$")
        ax.set_ylabel(r"$x_2$")
        ax.legend()
        ax.grid(False)
        fig.tight_layout()
        fig.savefig(path)
    return path


def _plot_losses(path: Path, losses: list[float], font: str | None = None) -> Path:
    from matplotlib.figure import Figure

    with _plot_style(font) as words:
        fig = Figure(figsize=(5, 3.5), dpi=150)
        ax = fig.add_subplot()
        ax.plot(range(1, len(losses) + 1), losses, color="C0")
        ax.set_title(words["loss_title"])
        ax.set_xlabel(words["epoch"])
        ax.set_ylabel(words["loss"])
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        fig.savefig(path)
    return path


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _show_inline(result: FinaleResult) -> None:
    try:
        from IPython.display import Image, display
    except ImportError:
        return
    shown = [p for p in result.pictures if p.name != BOUNDARY_PNG] or result.pictures
    for picture in shown:
        display(Image(filename=str(picture)))


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# -- progress -----------------------------------------------------------------------------------------------------

class _Progress:
    """One line rewritten in place on a terminal or in a notebook; elsewhere (a log) a line every tenth of the run."""

    WIDTH = 20

    def __init__(self, epochs: int, out: TextIO):
        self.epochs, self.out, self.done = epochs, out, 0
        isatty = getattr(out, "isatty", None)
        self.in_place = bool(isatty and isatty()) or "ipykernel" in sys.modules
        self.every = max(1, epochs // 10)

    def epoch_done(self) -> None:
        self.done += 1
        if self.done > self.epochs:
            return
        filled = self.WIDTH * self.done // self.epochs
        line = messages.FINALE_PROGRESS.format(bar="━" * filled + "─" * (self.WIDTH - filled), epoch=self.done,
                                               epochs=self.epochs)
        if self.in_place:
            print("\r" + line, end="", file=self.out, flush=True)
        elif self.done % self.every == 0 or self.done == self.epochs:
            print(line, file=self.out, flush=True)

    def close(self) -> None:
        if self.in_place and self.done:
            print(file=self.out, flush=True)


class _EpochCounter:
    """The learner's DataLoader, unchanged, reporting each completed pass over it; anything else is delegated."""

    def __init__(self, loader: Any, on_epoch: Callable[[], None]):
        self._loader = loader
        self._on_epoch = on_epoch

    def __iter__(self):
        yield from self._loader
        self._on_epoch()

    def __len__(self) -> int:
        return len(self._loader)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


# -- the learner's code -------------------------------------------------------------------------------------------

def _known_chapter(nn: str) -> catalog.Chapter:
    found = catalog.chapter(nn)
    if found is None:
        raise LookupError(f"chapter {nn} is missing from the catalogue")
    return found


class _Code:
    """The modules of chapters 08-12 (the learner's or the references) and calls into them that fail in Japanese."""

    def __init__(self, root: Path, solutions: bool):
        self.root, self.solutions = root, solutions
        self.chapters = {nn: _known_chapter(nn) for nn in CHAPTERS}
        self.files = {nn: (ch.reference_file() if solutions else ch.learner_file(root)).resolve()
                      for nn, ch in self.chapters.items()}
        self._modules: dict[str, types.ModuleType] = {}

    def module(self, nn: str) -> types.ModuleType:
        if nn not in self._modules:
            from kata import loader
            from kata.errors import LearnerImportError

            chapter, path = self.chapters[nn], self.files[nn]
            role = "solutions" if self.solutions else "learner"
            if not self.solutions:
                loader.forget(path)  # edits saved within the file system's time resolution are seen too
            try:
                self._modules[nn] = loader.load(path, f"kata_finale.{role}.c{chapter.key}",
                                                learner=not self.solutions)
            except LearnerImportError as err:
                verdict = str(err.verdict).strip().rstrip("。")
                raise FinaleError(say(messages.FINALE_ERR_IMPORT, nn, n=int(nn), nn=nn, verdict=verdict)) from None
        return self._modules[nn]

    def call(self, nn: str, name: str, *args: Any) -> Any:
        module = self.module(nn)
        fn = getattr(module, name, None)
        if fn is None:
            raise FinaleError(say(messages.FINALE_ERR_MISSING, nn, n=int(nn), nn=nn, name=name,
                                                                 file=display_path(self.files[nn])))
        try:
            return fn(*args)
        except (KeyboardInterrupt, FinaleError):
            raise
        except Exception as err:  # any failure in learner code becomes one Japanese line
            raise self._explain(err, nn, name) from None

    def wrong(self, nn: str, name: str, detail: str) -> None:
        raise FinaleError(say(messages.FINALE_ERR_WRONG, nn, n=int(nn), nn=nn, name=name, detail=detail))

    def _explain(self, err: Exception, nn: str, name: str) -> FinaleError:
        """Blame the innermost frame in a chapter file (a model's forward called by train_model is chapter 08's)."""
        by_file = {str(path): key for key, path in self.files.items()}
        blamed, qualname, where, innermost = nn, name, display_path(self.files[nn]), False
        tb = err.__traceback__
        while tb is not None:
            filename = str(Path(tb.tb_frame.f_code.co_filename).resolve())
            innermost = filename in by_file
            if innermost:
                blamed, qualname = by_file[filename], tb.tb_frame.f_code.co_qualname
                where = f"{display_path(filename)}:{tb.tb_lineno}"
            tb = tb.tb_next
        # Name the exercise as the catalogue does: a method by its class (SimpleClassifier.forward -> SimpleClassifier).
        head = qualname.split(".")[0]
        if self.chapters[blamed].exercise(head) is not None:
            exercise = head
        else:
            exercise = name.split(".")[0] if blamed == nn else qualname
        if isinstance(err, NotImplementedError) and innermost:
            return FinaleError(say(messages.FINALE_ERR_TODO, blamed, n=int(blamed), nn=blamed, name=exercise))
        text = str(err).strip().splitlines()
        message = text[0] if text else ""
        if len(message) > 200:
            message = message[:197] + "…"
        return FinaleError(say(messages.FINALE_ERR_RAISED, blamed, n=int(blamed), nn=blamed, name=exercise, where=where,
                                             exc_type=type(err).__name__, exc_msg=message))


# -- what the learner's functions must return for the run to go on ------------------------------------------------

def _check_model(code: _Code, model: Any) -> None:
    import torch
    from torch import nn

    if not isinstance(model, nn.Module):
        code.wrong("08", "SimpleClassifier", messages.FINALE_WRONG_TYPE.format(
            what=messages.FINALE_WHAT_MODEL, expected="nn.Module", actual=type(model).__name__))
    count = sum(p.numel() for p in model.parameters())
    if count != NUM_PARAMETERS:
        code.wrong("08", "SimpleClassifier", messages.FINALE_WRONG_VALUE.format(
            what=messages.FINALE_WHAT_PARAMETER_COUNT.format(i=NUM_INPUTS, h=NUM_HIDDEN, o=NUM_OUTPUTS),
            expected=NUM_PARAMETERS, actual=count))
    with torch.no_grad():
        logits = _forward(code, model, torch.zeros(3, NUM_INPUTS))
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (3, NUM_OUTPUTS):
        actual = list(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        code.wrong("08", "SimpleClassifier", messages.FINALE_WRONG_SHAPE.format(
            what=messages.FINALE_WHAT_OUTPUT, expected="[3, 1]", actual=actual))


def _forward(code: _Code, model: Any, x: Any) -> Any:
    try:
        return model(x)
    except (KeyboardInterrupt, FinaleError):
        raise
    except Exception as err:
        raise code._explain(err, "08", "SimpleClassifier.forward") from None


def _check_dataset(code: _Code, dataset: Any, size: int) -> None:
    import torch

    try:
        length = len(dataset)
    except Exception as err:
        raise code._explain(err, "09", "XORDataset.__len__") from None
    if length != size:
        code.wrong("09", "XORDataset", messages.FINALE_WRONG_VALUE.format(
            what=messages.FINALE_WHAT_LENGTH.format(size=size), expected=size, actual=length))
    try:
        item = dataset[0]
    except Exception as err:
        raise code._explain(err, "09", "XORDataset.__getitem__") from None
    if not (isinstance(item, tuple) and len(item) == 2 and all(isinstance(t, torch.Tensor) for t in item)):
        code.wrong("09", "XORDataset", messages.FINALE_WRONG_TYPE.format(
            what=messages.FINALE_WHAT_ITEM, expected=messages.FINALE_EXPECTED_ITEM, actual=type(item).__name__))
    if tuple(item[0].shape) != (NUM_INPUTS,) or tuple(item[1].shape) != ():
        code.wrong("09", "XORDataset", messages.FINALE_WRONG_SHAPE.format(
            what=messages.FINALE_WHAT_ITEM_SHAPES,
            expected="([2], [])",
            actual=f"({list(item[0].shape)}, {list(item[1].shape)})"))


def _check_loader(code: _Code, loader: Any, batch_size: int) -> None:
    from torch.utils import data

    if not isinstance(loader, data.DataLoader):
        code.wrong("09", "make_loader", messages.FINALE_WRONG_TYPE.format(
            what=messages.NAME_RETURNED, expected="DataLoader", actual=type(loader).__name__))
    if loader.batch_size != batch_size:
        code.wrong("09", "make_loader", messages.FINALE_WRONG_VALUE.format(
            what=messages.FINALE_WHAT_BATCH_SIZE, expected=batch_size, actual=loader.batch_size))


def _check_optimizer(code: _Code, optimizer: Any, model: Any) -> None:
    import torch

    if not isinstance(optimizer, torch.optim.Optimizer):
        code.wrong("10", "make_sgd", messages.FINALE_WRONG_TYPE.format(
            what=messages.NAME_RETURNED, expected="torch.optim.SGD", actual=type(optimizer).__name__))
    given = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if not all(id(p) in given for p in model.parameters()):
        code.wrong("10", "make_sgd", messages.FINALE_PARAMETERS_NOT_GIVEN)


def _check_losses(code: _Code, losses: Any, epochs: int) -> list[float]:
    try:
        values = [float(v) for v in losses]
    except Exception:  # None, a tensor of the wrong kind, …
        code.wrong("11", "train_model", messages.FINALE_WRONG_TYPE.format(
            what=messages.NAME_RETURNED, expected=messages.FINALE_EXPECTED_FLOATS, actual=type(losses).__name__))
    if len(values) != epochs:
        code.wrong("11", "train_model", messages.FINALE_WRONG_VALUE.format(
            what=messages.FINALE_WHAT_LOSSES_LENGTH,
            expected=messages.FINALE_EXPECTED_EPOCHS.format(epochs=epochs),
            actual=len(values)))
    if not all(math.isfinite(v) for v in values):
        code.wrong("11", "train_model", messages.FINALE_WRONG_NOT_FINITE.format(what=messages.FINALE_WHAT_LOSSES))
    return values


def _check_saved(code: _Code, path: Path, model: Any) -> None:
    import torch

    if not path.is_file():
        code.wrong("11", "save_state", messages.FINALE_NOT_WRITTEN.format(file=path.name))
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        code.wrong("11", "save_state", messages.FINALE_UNREADABLE.format(exc_type=type(err).__name__))
    expected = sorted(model.state_dict())
    if not isinstance(saved, dict) or sorted(saved) != expected:
        actual = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
        code.wrong("11", "save_state", messages.FINALE_WRONG_VALUE.format(
            what=messages.FINALE_WHAT_SAVED,
            expected=messages.FINALE_EXPECTED_STATE_DICT.format(keys=expected),
            actual=actual))


def _check_loaded(code: _Code, loaded: Any, fresh: Any, model: Any) -> None:
    import torch

    if loaded is not fresh:
        code.wrong("11", "load_state", messages.FINALE_NOT_THE_MODEL)
    trained = model.state_dict()
    if any(not torch.equal(value, trained[key]) for key, value in fresh.state_dict().items()):
        code.wrong("11", "load_state", messages.FINALE_LOADED_DIFFERS)


def _check_float(code: _Code, nn: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (float, int)):
        code.wrong(nn, name, messages.FINALE_WRONG_TYPE.format(what=messages.NAME_RETURNED, expected="float",
                                                               actual=type(value).__name__))
    if not math.isfinite(value):
        code.wrong(nn, name, messages.FINALE_WRONG_NOT_FINITE.format(what=messages.NAME_RETURNED))
    return float(value)


def _grid_points():
    import torch

    axis = torch.arange(GRID_LOW, GRID_HIGH, GRID_STEP)
    return torch.stack(torch.meshgrid(axis, axis, indexing="ij"), dim=-1)


def _check_grid(code: _Code, grid: Any) -> None:
    import torch

    expected = _grid_points()
    if not isinstance(grid, torch.Tensor) or grid.shape != expected.shape:
        actual = list(grid.shape) if isinstance(grid, torch.Tensor) else type(grid).__name__
        code.wrong("12", "decision_grid", messages.FINALE_WRONG_SHAPE.format(
            what=messages.NAME_RETURNED, expected=list(expected.shape), actual=actual))
    if not torch.allclose(grid.float(), expected, atol=1e-4):
        code.wrong("12", "decision_grid", messages.FINALE_GRID_WRONG)


def _check_probs(code: _Code, probs: Any, model: Any, grid: Any) -> None:
    import torch

    if not isinstance(probs, torch.Tensor) or tuple(probs.shape) != (*grid.shape[:2], 1):
        actual = list(probs.shape) if isinstance(probs, torch.Tensor) else type(probs).__name__
        code.wrong("12", "predict_grid", messages.FINALE_WRONG_SHAPE.format(
            what=messages.NAME_RETURNED, expected=[*grid.shape[:2], 1], actual=actual))
    with torch.no_grad():
        expected = torch.sigmoid(_forward(code, model, grid))
    if not torch.allclose(probs.detach().float(), expected, atol=1e-5):
        code.wrong("12", "predict_grid", messages.FINALE_PROBABILITIES_WRONG)


def _stack(dataset: Any):
    """All points and labels of a dataset, read item by item (the attribute names are the learner's choice)."""
    import torch

    items = [dataset[i] for i in range(len(dataset))]
    return torch.stack([p for p, _ in items]), torch.stack([label for _, label in items]).long()
