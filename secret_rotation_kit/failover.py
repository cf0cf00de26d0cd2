"""Reading from the next Region when Secrets Manager in one fails, and back when it recovers.

- Order: the Regions in preference order, except that a Region whose Secrets Manager failed
  (unreachable, timed out, a server error: ``SecretUnavailableError``) is skipped for a backoff
  (``retry_interval``, doubling per consecutive failure, at most 60 s) and tried last meanwhile.
  When the backoff ends it is first again: the next refresh asks it, and reads return to it.
- Never older than AWSPREVIOUS: a replica keeps its primary's version ids, and replication is
  asynchronous, so a replica may still label an older version AWSCURRENT. The primary's answers
  (DescribeSecret shows no other ``PrimaryRegion``) are the truth. A replica's AWSCURRENT is
  judged against the versions this process has seen as AWSCURRENT (``lineage``, newest last):
  the newest is served; the one before it (the newest one's AWSPREVIOUS, which still works)
  only when the cache holds nothing newer it may still serve; a version never seen is served
  when its AWSPREVIOUS is the newest seen (one rotation ahead), else it cannot be told from an
  older one and is refused; anything older is refused. A process that has seen no version yet
  takes the first answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .snapshot import AWSCURRENT, AWSPREVIOUS

MAX_LINEAGE = 8


class Verdict(Enum):
    SAME = "same"  # the newest AWSCURRENT known
    NEWER = "newer"  # a rotation this process has not seen yet (or the primary's answer)
    BEHIND = "behind"  # one rotation behind: the newest known version's AWSPREVIOUS
    STALE = "stale"  # older than that, or a version that cannot be told from an older one


def judge(lineage: tuple[str, ...], labels: Mapping[str, str], *, from_primary: bool) -> Verdict:
    """How an answer's labels compare with the AWSCURRENT versions seen so far (newest last)."""
    current = labels.get(AWSCURRENT)
    if current is not None and lineage and current == lineage[-1]:
        return Verdict.SAME
    if from_primary or not lineage:
        return Verdict.NEWER
    if current in lineage:
        return Verdict.BEHIND if len(lineage) >= 2 and current == lineage[-2] else Verdict.STALE
    return Verdict.NEWER if labels.get(AWSPREVIOUS) == lineage[-1] else Verdict.STALE


def advance(lineage: tuple[str, ...], labels: Mapping[str, str]) -> tuple[str, ...]:
    """``lineage`` after an accepted answer: its AWSPREVIOUS, then its AWSCURRENT, are the newest."""
    current, previous = labels.get(AWSCURRENT), labels.get(AWSPREVIOUS)
    if current is None or (lineage and lineage[-1] == current):
        return lineage
    chain = [version for version in lineage if version not in (current, previous)]
    chain += [version for version in (previous, current) if version is not None]
    return tuple(chain[-MAX_LINEAGE:])


@dataclass
class Region:
    """One Region's client and how its Secrets Manager has been answering."""

    name: str
    client: Any
    down_until: float = float("-inf")
    failures: int = 0


@dataclass
class Regions:
    """The Regions in preference order, and their health (shared by every secret of the cache)."""

    regions: list[Region]
    retry_interval: float
    max_backoff: float
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def preferred(self) -> str:
        return self.regions[0].name

    def order(self, now: float) -> list[Region]:
        """Healthy Regions in preference order, then the ones backing off, soonest retry first."""
        with self._lock:
            healthy = [region for region in self.regions if region.down_until <= now]
            down = sorted((region for region in self.regions if region.down_until > now), key=lambda r: r.down_until)
        return healthy + down

    def failed(self, region: Region, now: float) -> float:
        """Back off ``region``; returns the seconds until it is tried first again."""
        with self._lock:
            region.failures += 1
            wait = min(self.retry_interval * 2.0 ** (region.failures - 1), max(self.retry_interval, self.max_backoff))
            region.down_until = now + wait
            return float(wait)

    def answered(self, region: Region) -> bool:
        """``region`` answered; True if it had been failing (it is back)."""
        with self._lock:
            recovered = region.failures > 0
            region.failures = 0
            region.down_until = float("-inf")
            return recovered

    def names(self) -> tuple[str, ...]:
        return tuple(region.name for region in self.regions)

    def clients(self) -> Iterable[Any]:
        return (region.client for region in self.regions)
