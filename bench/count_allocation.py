"""Instruction counts of the allocation, free of cache effects: run under valgrind (see BENCHMARKS.md).

`python bench/count_allocation.py N build` builds the inputs only; `... N allocate` builds and
allocates. Under `valgrind --tool=callgrind`, the difference of the two totals is the allocation's.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_allocation import build  # noqa: E402

from app.services.allocation import DEFERRED_ACCEPTANCE, FIRST_CHOICE_FIRST, allocate  # noqa: E402

if __name__ == "__main__":
    n, what = int(sys.argv[1]), sys.argv[2]
    applicants, schools = build(n)
    if what != "build":
        allocate(applicants, schools, "bench-seed", DEFERRED_ACCEPTANCE if what == "da" else FIRST_CHOICE_FIRST)
