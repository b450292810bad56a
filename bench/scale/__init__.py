"""Benchmark: dense and keyword search over a 1,000,000-chunk index, on synthetic data.

    .venv/bin/python bench/scale.py [--chunks 1000000] [--queries 500] [--json PATH]
    .venv/bin/python bench/scale.py --skip product --skip keyword --ivf   # an IVF index instead
    .venv/bin/python bench/scale.py --chunks 30000 --hnsw-threshold 20000  # what if
    .venv/bin/python bench/scale.py --store milvus --chunks 100000   # the Milvus store beside FAISS

(``.venv/bin/python -m bench.scale ...`` from the repository runs the same.) Measures what the
product does at that size, through its own code paths, one module a part:

    data.py         the synthetic data every part measures (seeded; how it is made and checked)
    measure.py      latencies, memory, recall, timed steps
    faiss_dense.py  dense: the FAISS index qa builds, exact search by size, an IVF alternative
    probe.py        dense: the saved FAISS index loaded in a fresh process
    bm25.py         keyword: the bm25s index qa builds
    milvus.py       --store milvus: the Milvus store beside the FAISS store
    report.py       the summary and the JSON of the figures
    cli.py          the options; runs the parts, then the report

Files go to a temporary folder (``--workdir`` to choose one, ``--keep`` to keep them). Other
work on the machine makes timings noisy, so the bench prints the load average at the start and
the end, and the CPU time of each search beside its wall-clock time. It prints figures; it
checks nothing. The default run took 18.5 minutes on 2 cores with the machine otherwise nearly
idle (the HNSW build 12.7 of them, the BM25 build 2.5) and needs about 5 GB of memory (3.4 GB
in this process, 1.8 GB in a load probe) and 2 GB of disk.
"""
