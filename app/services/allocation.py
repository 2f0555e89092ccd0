"""Seat allocation (派位): pure, deterministic and replayable from a published seed.

Inputs are plain data (no database), so a run can be simulated, compared, replayed by anyone
with the seed, and benchmarked. Each school ranks the applicants who ask for it by the period's
ordered keys; two mechanisms place them; the unplaced are then reassigned (调剂) to the
neighbours of their first choice that still have seats, in the neighbours' order.
"""
from __future__ import annotations

import datetime as dt
import gc
import hashlib
import heapq
from collections import defaultdict
from dataclasses import dataclass, field

FIRST_CHOICE_FIRST = "first_choice_first"
DEFERRED_ACCEPTANCE = "deferred_acceptance"
MECHANISMS = (FIRST_CHOICE_FIRST, DEFERRED_ACCEPTANCE)
# Priority keys, best first; each compares two applicants at one school.
KEYS = ("sibling", "catchment", "category", "channel", "birth", "lottery")
DEFAULT_KEYS = ("channel", "birth", "lottery")
STANDING = {"sole": 0, "shared": 1, "outside": 2}


@dataclass(frozen=True)
class Applicant:
    id: int
    number: str
    choices: tuple[int, ...]  # school ids, first choice first
    channel_priority: int  # 1 is allocated first
    birth_date: dt.date
    standing: dict[int, str] = field(default_factory=dict, hash=False, compare=False)  # school -> sole/shared
    sibling_schools: frozenset[int] = frozenset()
    category_rank: int = 99  # 生源类别 by the period's category rules, 1 first; none derived: last


@dataclass(frozen=True)
class School:
    id: int
    seats: int  # seats still free for this run
    neighbours: tuple[int, ...] = ()  # for reassignment, nearest first


@dataclass
class Placement:
    school_id: int | None
    via: str  # "choice", "reassigned" or "unplaced"
    choice_rank: int | None = None  # 1 for the first choice …
    reassigned_from: int | None = None


@dataclass
class Result:
    placements: dict[int, Placement]
    ranks: dict[int, dict[int, int]]  # applicant -> school -> rank at that school (1 = best)
    cutoffs: dict[int, dict]  # school -> the last placed applicant's rank, group and birth date
    seed_hash: str

    def placed_at(self, school_id: int) -> list[int]:
        return [a for a, p in self.placements.items() if p.school_id == school_id]

    def explain(self, applicant: Applicant) -> dict:
        """Why this applicant got its result, as data a page can put in words."""
        placement = self.placements[applicant.id]
        return {
            "group": applicant.channel_priority,
            "result": placement.via,
            "school": placement.school_id,
            "choice_rank": placement.choice_rank,
            "reassigned_from": placement.reassigned_from,
            "ranks": {s: self.ranks[applicant.id].get(s) for s in applicant.choices},
            "cutoffs": {s: self.cutoffs.get(s) for s in applicant.choices},
        }


