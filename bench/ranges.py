#!/usr/bin/env python3
"""Ranges over several bench runs: the tables of bench.py with every cell
"lowest–highest" over the runs, and how often each target was met.

    python3 bench/bench.py --regcache build/release/regcache --out build/bench/run1
    ... (run2, run3)
    python3 bench/ranges.py build/bench/run*/results.json          # text
    python3 bench/ranges.py --md build/bench/run*/results.json     # Markdown

A cell is marked '*' when its figure was client-bound in at least one run.
Runs are compared as they are: on a shared machine, check the per-run
background load listed first.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench  # noqa: E402


def span(values, fmt):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    lo, hi = fmt(min(values)), fmt(max(values))
    return lo if lo == hi else f"{lo}–{hi}"


def range_table(specs, params):
    """specs: one (metrics, columns, ratios) per run (same metrics).  Columns
    and ratio columns are the union over the runs, in first-seen order."""
    columns, ratios = [], []
    for _, cols, rats in specs:
        columns += [label for label, _ in cols if label not in columns]
        ratios += [label for label, _, _ in rats if label not in ratios]
    metrics = specs[0][0]
    per_run = [bench.table_values(*spec) for spec in specs]
    header = ["metric", "unit", "better"] + columns + ratios
    rows = []
    for k, m in enumerate(metrics):
        cells = bench.metric_cells(m, params)
        for label in columns:
            vals = [run[k][1].get(label) for run in per_run]
            bound = any(run[k][2].get(label) for run in per_run)
            cells.append(span(vals, bench.fmt_num) + ("*" if bound else ""))
        for label in ratios:
            cells.append(span([run[k][3].get(label) for run in per_run], bench.fmt_ratio))
        rows.append(cells)
    return header, rows


def run_line(n, doc):
    meta, results = doc["meta"], doc["results"]
    noise = ", ".join(f"{p} {r['max_other_cores']:.2f}" for p, r in results.items()
                      if r.get("max_other_cores") is not None)
    return (f"run {n}: {meta['date']} git {meta['git']}, {meta['elapsed_s'] / 60:.1f} min, "
            f"background load before the run {meta['idle_busy_cores_before_run']:.2f} cores, "
            f"worst background per peer (cores): {noise}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", help="results.json files of bench.py runs")
    ap.add_argument("--md", action="store_true", help="Markdown instead of aligned text")
    args = ap.parse_args(argv)
    docs = []
    for path in args.results:
        with open(path) as f:
            docs.append(json.load(f))
    render = bench.render_md if args.md else bench.render_text
    first = docs[0]["meta"]
    peers = []
    for doc in docs:
        peers += [p for p in doc["results"] if p not in peers]

    def present(doc):
        return [p for p in peers if p in doc["results"]]
    baseline = first["baseline"]
    params = dict(first["params"], blob_mib=round(first["big_blob"]["size"] / bench.MiB),
                  huge_mib=round(first["cold_blob"]["size"] / bench.MiB) if first.get("cold_blob") else 0)
    lines = [run_line(n, doc) for n, doc in enumerate(docs, 1)]
    lines += ["", render(*range_table([bench.main_spec(d["results"], present(d), baseline) for d in docs], params))]
    tspecs = [bench.transport_spec(d["results"], present(d), baseline) for d in docs]
    tspecs = [t for t in tspecs if t]
    if tspecs:
        lines += ["", render(*range_table(tspecs, params))]
    lines += ["", "'*' = client-bound in at least one run.", "", "Targets, regcache against nginx-cache:"]
    verdicts = {}
    for doc in docs:
        for t in doc.get("targets") or []:
            verdicts.setdefault(t["target"], []).append(t)
    for target, runs in verdicts.items():
        met = sum(t["met"] for t in runs)
        bound = sum(t["client_bound"] for t in runs)
        lines.append(f"{'- ' if args.md else '  '}{target}: met in {met} of {len(runs)} runs"
                     + (f" ({bound} client-bound)" if bound else "") + "; "
                     + " | ".join(t["figures"] for t in runs))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
