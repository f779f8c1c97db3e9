"""The grading contract: every limit and option a grading parent hands to a trusted pytest run, in one object.

``kata grade`` and ``kata class grade`` (the grading parents, :mod:`kata.grading.parent`) build one
:class:`GradingContract`, write it to a file in their private work folder (:meth:`GradingContract.to_file`) and pass
it to each trusted pytest run as one option, ``--kata-contract PATH``.  The trusted side reads it back
(:meth:`GradingContract.from_file`) in the engine's sandbox glue (:mod:`kata.grading.glue`), which hands the
zygote its part (:meth:`kata.grading.sandbox.zygote.Zygote.handed_over`).  Each limit has its default here and nowhere else.

The file is JSON with a ``version``: a reader refuses a version it does not know, a field it does not know and a
value of the wrong type, with one :class:`ContractError` naming what is wrong (a grader-side problem: the trusted run
then stops before any check).  Not to be confused with ``docs/grading-contract.md``, which is about the values that
cross the sandbox boundary.

Standard library only: the grading parent imports neither torch, NumPy nor pytest.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["CONTRACT_OPTION", "ISOLATIONS", "SELFTEST_MODES", "UNGRADED", "VERSION", "ContractError",
           "GradingContract"]

#: The version this engine writes and reads.
VERSION = 1
#: The pytest option that names the contract file.
CONTRACT_OPTION = "--kata-contract"
#: The sandbox's isolation, asked for by name (``None``: the strongest this machine allows).
ISOLATIONS = ("root", "userns", "basic")
#: The sandbox's self-test (:mod:`kata.grading.sandbox.selftest`): ``first`` (before the checks), ``only`` (nothing else:
#: ``kata class grade`` runs it once per run) or ``none``.
SELFTEST_MODES = ("first", "only", "none")


class ContractError(ValueError):
    """A contract that cannot be used: an unknown version or field, a value of the wrong type or out of range."""


@dataclasses.dataclass(frozen=True)
class GradingContract:
    """What one trusted pytest run needs to know from its grading parent.

    The first group is the grading's options (``kata grade``'s command line); the second is filled in by the parent
    for one trusted run (:meth:`for_run`)."""

    version: int = VERSION
    #: Seconds one call into learner code may take (``--check-timeout``); shorter when the budget runs low.
    check_timeout: float = 10.0
    #: Seconds the grading of one submission may take in all (``--budget``).
    budget: float = 300.0
    #: MiB of new address space the learner's process may use (``--memory-limit``).
    memory_mb: int = 1024
    #: The isolation asked for by name (``--isolation``); ``None``: the strongest this machine allows.
    isolation: str | None = None
    #: The sandbox's self-test: one of :data:`SELFTEST_MODES`.
    selftest: str = "first"

    #: ``time.time()`` by which the run's checks should end (each exercise still to come gets an equal share of
    #: what is left); ``None``: no deadline.
    deadline: float | None = None
    #: Folders the sandbox worker must not see (the grader's copy, the submission, the parent's work folder...).
    hide: tuple[str, ...] = ()
    #: The isolation of the zygote the parent handed over (its control socket), ``None`` when none was.
    zygote_isolation: str | None = None
    #: The handed-over zygote already said it is ready (a long-lived one: ``kata class grade``).
    zygote_ready: bool = False
    #: Where a zygote this run starts itself writes its log (none handed over); ``None``: nowhere.
    zygote_log: str | None = None
    #: A maintainer's measurement: each sandbox worker profiles itself with cProfile into ``{worker_profile}.{pid}``
    #: (``basic`` isolation only, where the file is visible outside); ``None``: no profile.
    worker_profile: str | None = None

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check_type(f.name, getattr(self, f.name), FIELD_TYPES[f.name])
        if self.version != VERSION:
            raise ContractError(f"grading contract version {self.version!r} is not supported "
                                f"(this engine reads version {VERSION})")
        for name in ("check_timeout", "budget", "memory_mb"):
            if not getattr(self, name) > 0:
                raise ContractError(f"grading contract field {name!r} must be positive, not {getattr(self, name)!r}")
        for name, value, allowed in (("isolation", self.isolation, ISOLATIONS),
                                     ("zygote_isolation", self.zygote_isolation, ISOLATIONS),
                                     ("selftest", self.selftest, SELFTEST_MODES)):
            if value is not None and value not in allowed:
                raise ContractError(f"grading contract field {name!r} is {value!r}, not one of {', '.join(allowed)}")

    @property
    def syscall_filter(self) -> str:
        """``require``: a worker that cannot install its system-call filter stops before it reads learner code;
        ``try``: it goes on without (only where weaker isolation was asked for by name, ``--isolation basic``)."""
        return "try" if self.isolation == "basic" else "require"

    def for_run(self, **run: Any) -> GradingContract:
        """This contract with the fields of one trusted run (``deadline``, ``hide``, ``zygote_*``) filled in."""
        return dataclasses.replace(self, **run)

    # -- the file ---------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["hide"] = list(self.hide)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> GradingContract:
        if not isinstance(data, dict):
            raise ContractError(f"a grading contract is a JSON object, not {type(data).__name__}")
        if data.get("version") != VERSION:  # before the fields: another version may have other fields
            raise ContractError(f"grading contract version {data.get('version')!r} is not supported "
                                f"(this engine reads version {VERSION})")
        unknown = sorted(set(data) - set(FIELD_TYPES))
        if unknown:
            raise ContractError(f"unknown grading contract field(s): {', '.join(map(repr, unknown))}")
        values = dict(data)
        if isinstance(values.get("hide"), list):
            values["hide"] = tuple(values["hide"])
        return cls(**values)

    def to_file(self, path: Path | str) -> Path:
        """Write the contract as JSON (readable by its owner only) and return the path."""
        path = Path(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=1, sort_keys=True)
            f.write("\n")
        return path

    @classmethod
    def from_file(cls, path: Path | str) -> GradingContract:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise ContractError(f"grading contract {path}: {err.strerror or err}") from None
        try:
            data = json.loads(text)
        except ValueError as err:
            raise ContractError(f"grading contract {path} is not JSON: {err}") from None
        return cls.from_dict(data)


#: Each field's accepted types (``float`` fields take an ``int`` too; ``tuple`` fields hold ``str``).
FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "version": (int,), "check_timeout": (float, int), "budget": (float, int), "memory_mb": (int,),
    "isolation": (str, type(None)), "selftest": (str,), "deadline": (float, int, type(None)), "hide": (tuple,),
    "zygote_isolation": (str, type(None)), "zygote_ready": (bool,), "zygote_log": (str, type(None)),
    "worker_profile": (str, type(None)),
}


def _check_type(name: str, value: Any, types: tuple[type, ...]) -> None:
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    if ok and isinstance(value, tuple):
        ok = all(isinstance(v, str) for v in value)
    if not ok:
        wanted = " or ".join("null" if t is type(None) else t.__name__ for t in types)
        raise ContractError(f"grading contract field {name!r} must be {wanted}, not {value!r}")


#: What a ``--kata-sandbox`` run started without a contract uses (a run by hand or by the engine's own tests, not by a
#: grading parent): the defaults, without the self-test (which the engine's tests run by itself).
UNGRADED = GradingContract(selftest="none")
