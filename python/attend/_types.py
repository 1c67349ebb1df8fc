"""What ``explain`` and ``list_backends`` return: plain, immutable data."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reason:
    """One reason a backend refuses a problem: what was checked, what it needs, what it got."""

    code: str
    what: str
    expected: str
    got: str


@dataclass(frozen=True)
class Verdict:
    """A backend's answer for one problem; ``ok`` iff it has no reasons. Notes never refuse."""

    backend: str
    ok: bool
    score: int
    reasons: tuple = ()
    notes: tuple = ()

    @classmethod
    def from_dict(cls, d: dict) -> "Verdict":
        return cls(d["backend"], d["ok"], d["score"], tuple(Reason(**r) for r in d["reasons"]),
                   tuple(d["notes"]))


@dataclass(frozen=True)
class Explanation:
    """Which backend a call would run on, where that choice came from (``argument``, ``scope``,
    ``layer`` or ``default``), and every backend's verdict, best-ranked first.
    ``str()`` gives the same table as ``attend explain``."""

    requested: str
    source: str
    chosen: str | None
    verdicts: tuple
    table: str = field(repr=False, default="")

    def verdict(self, backend: str) -> Verdict:
        for v in self.verdicts:
            if v.backend == backend:
                return v
        raise KeyError(f"no backend {backend!r} among {[v.backend for v in self.verdicts]}")

    def __str__(self) -> str:
        return (f"requested: {self.requested} ({self.source})\n"
                f"chosen: {self.chosen or 'none'}\n{self.table}")


@dataclass(frozen=True)
class BackendInfo:
    """A registered backend: its capabilities as data and whether it can run on this machine
    (``score`` 0 means it cannot, and ``reason`` says why)."""

    id: str
    family: str
    description: str
    origin: str
    aliases: tuple
    capabilities: dict
    score: int
    reason: str

    @property
    def available(self) -> bool:
        return self.score > 0
