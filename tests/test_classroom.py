"""``kata class grade`` / ``kata class merge``: a synthetic class with known scores graded end to end, hostile rows
that cost only their own row, resume, shards; and the roster's own rules (zips, links, shards, names, CSV).

The class is built from references, stubs and catalogued wrong answers of chapters 01 and 02, so each learner's
score is known before grading: a reference earns the chapter's points (``chapter.toml``), a stub or a missing file
none, and a wrong answer the points in ``MUTANT_POINTS`` (derived once from the catalogue: the reference with one
exercise replaced loses that exercise's point and nothing else).
"""
from __future__ import annotations

import csv
import html
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, replace_exactly
from kata import catalog
from kata.api import mutants
from kata.classroom import messages, outputs, roster
from kata.grading.glue import mutant_source

CHAPTERS = ("01_setup", "02_creation")
SEED = 7
#: Chapter points a reference with one catalogued wrong answer earns: the chapter's full marks less the one point of
#: the exercise it gets wrong (asserted by the class run).
_FULL = {key: int(sum(e.points for e in catalog.chapter_of_key(key).exercises)) for key in CHAPTERS}
MUTANT_POINTS = {
    "torch_version:hard_coded_version": _FULL["01_setup"] - 1, "seeded_rand:float64": _FULL["01_setup"] - 1,
    "rand_with_generator:ignores_generator": _FULL["01_setup"] - 1,
    "make_zeros:int64_zeros": _FULL["02_creation"] - 1, "make_arange:includes_end": _FULL["02_creation"] - 1,
    "exact_tensor_from_list:returns_the_list": _FULL["02_creation"] - 1,
}
MUTANTS_OF = {"01_setup": list(MUTANT_POINTS)[:3], "02_creation": list(MUTANT_POINTS)[3:]}
HOSTILE_NAME = "<img src=x onerror=alert(1)>"


def _chapter(key: str) -> catalog.Chapter:
    ch = catalog.chapter_of_key(key)
    assert ch is not None
    return ch


def _points(key: str) -> int:
    return int(sum(e.points for e in _chapter(key).exercises))


def _mutant(key: str, ident: str) -> mutants.Mutant:
    found = [m for m in mutants.load_all(ROOT / "tests" / "mutants") if m.chapter == key and m.id == ident]
    assert len(found) == 1, ident
    return found[0]


def _chapter_file(key: str, kind: str) -> tuple[bytes | None, int]:
    """(the file's bytes or None for no file, the chapter points it earns)."""
    ch = _chapter(key)
    if kind == "reference":
        return ch.reference_file().read_bytes(), _points(key)
    if kind == "stub":
        return ch.learner_file().read_bytes(), 0
    if kind == "missing":
        return None, 0
    source, _, _ = mutant_source(ch.reference_file(), _mutant(key, kind))
    return source, MUTANT_POINTS[kind]


def _write(folder: Path, key: str, data: bytes | None) -> None:
    if data is None:
        return
    dest = folder / "exercises" / key / _chapter(key).file
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)


def _status_ok(row: list[str]) -> list[str]:
    return row + [messages.STATUS_OK]


