"""Benchmark: dense and keyword search over a 1,000,000-chunk index, on synthetic data.

    .venv/bin/python bench/scale.py [--chunks 1000000] [--queries 500] [--json PATH]
    .venv/bin/python bench/scale.py --store milvus --chunks 100000   # the Milvus store beside FAISS

The bench is the package ``bench/scale/``: its ``__init__`` lists the options' uses and its
modules, one a part (data, FAISS, bm25s, Milvus, report). This file runs it by path.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: bench.scale
from bench.scale.cli import main

if __name__ == "__main__":
    sys.exit(main())
