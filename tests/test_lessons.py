"""The lesson beside each chapter: ``exercises/NN_topic/README.md``, printed by ``kata read NN``."""
from __future__ import annotations

import re

import pytest
from test_hints import JAPANESE, _squash, reference_lines

from kata import catalog, cli, lessons, messages
from kata.frontend import say

CHAPTERS = [pytest.param(c, id=c.key) for c in catalog.chapters()]
LESSON_MIN_LINE = 22
SECTIONS = ("## この章で学ぶこと", "## 出典", "## 大事な API", "## よくある間違い", "## 演習")
SOURCE_TITLES = {  # the section titles as they appear in the source text (/work/shared/source/)
    "01": ("バージョンの確認", "seedの設定"), "02": ("Tensorの作成",), "03": ("Tensor2Numpy, Numpy2Tensor",),
    "04": ("Tensor形状の変更",), "05": ("行列積",), "06": ("自動微分と誤差逆伝播法",), "07": ("GPU CPU MPS",),
}


@pytest.mark.parametrize("ch", CHAPTERS)
def test_every_chapter_has_a_lesson_with_its_sections(ch):
    text = lessons.lesson_file(ch).read_text(encoding="utf-8")
    assert text.startswith(f"# 第 {int(ch.number)} 章 {ch.title}"), "the lesson opens with the chapter's title"
    for section in SECTIONS:
        assert section in text, f"{ch.key}: missing {section}"
    assert JAPANESE.search(text)
    for ex in ch.exercises:
        assert f"`{ex.name}`" in text, f"{ch.key}: the lesson does not list {ex.name}"


@pytest.mark.parametrize("ch", CHAPTERS)
def test_lesson_names_its_source(ch):
    source = lessons.lesson_file(ch).read_text(encoding="utf-8").split("## 出典", 1)[1].split("\n## ", 1)[0]
    if int(ch.number) <= 7:
        assert "本文「Intro2DL : Pytorchの基礎」" in source
        for title in SOURCE_TITLES[ch.number]:
            assert f"「{title}」" in source, f"{ch.key}: the source section {title} is not named"
    else:
        assert 'UvA Deep Learning Tutorial 2 "Introduction to PyTorch"' in source


@pytest.mark.parametrize("ch", CHAPTERS)
def test_lesson_gives_no_reference_line(ch):
    """A lesson names the API (``optimizer.step()``, ``with torch.no_grad():``), so only longer lines count here."""
    text = [_squash(line.split("#", 1)[0]) for line in lessons.lesson_file(ch).read_text(encoding="utf-8").splitlines()]
    copied = sorted(line for line in reference_lines(ch) if len(line) >= LESSON_MIN_LINE and any(line in t for t in text))
    assert not copied, f"{ch.key}: the lesson contains reference code verbatim: {copied}"


def test_kata_read_prints_the_lesson(capsys):
    assert cli.main(["read", "6"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# 第 6 章 自動微分") and "## よくある間違い" in out


def test_kata_read_unknown_chapter_is_one_japanese_line(capsys):
    assert cli.main(["read", "99"]) == cli.USAGE_EXIT
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(r"章 '99'", err)


def test_lesson_pointer_names_the_command():
    ch = catalog.chapter("06")
    assert say(messages.READ_LESSON, ch.number, key=ch.key) == \
        "この章の解説: kata read 06 (exercises/06_autograd/README.md)"
