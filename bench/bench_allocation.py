"""Allocation at scale: `python bench/bench_allocation.py` (from the repository root).

Builds 100,000 synthetic applications over 300 schools (3 choices each, popular schools
over-subscribed, 6 channel groups, a year of birth dates, 5 neighbours per school), then times
only the allocation itself — ranking, placing and reassigning — for both mechanisms, on one core,
at growing sizes, and prints time / (n log2 n) to show the growth is no faster than n log n.
"""
from __future__ import annotations

import datetime as dt
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.services.allocation import DEFERRED_ACCEPTANCE, FIRST_CHOICE_FIRST, Applicant, School, allocate  # noqa: E402

SCHOOLS = 300
SIZES = (12_500, 25_000, 50_000, 100_000)


def build(n: int, seed: int = 7):
    rng = random.Random(seed)
    weights = [1 / (i + 1) ** 0.6 for i in range(SCHOOLS)]  # some schools far more popular
    total = sum(weights)
    schools = []
    for i in range(SCHOOLS):
        seats = max(1, int(n * 0.9 * weights[i] / total * rng.uniform(0.4, 1.2)))
        neighbours = tuple((i + d) % SCHOOLS for d in (1, -1, 2, -2, 3))
        schools.append(School(i, seats, neighbours))
    base = dt.date(2019, 9, 1)
    ids = list(range(SCHOOLS))
    applicants = []
    for a in range(n):
        choices = []
        while len(choices) < 3:
            s = rng.choices(ids, weights)[0]
            if s not in choices:
                choices.append(s)
        applicants.append(Applicant(a, f"2026{a:08d}", tuple(choices), rng.randint(1, 6), base + dt.timedelta(days=rng.randrange(365))))
    return applicants, schools


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    print(f"{'n':>8} {'mechanism':<22} {'seconds':>8} {'µs per n·log2 n':>16}")
    for n in SIZES:
        applicants, schools = build(n)
        for mechanism in (FIRST_CHOICE_FIRST, DEFERRED_ACCEPTANCE):
            seconds = best_of(3, lambda: allocate(applicants, schools, "bench-seed", mechanism))
            print(f"{n:>8} {mechanism:<22} {seconds:>8.3f} {seconds / (n * math.log2(n)) * 1e6:>16.4f}")


if __name__ == "__main__":
    main()
