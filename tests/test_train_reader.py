"""The reader's training and calibration code, run for real on a tiny slice of SQuAD.

The full run is ``make train-reader`` (about an hour); this checks the same code end to end in
seconds: data selection, windows, a few training steps, the ONNX export, and loading the result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa import calibrate_reader, train_reader
from qa.embedding import DEFAULT_MODEL, resolve_model
from qa.reader import Reader
from qa.squad import DATA_DIR, load_articles, split_titles

needs_squad = pytest.mark.skipif(
    not (DATA_DIR / "train-v1.1.json").is_file(), reason=f"no SQuAD data in {DATA_DIR}"
)


@pytest.fixture(scope="module")
def tokenizer() -> object:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model(DEFAULT_MODEL))


@needs_squad
def test_the_selection_never_reads_a_test_or_calibration_article() -> None:
    train_titles, calibration_titles, test_titles = split_titles()
    assert len(calibration_titles) == 6 and not set(train_titles) & set(calibration_titles)
    kept_back = [
        p["context"]
        for a in load_articles(DATA_DIR / "dev-v2.0.json")
        if a["title"] in set(test_titles + calibration_titles)
        for p in a["paragraphs"]
    ]
    examples = train_reader.select_examples(DATA_DIR, scale=0.01)
    assert examples == train_reader.select_examples(DATA_DIR, scale=0.01)  # seeded
    contexts = {e.context for e in examples}
    assert not contexts & set(kept_back)
    with_answer = [e for e in examples if e.answer]
    assert 0.5 < len(with_answer) / len(examples) < 0.8  # negatives too
    for example in with_answer:
        start, text = example.answer  # type: ignore[misc]
        assert example.context[start : start + len(text)] == text


def test_windows_mark_the_answer_tokens(tokenizer: object) -> None:
    long_context = "Filler words go here. " * 80 + "The treaty was signed in Vienna in 1815."
    vienna = (len(long_context) - 15, "Vienna")
    examples = [
        train_reader.Example("Where was it signed?", long_context, vienna),
        train_reader.Example("Who won?", "Nobody won the race that day.", None),
    ]
    features = train_reader.featurize(examples, tokenizer)
    # Of the long passage, only the windows that hold the answer; of the negative, its first.
    assert 2 <= len(features) < 4
    for row in range(len(features) - 1):
        tokens, _ = features.window(row)
        start, end = features.start[row], features.end[row]
        assert tokenizer.decode(tokens[start : end + 1]) == "vienna"  # type: ignore[attr-defined]
        assert features.context_start[row] <= start <= end < features.context_end[row]
    assert features.start[-1] == features.end[-1] == -1
    assert all(len(features.window(i)[0]) <= train_reader.MAX_TOKENS for i in range(len(features)))


@needs_squad
def test_a_few_training_steps_export_a_reader_that_loads(tmp_path: Path, tokenizer: object) -> None:
    import torch

    examples = train_reader.select_examples(DATA_DIR, scale=0.002)
    features = train_reader.featurize(examples, tokenizer)
    torch.set_num_threads(2)
    base = resolve_model(DEFAULT_MODEL)
    model = train_reader.train(features, base, tmp_path, max_steps=3, checkpoint_every=2)
    # A checkpoint was written at step 2; a finished run removes it, so the next starts afresh.
    assert not (tmp_path / "checkpoint.pt").is_file()
    batch = train_reader.collate(features, np.arange(4))
    with torch.no_grad():
        start, end, has = model(
            batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
        )
    assert start.shape == end.shape == batch["input_ids"].shape and has.shape == (4,)
    assert torch.isfinite(train_reader.loss_of(model, batch))

    path = train_reader.export(model, Path(resolve_model(DEFAULT_MODEL)), tmp_path / "out")
    assert path.stat().st_size < 60e6
    reader = Reader(tmp_path / "out")
    readings = reader.readings("Who wrote it?", ["Ana wrote it.", "Rain fell all day."])
    assert {r.passage for r in readings} == {0, 1}
    assert all(0.0 <= r.score <= 1.0 for r in readings)


def test_fit_logistic_recovers_known_weights() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20_000, 2))
    truth = np.array([2.0, -1.0, 0.5])
    y = (rng.random(20_000) < 1 / (1 + np.exp(-(x @ truth[:2] + truth[2])))).astype(float)
    assert np.allclose(calibrate_reader.fit_logistic(x, y), truth, atol=0.1)


def test_calibration_keeps_nine_in_ten_right_answers() -> None:
    # Windows as (answer logit, span probability, right): 20 answerable questions, right and
    # more or less sure, and 20 unanswerable ones, mostly unsure.
    table = [
        {"answerable": True, "windows": [(float(n) / 4, 0.9, True), (-3.0, 0.2, False)]}
        for n in range(20)
    ] + [{"answerable": False, "windows": [(float(n) / 4 - 3, 0.3, False)]} for n in range(20)]
    weights, threshold, figures = calibrate_reader.calibrate(table)
    assert weights["has_answer"] > 0
    assert figures["right_without_abstaining"] == 1.0
    assert figures["right"] == 0.9  # the 2 least sure of the 20 right answers abstain
    assert figures["abstained_unanswerable"] > 0.5
    assert 0.0 < threshold < 1.0
