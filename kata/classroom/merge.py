"""``kata class merge``: the outputs of ``kata class grade --shard K/N`` (one per CI job or array task) combined into
one class folder, with ``scores.csv``, the reports and the dashboard made again from all rows."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from kata.classroom import dashboard, messages, outputs
from kata.classroom.grade import CLASS_FILE, load_class, write_atomic
from kata.grading.parent import GradingError

__all__ = ["merge"]

#: What must agree between shards for their rows to be one class.
SAME = ("chapters", "seed", "manifest", "options")


def merge(shards: list[Path], out: Path) -> int:
    """Copy every shard's rows and reports into ``out``; returns the number of learners."""
    out = Path(out).resolve()
    metas: list[dict[str, Any]] = []
    for shard in shards:
        meta = load_class(Path(shard))
        if not meta:
            raise GradingError(messages.NO_SHARDS.format(path=shard))
        if metas and any(meta.get(k) != metas[0].get(k) for k in SAME):
            raise GradingError(messages.MERGE_MISMATCH.format(path=shard))
        metas.append(meta)
    if not metas:
        raise GradingError(messages.NO_SHARDS.format(path=out))
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for shard in shards:
        shard = Path(shard).resolve()
        for row in outputs.read_states(shard):
            slug = str(row["slug"])
            if shard != out:
                for folder, suffix in ((outputs.STATE, ".json"), (outputs.REPORTS, ".json")):
                    source = shard / folder / f"{slug}{suffix}"
                    if source.is_file():
                        (out / folder).mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(source, out / folder / f"{slug}{suffix}")
            count += 1
    merged = {**metas[0], "shard": None, "merged_from": len(shards)}
    write_atomic(out / CLASS_FILE, json.dumps(merged, ensure_ascii=False, indent=1) + "\n")
    dashboard.write_all(out)
    return count
