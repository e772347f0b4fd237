"""Where ``pipeline.analyze`` spends its CPU time on one night, function by function.

Usage::

    python benchmarks/profile_stages.py [--hours 8] [--seed 21] [--rounds 7] [--top 30]

Simulates the night (``simulate_night(hours, seed=seed)``, the pipeline benchmark's
night), warms the kernels, then times ``analyze`` ``--rounds`` times with
``time.process_time`` (min and median) and runs it ``--rounds`` more times under
``cProfile`` with a CPU-time clock. For the ``--top`` functions by cumulative time it
prints the minimum over the profiled rounds of each one's cumulative CPU ms and calls
(the minimum is the steadier number on a shared machine). The profiler's own overhead
is included and is not small: ``analyze`` itself is printed both ways (on the 8 h night
~212 ms plain, ~265 ms profiled, 2026-11-22), so read the rows as shares, not as
timings; Python-heavy stages (breathing's selection, staging) are inflated most, a numba
kernel (one call of its dispatcher) least. This is the script behind the per-stage numbers the
README's speed notes quote.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

import numpy as np

from sleepsignal.pipeline import analyze
from sleepsignal.simulate import simulate_night


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)

    session = simulate_night(args.hours, seed=args.seed).session
    analyze(simulate_night(5 / 60, seed=22).session)  # kernels compiled/loaded
    analyze(session)
    cpu = []
    for _ in range(args.rounds):
        t0 = time.process_time()
        analyze(session)
        cpu.append(time.process_time() - t0)
    print(
        f"analyze, {args.hours:g} h night seed {args.seed}: CPU min {1e3 * min(cpu):.1f} ms, "
        f"median {1e3 * float(np.median(cpu)):.1f} ms ({args.rounds} rounds)"
    )

    best: dict[tuple[str, int, str], tuple[float, int]] = {}
    for _ in range(args.rounds):
        prof = cProfile.Profile(time.process_time)
        prof.enable()
        analyze(session)
        prof.disable()
        stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
        for key, (_cc, calls, _tt, cum, _callers) in stats.items():
            old = best.get(key)
            if old is None or cum < old[0]:
                best[key] = (cum, calls)
    rows = sorted(best.items(), key=lambda kv: -kv[1][0])[: args.top]
    profiled = max(cum for cum, _calls in best.values())
    print(f"under the profiler: min {1e3 * profiled:.1f} ms (the top row)")
    print(f"\n{'CPU ms (min)':>12} {'calls':>6}  function")
    for (file, line, name), (cum, calls) in rows:
        where = file.split("site-packages/")[-1].split("sleepsignal/")[-1]
        print(f"{1e3 * cum:12.1f} {calls:6d}  {name} ({where}:{line})")


if __name__ == "__main__":
    main()
