"""Render pytest-benchmark results into the README's speed table.

Usage::

    pytest benchmarks --benchmark-enable --benchmark-json=bench.json -p no:randomly
    python benchmarks/render_readme.py bench.json [--readme README.md]

The table (median seconds per benchmark and night length; memory figures a benchmark
stores in ``extra_info`` under a key ending in ``_mb`` as rows of their own, in MB; the
range of ``extra_info["load_avg"]`` seen, as the machine's load) replaces the text
between ``<!-- bench:start -->`` and ``<!-- bench:end -->`` in the README.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

START, END = "<!-- bench:start -->", "<!-- bench:end -->"

#: ``benchmark.extra_info`` keys rendered as rows of their own (values in MB)
EXTRA_LABELS = {
    "peak_rss_mb": "peak RSS of the process",
    "traced_peak_mb": "peak traced allocations in process",
}


class MB(float):
    """A memory figure (MB) in the table, printed as such rather than as a time."""


def table(results: dict) -> str:
    rows: dict[str, dict[str, float]] = defaultdict(dict)
    for b in results["benchmarks"]:
        m = re.match(r"(?P<name>[^\[]+)(\[(?P<param>[^\]]+)\])?", b["name"])
        assert m is not None
        group = Path(b["fullname"].split("::")[0]).stem.removeprefix("bench_")
        name = f"{group}: {m['name'].removeprefix('test_')}"
        rows[name][m["param"] or "-"] = b["stats"]["median"]
        for key, value in (b.get("extra_info") or {}).items():
            if key.endswith("_mb") and isinstance(value, (int, float)):
                label = EXTRA_LABELS.get(key, key)
                rows[f"{name}, {label}"][m["param"] or "-"] = MB(value)
    loads = [
        b["extra_info"]["load_avg"]
        for b in results["benchmarks"]
        if isinstance((b.get("extra_info") or {}).get("load_avg"), (int, float))
    ]
    params = sorted({p for r in rows.values() for p in r}, key=_param_order)
    machine = results.get("machine_info", {})
    lines = [
        f"Median seconds, {machine.get('cpu', {}).get('brand_raw', 'unknown CPU')}, "
        f"Python {machine.get('python_version', '?')}, {results.get('datetime', '')[:10]}"
        + (f", 1-min load average {min(loads):.1f}-{max(loads):.1f}." if loads else "."),
        "",
        "| benchmark | " + " | ".join(params) + " |",
        "|---|" + "---:|" * len(params),
    ]
    for name, r in sorted(rows.items()):
        lines.append(f"| {name} | " + " | ".join(_fmt(r.get(p)) for p in params) + " |")
    return "\n".join(lines)


def _param_order(p: str) -> tuple[int, str]:
    m = re.match(r"(\d+(?:\.\d+)?)(min|h|d)$", p)
    if not m:
        return (10**9, p)
    scale = {"min": 60, "h": 3600, "d": 86400}[m[2]]
    return (int(float(m[1]) * scale), p)


def _fmt(x: float | None) -> str:
    if x is None:
        return ""
    if isinstance(x, MB):
        return f"{x:.0f} MB"
    return f"{x * 1e3:.1f} ms" if x < 1 else f"{x:.2f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", type=Path)
    default = Path(__file__).resolve().parents[1] / "README.md"
    ap.add_argument("--readme", type=Path, default=default)
    args = ap.parse_args()
    text = table(json.loads(args.json.read_text()))
    readme = args.readme.read_text()
    if START not in readme or END not in readme:
        raise SystemExit(f"{args.readme} has no {START} ... {END} block")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    args.readme.write_text(f"{head}{START}\n{text}\n{END}{tail}")
    print(text)


if __name__ == "__main__":
    main()