def build_class(root: Path) -> dict[str, tuple[list[str], str | None]]:
    """The roster under ``root``; returns learner -> (expected score cells, expected status or status prefix)."""
    expected: dict[str, tuple[list[str], str | None]] = {}
    kinds = {key: ["reference", "stub", "missing", *MUTANTS_OF[key]] for key in CHAPTERS}
    for i, (a, b) in enumerate(itertools.product(kinds["01_setup"], kinds["02_creation"])):
        name = f"learner{i:02d}"
        (root / name).mkdir(parents=True)
        data_a, pts_a = _chapter_file("01_setup", a)
        data_b, pts_b = _chapter_file("02_creation", b)
        _write(root / name, "01_setup", data_a)
        _write(root / name, "02_creation", data_b)
        status = messages.STATUS_NO_FILES if data_a is None and data_b is None else messages.STATUS_OK
        if data_a is None and data_b is None:
            (root / name / "README.md").write_text("nothing yet", encoding="utf-8")
        expected[name] = ([str(pts_a), str(pts_b), str(pts_a + pts_b)], status)
    ref01, ref02 = _chapter("01_setup").reference_file(), _chapter("02_creation").reference_file()
    full = [str(_points("01_setup")), str(_points("02_creation")), str(_points("01_setup") + _points("02_creation"))]

    # A name that is markup, graded normally.
    _write(root / HOSTILE_NAME, "01_setup", ref01.read_bytes())
    _write(root / HOSTILE_NAME, "02_creation", ref02.read_bytes())
    expected[HOSTILE_NAME] = (full, messages.STATUS_OK)
    # A zip of a repository archive (one top folder), graded like a folder.
    with zipfile.ZipFile(root / "zipped.zip", "w") as zf:
        zf.writestr("kata-main/exercises/01_setup/seeds.py", ref01.read_bytes())
        zf.writestr("kata-main/exercises/02_creation/creation.py", ref02.read_bytes())
        zf.writestr("kata-main/README.md", "not unpacked")
    expected["zipped"] = (full, messages.STATUS_OK)
    # Hostile rows: each costs its own row only.
    (root / "zz-broken.zip").write_bytes(b"PK\x03\x04 this is not a zip file")
    expected["zz-broken"] = (["0", "0", "0"], messages.ZIP_BROKEN.format(why="BadZipFile"))
    with zipfile.ZipFile(root / "zz-traversal.zip", "w") as zf:
        zf.writestr("exercises/01_setup/seeds.py", ref01.read_bytes())
        zf.writestr("../../escaped.py", "print('out')")
    expected["zz-traversal"] = (["0", "0", "0"], messages.ZIP_UNSAFE.split("{")[0])
    with zipfile.ZipFile(root / "zz-ziplink.zip", "w") as zf:
        info = zipfile.ZipInfo("exercises/01_setup/seeds.py")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    expected["zz-ziplink"] = (["0", "0", "0"], messages.ZIP_UNSAFE.split("{")[0])
    os.symlink(root / "learner00", root / "zz-entrylink")
    expected["zz-entrylink"] = (["0", "0", "0"], messages.ENTRY_LINK)
    (root / "zz-filelink" / "exercises" / "01_setup").mkdir(parents=True)
    os.symlink(ref01, root / "zz-filelink" / "exercises" / "01_setup" / "seeds.py")
    _write(root / "zz-filelink", "02_creation", ref02.read_bytes())
    expected["zz-filelink"] = (["0", str(_points("02_creation")), str(_points("02_creation"))],
                               messages.STATUS_UNREADABLE_CHAPTERS.split("{")[0])
    _write(root / "zz-syntax", "01_setup", b"def torch_version(:\n    return 1\n")
    _write(root / "zz-syntax", "02_creation", ref02.read_bytes())
    expected["zz-syntax"] = (["0", str(_points("02_creation")), str(_points("02_creation"))],
                             messages.STATUS_SYNTAX.format(chapters="01"))
    looping = replace_exactly(ref01.read_text(encoding="utf-8"), "    return str(torch.__version__)\n",
                              "    while True:\n        pass\n")
    _write(root / "zz-loop", "01_setup", looping.encode())
    _write(root / "zz-loop", "02_creation", _chapter("02_creation").learner_file().read_bytes())
    expected["zz-loop"] = ([str(_points("01_setup") - 1), "0", str(_points("01_setup") - 1)],
                           messages.STATUS_TIMEOUT.format(exercises="01 torch_version"))
    return expected