def seed_hash(seed: str) -> str:
    """Published before the run: proves the seed was fixed in advance."""
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def lottery_number(seed: str, application_number: str) -> int:
    digest = hashlib.sha256(f"{seed}:{application_number}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def _key(applicant: Applicant, school_id: int, keys: tuple[str, ...], lottery: int) -> tuple:
    parts = []
    for key in keys:
        if key == "sibling":
            parts.append(0 if school_id in applicant.sibling_schools else 1)
        elif key == "catchment":
            parts.append(STANDING.get(applicant.standing.get(school_id, "outside"), 2))
        elif key == "category":
            parts.append(applicant.category_rank)
        elif key == "channel":
            parts.append(applicant.channel_priority)
        elif key == "birth":
            parts.append(applicant.birth_date.toordinal())  # older (earlier) first
        elif key == "lottery":
            parts.append(lottery)
        else:
            raise ValueError(f"unknown priority key {key!r}")
    return tuple(parts) + (applicant.number,)  # total order even without a lottery key


# The key one school ranks an applicant by (smaller is better); the preview's forecast uses it too.
priority_key = _key

SCHOOL_DEPENDENT = frozenset({"sibling", "catchment"})


def rank(applicants: list[Applicant], keys: tuple[str, ...], lottery: dict[int, int]) -> dict[int, dict[int, int]]:
    """Each school's ranking of the applicants who ask for it: applicant -> school -> position."""
    ranks: dict[int, dict[int, int]] = {a.id: {} for a in applicants}
    if not SCHOOL_DEPENDENT & set(keys):
        # the order is the same at every school: sort once, then count positions per school
        ordered = sorted(applicants, key=lambda a: _key(a, None, keys, lottery[a.id]))
        filled: dict[int, int] = defaultdict(int)
        for a in ordered:
            for school_id in dict.fromkeys(a.choices):
                filled[school_id] += 1
                ranks[a.id][school_id] = filled[school_id]
        return ranks
    by_school: dict[int, list[tuple]] = defaultdict(list)
    for a in applicants:
        for school_id in dict.fromkeys(a.choices):
            by_school[school_id].append((_key(a, school_id, keys, lottery[a.id]), a.id))
    for school_id, entries in by_school.items():
        entries.sort()
        for position, (_, applicant_id) in enumerate(entries, start=1):
            ranks[applicant_id][school_id] = position
    return ranks


def _first_choice_first(applicants, seats, ranks) -> dict[int, Placement]:
    """Round k: each school fills its free seats from the unplaced who put it k-th, best first."""
    placements: dict[int, Placement] = {}
    longest = max((len(a.choices) for a in applicants), default=0)
    for k in range(longest):
        wanting: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for a in applicants:
            if a.id not in placements and k < len(a.choices):
                school_id = a.choices[k]
                wanting[school_id].append((ranks[a.id][school_id], a.id))
        for school_id, entries in wanting.items():
            free = seats.get(school_id, 0)
            if free <= 0:
                continue
            entries.sort()
            for _, applicant_id in entries[:free]:
                placements[applicant_id] = Placement(school_id, "choice", k + 1)
            seats[school_id] = free - min(free, len(entries))
    return placements


def _deferred_acceptance(applicants, seats, ranks) -> dict[int, Placement]:
    """Applicants propose down their lists; each school keeps its best so far, up to its seats."""
    by_id = {a.id: a for a in applicants}
    next_choice = {a.id: 0 for a in applicants}
    held: dict[int, list[tuple[int, int]]] = defaultdict(list)  # school -> max-heap of (-rank, applicant)
    free = [a.id for a in applicants]
    while free:
        applicant_id = free.pop()
        applicant = by_id[applicant_id]
        while next_choice[applicant_id] < len(applicant.choices):
            school_id = applicant.choices[next_choice[applicant_id]]
            next_choice[applicant_id] += 1
            capacity = seats.get(school_id, 0)
            if capacity <= 0:
                continue
            position = ranks[applicant_id][school_id]
            heap = held[school_id]
            if len(heap) < capacity:
                heapq.heappush(heap, (-position, applicant_id))
                break
            if -heap[0][0] > position:  # better than the worst held: take its place
                _, bumped = heapq.heapreplace(heap, (-position, applicant_id))
                free.append(bumped)
                break
    placements = {}
    for school_id, heap in held.items():
        for _, applicant_id in heap:
            k = by_id[applicant_id].choices.index(school_id) + 1
            placements[applicant_id] = Placement(school_id, "choice", k)
        seats[school_id] -= len(heap)
    return placements


def _reassign(applicants, schools, seats, ranks, placements, keys, lottery) -> None:
    """The unplaced, best first, go to the first neighbour of their first choice with a seat."""
    unplaced = [a for a in applicants if a.id not in placements and a.choices]
    unplaced.sort(key=lambda a: _key(a, a.choices[0], keys, lottery[a.id]))
    for a in unplaced:
        first = a.choices[0]
        for neighbour in schools[first].neighbours if first in schools else ():
            if neighbour not in a.choices and seats.get(neighbour, 0) > 0:
                seats[neighbour] -= 1
                placements[a.id] = Placement(neighbour, "reassigned", None, first)
                break
    for a in applicants:
        placements.setdefault(a.id, Placement(None, "unplaced"))


def _cutoffs(applicants, placements, ranks, lottery) -> dict[int, dict]:
    by_id = {a.id: a for a in applicants}
    last: dict[int, tuple[int, int]] = {}
    for applicant_id, p in placements.items():
        if p.via == "choice":
            position = ranks[applicant_id][p.school_id]
            if p.school_id not in last or position > last[p.school_id][0]:
                last[p.school_id] = (position, applicant_id)
    return {
        school_id: {
            "rank": position,
            "group": by_id[applicant_id].channel_priority,
            "birth_date": by_id[applicant_id].birth_date.isoformat(),
            "lottery": lottery[applicant_id],  # the published tie-break of the last one placed
        }
        for school_id, (position, applicant_id) in last.items()
    }


def allocate(
    applicants: list[Applicant],
    schools: list[School],
    seed: str,
    mechanism: str = FIRST_CHOICE_FIRST,
    keys: tuple[str, ...] = DEFAULT_KEYS,
    reassign: bool = True,
) -> Result:
    """One run. The same inputs and seed always give the same result."""
    if mechanism not in MECHANISMS:
        raise ValueError(f"unknown mechanism {mechanism!r}")
    # The run makes millions of small tuples and no cycles: the cyclic collector would only
    # rescan a growing heap, making the time grow faster than n log n.
    collecting = gc.isenabled()
    gc.disable()
    try:
        applicants = sorted(applicants, key=lambda a: a.number)  # input order never matters
        by_school = {s.id: s for s in schools}
        seats = {s.id: max(s.seats, 0) for s in schools}
        lottery = {a.id: lottery_number(seed, a.number) for a in applicants}
        ranks = rank(applicants, tuple(keys), lottery)
        place = _first_choice_first if mechanism == FIRST_CHOICE_FIRST else _deferred_acceptance
        placements = place(applicants, seats, ranks)
        if reassign:
            _reassign(applicants, by_school, seats, ranks, placements, tuple(keys), lottery)
        else:
            for a in applicants:
                placements.setdefault(a.id, Placement(None, "unplaced"))
        return Result(placements, ranks, _cutoffs(applicants, placements, ranks, lottery), seed_hash(seed))
    finally:
        if collecting:
            gc.enable()
