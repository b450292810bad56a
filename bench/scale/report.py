"""The scale bench's report: the summary of its figures, printed, and the figures as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.scale.faiss_dense import setting
from bench.scale.measure import K, fmt


def report(figures: dict[str, Any], json_path: Path | None = None) -> None:
    """Print the summary of ``figures``; write them all to ``json_path`` if given."""
    print(
        f"\nSummary, {figures['chunks']:,} chunks ({figures['vectors']} vectors), "
        f"seed {figures['seed']}:"
    )
    print("  (search times are one query at a time, without the query encode)")
    if "dense" in figures:
        d = figures["dense"]
        if "product" in d:
            dense_summary("dense, as qa builds it", d["product"])
        if "ivf" in d:
            dense_summary("dense, IVF alternative", d["ivf"])
        print(f"  targets               search p50 <= 5 ms, recall@{K} >= 0.95")
    if "keyword" in figures:
        keyword_summary(figures["keyword"])
    print(
        f"  total {figures['total_seconds']:.0f} s; load average {figures['load_average_start']} "
        f"at start, {figures['load_average_end']} at end"
    )
    if json_path:
        json_path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"Figures written to {json_path}")


def dense_summary(label: str, d: dict[str, Any]) -> None:
    """The summary lines of one dense index: build, disk, load, then the sweep."""
    print(f"  {label}: {d['params']}")
    cold, warm = d["load"][0], d["load"][1]
    print(f"    build               {d['build_seconds']:.1f} s")
    print(f"    on disk             {d['disk_mib']:.0f} MiB")
    print(
        f"    load                {cold['load_seconds']:.2f} s cold, {warm['load_seconds']:.2f} s "
        f"warm; RSS {warm['rss_after_load_mib']:.0f} MiB after load, "
        f"{warm['rss_after_search_mib']:.0f} MiB after searches"
    )
    for row in d["sweep"]:
        loaded = all(row.get(knob) == value for knob, value in d["loaded_with"].items())
        print(
            f"    {setting(row):18s}  k={K}: {fmt(row)}, recall@{K} {row['recall_at_10']:.4f}"
            + ("  <- as loaded" if loaded else "")
        )


def keyword_summary(w: dict[str, Any]) -> None:
    """The summary lines of the keyword index: search, build, disk, and the ranking's share."""
    print(
        f"  keyword, k={w['k']}          {fmt(w)} (target p50 <= 50 ms); build "
        f"{w['build_seconds']:.1f} s, peak RSS {w['build_peak_rss_mib']:.0f} MiB, "
        f"{w['disk_mib']:.0f} MiB on disk"
    )
    print(
        f"    of which ranking    {fmt(w['parts']['rank'])}; bm25s's top-k over all scores "
        f"would take {fmt(w['parts']['bm25s_topk'])}"
    )