def _class(*args: str, timeout: float = 1500) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KATA_"))}
    return subprocess.run([sys.executable, "-m", "kata", "class", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env)


GRADE_OPTIONS = ("--chapters", "01,02", "--seed", str(SEED), "--check-timeout", "5", "--budget", "240")


def _graded(proc: subprocess.CompletedProcess) -> int:
    """How many learners the run graded, from its summary line."""
    head = messages.SUMMARY.split("、")[0]  # "{graded} 人を採点し"
    match = re.search("^" + re.escape(head).replace(re.escape("{graded}"), r"(\d+)"), proc.stderr, re.M)
    assert match, proc.stderr
    return int(match.group(1))


def _rows(out: Path) -> list[list[str]]:
    with open(out / "scores.csv", encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("klass")
    expected = build_class(base / "roster")
    proc = _class("grade", str(base / "roster"), "--out", str(base / "out"), *GRADE_OPTIONS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"base": base, "roster": base / "roster", "out": base / "out", "expected": expected, "proc": proc}


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_class_with_known_scores_is_graded_end_to_end(graded):
    rows = _rows(graded["out"])
    assert rows[0] == [messages.CSV_LEARNER, *CHAPTERS, messages.CSV_TOTAL, messages.CSV_MAX, messages.CSV_STATUS]
    expected = graded["expected"]
    assert len(expected) >= 30
    assert [r[0] for r in rows[1:]] == sorted(expected)
    maximum = str(_points("01_setup") + _points("02_creation"))
    wrong = []
    for row in rows[1:]:
        cells, status = expected[row[0]]
        if row[1:5] != [*cells, maximum]:
            wrong.append((row[0], row[1:5], [*cells, maximum]))
        elif status is not None and not row[5].startswith(status):
            wrong.append((row[0], row[5], status))
    assert not wrong, wrong
    # Exact rows for the ordinary learners (the status of hostile rows quotes grader messages, checked by prefix).
    for row in rows[1:]:
        if row[0].startswith("learner"):
            cells, status = expected[row[0]]
            assert row == [row[0], *cells, maximum, status]
    # The CSV opens in Excel in Japan: UTF-8 with a byte order mark.
    assert (graded["out"] / "scores.csv").read_bytes().startswith(b"\xef\xbb\xbf")


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_every_learner_has_a_report_in_kata_grade_json_and_a_page(graded):
    out = graded["out"]
    for state in outputs.read_states(out):
        rep = json.loads((out / "reports" / f"{state['slug']}.json").read_text(encoding="utf-8"))
        assert rep["format"] == "kata-grade" and rep["submission"] == state["learner"]
        assert rep["seed"] == SEED
        assert [c["key"] for c in rep["chapters"]] == list(CHAPTERS)
        assert (out / "learners" / f"{state['slug']}.html").is_file()
    # Nothing of the traversal zip landed outside its own folder.
    assert not list(graded["base"].rglob("escaped.py"))


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_hostile_names_are_text_on_the_dashboard(graded):
    page = (graded["out"] / "index.html").read_text(encoding="utf-8")
    assert HOSTILE_NAME not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    slug = roster.slug(HOSTILE_NAME)
    assert "<" not in slug and "/" not in slug
    learner_page = (graded["out"] / "learners" / f"{slug}.html").read_text(encoding="utf-8")
    assert HOSTILE_NAME not in learner_page and "<script" not in learner_page


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_second_run_grades_nothing_and_a_changed_submission_alone_is_graded_again(graded):
    before = _rows(graded["out"])
    proc = _class("grade", str(graded["roster"]), "--out", str(graded["out"]), *GRADE_OPTIONS)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _graded(proc) == 0, proc.stderr
    assert _rows(graded["out"]) == before
    # learner00 (reference, reference) now submits a stub for chapter 02.
    _write(graded["roster"] / "learner00", "02_creation", _chapter("02_creation").learner_file().read_bytes())
    proc = _class("grade", str(graded["roster"]), "--out", str(graded["out"]), *GRADE_OPTIONS)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _graded(proc) == 1, proc.stderr
    after = {r[0]: r for r in _rows(graded["out"])[1:]}
    assert after["learner00"][1:4] == [str(_points("01_setup")), "0", str(_points("01_setup"))]
    assert {k: v for k, v in after.items() if k != "learner00"} == \
        {r[0]: r for r in before[1:] if r[0] != "learner00"}
    # Back as it was (the other tests of this module see the original class).
    _write(graded["roster"] / "learner00", "02_creation", _chapter("02_creation").reference_file().read_bytes())
    proc = _class("grade", str(graded["roster"]), "--out", str(graded["out"]), *GRADE_OPTIONS)
    assert proc.returncode == 0 and _rows(graded["out"]) == before


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_shards_partition_the_roster_and_merge_to_the_unsharded_result(graded, tmp_path):
    names = sorted(graded["expected"])
    shards = []
    for k in (1, 2, 3):
        shard = tmp_path / f"shard{k}"
        # Seeded with the unsharded run's rows: their keys match, so a shard grades nothing again and drops the
        # rows of learners outside it (grading the class three more times would only repeat the test above).
        shutil.copytree(graded["out"], shard)
        proc = _class("grade", str(graded["roster"]), "--out", str(shard), "--shard", f"{k}/3", *GRADE_OPTIONS)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert _graded(proc) == 0, proc.stderr
        shards.append(shard)
    members = [[r[0] for r in _rows(s)[1:]] for s in shards]
    assert sorted(itertools.chain(*members)) == names  # disjoint, and together the whole class
    assert all(members), members
    assert members == [[n for n in names if roster.in_shard(n, (k, 3))] for k in (1, 2, 3)]
    proc = _class("merge", *map(str, shards), "--out", str(tmp_path / "merged"))
    assert proc.returncode == 0, proc.stderr
    assert _rows(tmp_path / "merged") == _rows(graded["out"])
    assert sorted(p.name for p in (tmp_path / "merged" / "reports").iterdir()) == \
        sorted(p.name for p in (graded["out"] / "reports").iterdir())
    assert (tmp_path / "merged" / "index.html").is_file()


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_a_run_stopped_midway_continues_where_it_stopped(tmp_path):
    reference = _chapter("01_setup").reference_file().read_bytes()
    for i in range(5):
        _write(tmp_path / "roster" / f"s{i}", "01_setup", reference)
    out = tmp_path / "out"
    args = ("grade", str(tmp_path / "roster"), "--out", str(out), "--chapters", "01", "--seed", str(SEED),
            "--jobs", "1")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KATA_"))}
    proc = subprocess.Popen([sys.executable, "-m", "kata", "class", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None and not list((out / "state").glob("*.json")):
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)  # as a cancelled CI job or a batch system's time limit does
        proc.wait(timeout=300)
    finally:
        proc.kill()
    done = len(list((out / "state").glob("*.json")))
    assert done >= 1
    again = _class(*args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert _graded(again) == 5 - done
    rows = _rows(out)[1:]
    assert [r[0] for r in rows] == [f"s{i}" for i in range(5)]
    assert all(r[1:3] == [str(_points("01_setup"))] * 2 and r[-1] == messages.STATUS_OK for r in rows), rows


# -- the roster's rules, without grading ------------------------------------------------------------------------------

def test_shards_are_stable_and_cover_everyone():
    names = [f"student-{i}" for i in range(200)] + ["山田 太郎", HOSTILE_NAME]
    for n in (1, 2, 5):
        owners = [[k for k in range(1, n + 1) if roster.in_shard(name, (k, n))] for name in names]
        assert all(len(o) == 1 for o in owners)
    assert [roster.in_shard(x, (2, 5)) for x in names] == [roster.in_shard(x, (2, 5)) for x in reversed(names)][::-1]
    assert roster.parse_shard("2/4") == (2, 4)
    for bad in ("0/3", "4/3", "a/b", "3"):
        with pytest.raises(ValueError):
            roster.parse_shard(bad)


def test_unsafe_zips_are_refused_and_write_nothing_outside(tmp_path):
    cases = {
        "abs.zip": [("/etc/evil.py", b"x")], "dots.zip": [("a/../../evil.py", b"x")],
        "drive.zip": [("C:/evil.py", b"x")],
    }
    for name, members in cases.items():
        with zipfile.ZipFile(tmp_path / name, "w") as zf:
            for member, data in members:
                zf.writestr(member, data)
        with pytest.raises(roster.BadZip):
            roster.unpack_zip(tmp_path / name, tmp_path / "out" / name)
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("seeds.py", b"#" * (roster.ZIP_MAX_MEMBER_BYTES + 10))
    with pytest.raises(roster.BadZip):
        roster.unpack_zip(big, tmp_path / "out" / "big")
    assert not list(tmp_path.rglob("evil.py"))


def test_the_roster_is_folders_and_zips_and_nothing_else(tmp_path):
    ref = _chapter("01_setup").reference_file().read_bytes()
    _write(tmp_path / "alice", "01_setup", ref)
    with zipfile.ZipFile(tmp_path / "bob.zip", "w") as zf:
        zf.writestr("bob-main/exercises/01_setup/seeds.py", ref)
    with zipfile.ZipFile(tmp_path / "alice.zip", "w") as zf:  # a zip beside a folder of the same name
        zf.writestr("seeds.py", ref)
    (tmp_path / ".git").mkdir()
    (tmp_path / "submission_metadata.yml").write_text("x", encoding="utf-8")
    (tmp_path / "class").mkdir()  # the class folder, put inside the roster
    os.symlink(tmp_path / "alice", tmp_path / "carol")
    learners = roster.discover(tmp_path, tmp_path / ".unpacked", exclude=(tmp_path / "class",))
    assert [(x.name, x.kind) for x in learners] == [("alice", "folder"), ("alice.zip", "zip"), ("bob", "zip"),
                                                   ("carol", "other")]
    assert learners[2].submission is not None and learners[2].submission.name == "bob-main"
    assert learners[3].submission is None and learners[3].problem == messages.ENTRY_LINK
    chapters = [_chapter("01_setup")]
    assert roster.content_hash(learners[0], chapters) == roster.content_hash(learners[1], chapters)
    assert roster.content_hash(learners[0], chapters) != roster.content_hash(learners[3], chapters)


def test_names_become_distinct_safe_file_names():
    names = ["alice", "Alice", "a/b", "..", "<script>", "山田 太郎", "x" * 300]
    slugs = [roster.slug(n) for n in names]
    assert len(set(slugs)) == len(names)
    assert all("/" not in s and not s.startswith(".") and len(s) < 60 for s in slugs)


def test_a_formula_in_a_name_is_written_as_text():
    assert outputs.csv_cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert outputs.csv_cell("山田") == "山田"


def test_the_class_parent_imports_no_torch_numpy_or_pytest():
    code = ("import sys, argparse; import kata.classroom, kata.classroom.grade, kata.classroom.merge,"
            " kata.classroom.dashboard, kata.classroom.template;"
            " import kata.cli.classroom; kata.cli.classroom.register(argparse.ArgumentParser().add_subparsers());"
            " bad = [m for m in ('torch', 'numpy', 'pytest') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_learner_page_lists_every_check_with_its_own_verdict(graded):
    """An instructor defends a grade check by check: each check's function, result and (when it failed) its verdict."""
    out = graded["out"]
    seen_failing = 0
    for state in outputs.read_states(out):
        rep = outputs.read_report(out, state["slug"])
        page = (out / "learners" / f"{state['slug']}.html").read_text(encoding="utf-8")
        for ex in rep["exercises"]:
            for check in ex["checks"]:
                assert f"<code>{check['function']}</code>" in page, (state["learner"], check["function"])
                if check["status"] == "fail":
                    seen_failing += 1
                    assert html.escape(check["verdict"].splitlines()[0], quote=True) in page
                    label = messages.ATTRIBUTE_LABELS.get(check["attribute"], check["attribute"])
                    assert f"[{html.escape(label, quote=True)}]" in page
        assert page.count('<details class="checks">') == sum(1 for ex in rep["exercises"] if ex["checks"])
    assert seen_failing > 0


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_an_untouched_chapter_graded_once_for_the_class_is_reported_as_kata_grade_reports_it(graded, tmp_path):
    """The class grades the handed-out stubs once and reuses that result for every file that is still the stub, byte
    for byte: a learner's report is the one ``kata grade`` writes for the same submission, seed and limits."""
    stub01 = _chapter("01_setup").learner_file().read_bytes()
    for name in ("learner06", "learner07"):  # a stub and a reference; two stubs (nothing left to run)
        folder = graded["roster"] / name
        assert (folder / "exercises" / "01_setup" / "seeds.py").read_bytes() == stub01
        single = tmp_path / f"{name}.json"
        proc = subprocess.run([sys.executable, "-m", "kata", "grade", str(folder), "--output", str(single), "--quiet",
                               *GRADE_OPTIONS], cwd=ROOT, capture_output=True, text=True, timeout=900,
                              env={k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KATA_"))})
        assert proc.returncode == 0, proc.stderr[-3000:]
        one = json.loads(single.read_text(encoding="utf-8"))
        state = next(s for s in outputs.read_states(graded["out"]) if s["learner"] == name)
        klass = outputs.read_report(graded["out"], state["slug"])
        for key in ("score", "max_score", "seed", "isolation", "chapters", "exercises"):
            assert klass[key] == one[key], (name, key)
        assert any(c["status"] == "todo" for e in klass["exercises"] for c in e["checks"])


GRADESCOPE_METADATA = """\
submission_1001:
  :submitters:
  - :name: 山田 花子
    :sid: 'A001'
    :email: hanako@example.jp
  :created_at: 2026-11-20 10:00:00.000000000 +09:00
  :score: 0.0
  :history: []
submission_1002:
  :submitters:
  - :name: "=1+2"
    :sid: A002
    :email: bob@example.jp
  - :name: <b>Carol</b>
    :sid: A003
    :email: carol@example.jp
  :created_at: 2026-11-21 11:00:00.000000000 +09:00
  :score: 0.0
  :history: []
"""


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_gradescope_export_is_shown_with_its_submitters(tmp_path):
    """A Gradescope export names its folders submission_NNN; submission_metadata.yml says who submitted each: the
    CSV has a line per submitter (a group's members each get the group's points) with the student ID and e-mail."""
    ref, stub = _chapter("01_setup").reference_file().read_bytes(), _chapter("01_setup").learner_file().read_bytes()
    base = tmp_path / "export"
    _write(base / "submission_1001", "01_setup", ref)
    _write(base / "submission_1002", "01_setup", stub)
    _write(base / "submission_1003", "01_setup", ref)  # not in the metadata: shown by its folder's name
    (base / roster.GRADESCOPE_METADATA).write_text(GRADESCOPE_METADATA, encoding="utf-8")
    out = tmp_path / "out"
    options = ("--chapters", "01", "--seed", str(SEED), "--check-timeout", "5", "--budget", "240")
    proc = _class("grade", str(base), "--out", str(out), *options)
    assert proc.returncode == 0, proc.stderr[-3000:]
    full = str(_points("01_setup"))
    rows = _rows(out)
    assert rows[0] == [messages.CSV_LEARNER, messages.CSV_SID, messages.CSV_EMAIL, messages.CSV_FOLDER, "01_setup",
                       messages.CSV_TOTAL, messages.CSV_MAX, messages.CSV_STATUS]
    assert [r[:7] for r in rows[1:]] == [
        ["山田 花子", "A001", "hanako@example.jp", "submission_1001", full, full, full],
        ["'=1+2", "A002", "bob@example.jp", "submission_1002", "0", "0", full],
        ["<b>Carol</b>", "A003", "carol@example.jp", "submission_1002", "0", "0", full],
        ["submission_1003", "", "", "submission_1003", full, full, full]]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "山田 花子" in index and "=1+2、&lt;b&gt;Carol&lt;/b&gt;" in index and "<b>Carol</b>" not in index
    assert '<span class="folder">submission_1001</span>' in index
    page = (out / "learners" / f"{roster.slug('submission_1001')}.html").read_text(encoding="utf-8")
    assert messages.LEARNER_PAGE_TITLE.format(learner="山田 花子 (submission_1001)") in page

    # Who submitted is not graded: a corrected name shows without grading anyone again.
    (base / roster.GRADESCOPE_METADATA).write_text(GRADESCOPE_METADATA.replace("山田 花子", "山田 華子"),
                                                   encoding="utf-8")
    again = _class("grade", str(base), "--out", str(out), *options)
    assert again.returncode == 0 and _graded(again) == 0, again.stderr[-3000:]
    assert _rows(out)[1][0] == "山田 華子"


def test_gradescope_metadata_that_cannot_be_used_is_said_once_and_names_stay_folders(tmp_path, monkeypatch):
    meta = tmp_path / roster.GRADESCOPE_METADATA
    assert roster.gradescope_people(tmp_path) == ({}, None)  # no file: nothing to say
    meta.write_text(GRADESCOPE_METADATA, encoding="utf-8")
    people, warning = roster.gradescope_people(tmp_path)
    assert warning is None and [p["name"] for p in people["submission_1002"]] == ["=1+2", "<b>Carol</b>"]
    assert people["submission_1001"] == [{"name": "山田 花子", "sid": "A001", "email": "hanako@example.jp"}]
    meta.write_text("submission_1: [unclosed\n", encoding="utf-8")
    assert roster.gradescope_people(tmp_path) == ({}, messages.METADATA_UNREADABLE.format(
        why=messages.METADATA_NOT_YAML.format(what="ParserError")))
    meta.write_text("- just\n- a list\n", encoding="utf-8")
    assert roster.gradescope_people(tmp_path) == ({}, messages.METADATA_UNREADABLE.format(
        why=messages.METADATA_NOT_YAML.format(what="list")))
    meta.unlink()
    os.symlink("/etc/passwd", meta)  # never followed
    people, warning = roster.gradescope_people(tmp_path)
    assert people == {} and warning is not None and roster.GRADESCOPE_METADATA in warning and "passwd" not in warning
    meta.unlink()
    meta.write_bytes(b"#" * (roster.METADATA_MAX_BYTES + 1))
    people, warning = roster.gradescope_people(tmp_path)
    assert people == {} and warning is not None and str(roster.METADATA_MAX_BYTES // 1024) in warning
    meta.unlink()
    meta.write_text(GRADESCOPE_METADATA, encoding="utf-8")
    monkeypatch.setitem(sys.modules, "yaml", None)  # PyYAML not installed
    assert roster.gradescope_people(tmp_path) == ({}, messages.METADATA_NO_YAML)


def test_a_killed_runs_temporary_folder_is_removed_by_the_next_run(tmp_path, monkeypatch):
    """SIGKILL leaves a run no chance to clean up: the next run removes folders whose process is gone."""
    from kata.grading import parent

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f"kata-class-{int(gone.stdout)}-12345-abcdefgh"
    reused = tmp_path / f"kata-class-{os.getpid()}-1-abcdefgh"  # this pid, but another process's start time
    (dead / "grader").mkdir(parents=True)
    reused.mkdir()
    alive = parent.work_folder("kata-class-")
    assert alive.is_dir() and oct(alive.stat().st_mode & 0o777) == "0o700"
    assert not dead.exists() and not reused.exists()
    other = tmp_path / "kata-class-unrelated"
    other.mkdir()
    second = parent.work_folder("kata-class-")
    assert alive.is_dir() and second.is_dir() and other.is_dir()  # a live run's folder and foreign names stay
