"""Benchmark: the reader as shipped (int8 ONNX) against the same weights in torch, fp32 and bf16.

    .venv/bin/python bench/reader_formats.py [--model build/reader] [--n 200]

Needs the training output of ``make train-reader`` (``build/reader/reader.pt``, the torch weights,
which are not shipped). Reads the passages that qa retrieves for ``--n`` questions of the SQuAD v2
tune calibration articles (never trained on), with each format in turn, and prints the p50 time of
one ``read`` (all windows of the 5 passages in one batch), the share of questions whose best span
equals the torch fp32 one, and the right-sentence rate on the answerable ones. Prints figures;
checks nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import squad_eval

from qa.answer import sentence_around
from qa.metrics import contains_answer
from qa.reader import Reader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: training/
from training.squad import load_articles, questions_of, split_titles


class TorchReader(Reader):
    """The bundled reader's tokenisation and span search, with the torch network in place of
    the ONNX session."""

    def __init__(self, folder: Path, bf16: bool) -> None:
        super().__init__(folder)
        import torch

        from qa.embedding import DEFAULT_MODEL, resolve_model
        from training.train_reader import build_model

        self._net = build_model(resolve_model(DEFAULT_MODEL))
        self._net.load_state_dict(torch.load(folder / "reader.pt"))
        self._net.eval()
        self._bf16 = bf16

    def run(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> list[np.ndarray]:
        import torch

        if not hasattr(self, "_net"):  # the load check in Reader.__init__ runs the ONNX file
            return super().run(ids, mask, types)
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=self._bf16):
            out = self._net(*(torch.from_numpy(a) for a in (ids, mask, types)))
        return [o.float().numpy() for o in out]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("build/reader"))
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args(argv)
    if not (args.model / "reader.pt").is_file():
        print(f"No {args.model / 'reader.pt'}; run 'make train-reader' first.", file=sys.stderr)
        return 1
    from training.calibrate_reader import squad_index

    _, calibration, _ = split_titles()
    dev = load_articles(squad_eval.SQUAD)
    tune_titles = {t for titles in split_titles()[:2] for t in titles}
    index = squad_index(
        [a for a in dev if a["title"] in tune_titles],
        squad_eval.ROOT / "bench/.cache/squad-v2-tune",
    )
    questions = questions_of([a for a in dev if a["title"] in set(calibration)])[::7][: args.n]
    passages = index.retrieve_many([q.question for q in questions], 5)
    readers: dict[str, Any] = {
        "torch fp32": TorchReader(args.model, bf16=False),
        "torch bf16 autocast": TorchReader(args.model, bf16=True),
        "onnxruntime int8 (shipped)": Reader(args.model),
    }
    spans: dict[str, list[Any]] = {}
    print(f"{len(questions)} questions, 5 passages each")
    print(f"{'':28s} {'p50 ms':>8s} {'same span':>10s} {'right sentence':>15s}")
    for name, reader in readers.items():
        times, found, right = [], [], 0
        reader.read(questions[0].question, [p.text for p in passages[0]])  # warm
        for question, hits in zip(questions, passages):
            texts = [p.text for p in hits]
            started = time.perf_counter()
            best = reader.read(question.question, texts)
            times.append((time.perf_counter() - started) * 1000)
            found.append(None if best is None else (best.passage, best.start, best.end))
            if best is not None and question.answerable:
                start, end = sentence_around(texts[best.passage], best.start, best.end)
                right += contains_answer(texts[best.passage][start:end], question.answers)
        spans[name] = found
        same = np.mean([a == b for a, b in zip(found, spans["torch fp32"])])
        answerable = sum(q.answerable for q in questions)
        print(f"{name:28s} {statistics.median(times):8.1f} {same:10.3f} {right / answerable:15.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
