"""The reader's training and calibration code, run for real on a tiny slice of SQuAD.

The full run is ``make train-reader`` (about an hour); this checks the same code end to end in
seconds: data selection, windows, a few training steps, the ONNX export, and loading the result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.embedding import DEFAULT_MODEL, resolve_model
from qa.reader import Reader
from training import calibrate_reader, train_reader
from training.onnx_init import state_dict_from_onnx
from training.squad import DATA_DIR, load_articles, split_titles

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
    kinds = train_reader.kinds(examples)
    assert set(kinds) == {"answerable", "real", "sentence", "distractor", "perturbed", "off_topic"}
    assert kinds["answerable"] == len(with_answer)
    # Contexts of every length, questions as users type them.
    assert any(e.context.count(". ") == 0 for e in with_answer)  # one sentence
    assert any("\n\n" in e.context for e in with_answer)  # a paragraph and its neighbour
    assert any(e.question == e.question.lower() for e in examples)
    assert any(not e.question.rstrip().endswith("?") for e in examples)
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
    assert train_reader.train(features, base, tmp_path, max_steps=3, stop_at=2) is None
    # Stopped after step 2 with a checkpoint; a run started again resumes from it.
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["step"] == 2
    model = train_reader.train(features, base, tmp_path, max_steps=3)
    # A finished run removes its checkpoint, so the next starts afresh.
    assert not (tmp_path / "checkpoint.pt").is_file()
    batch = train_reader.collate(features, np.arange(4))
    with torch.no_grad():
        start, end, has = model(
            batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
        )
    assert start.shape == end.shape == batch["input_ids"].shape and has.shape == (4,)
    assert torch.isfinite(train_reader.loss_of(model, batch))

    # A second pass starts from the first one's weights (at a learning rate of 0, it keeps them).
    torch.save(model.state_dict(), tmp_path / "reader.pt")
    second = train_reader.train(
        features, base, tmp_path / "pass2", init=tmp_path / "reader.pt", learning_rate=0.0,
        max_steps=1,
    )  # fmt: skip
    first = model.state_dict()
    assert all(torch.equal(value, first[name]) for name, value in second.state_dict().items())

    path = train_reader.export(model, Path(resolve_model(DEFAULT_MODEL)), tmp_path / "out")
    assert path.stat().st_size < 60e6
    # ... or from the int8 file it shipped as: every weight comes back in its place, to within
    # int8 rounding (a layer read into another's place would be off by the weights' own size).
    restored = state_dict_from_onnx(path, train_reader.build_model(base))
    for name, value in first.items():
        if not name.startswith("encoder.pooler."):  # unused by the reader, so not exported
            assert (restored[name] - value).abs().max() <= value.abs().max() / 100, name
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


def test_the_operating_point_gives_the_stated_precision() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    right = np.array([True, True, True, False, True, False, False, False])
    # Answering at >= 0.5 gives 4 right of 5 (0.8); at >= 0.7, 3 of 3.
    assert calibrate_reader.operating_point(scores, right, 0.8) == 0.5
    assert calibrate_reader.operating_point(scores, right, 0.9) == 0.7
    assert calibrate_reader.operating_point(scores, ~right & False, 0.5) == 1.0  # never right


def test_the_tradeoff_table_counts_right_wrong_and_refused() -> None:
    scores = np.array([0.9, 0.6, 0.3, 0.8, 0.2])
    right = np.array([True, False, True, False, False])
    answerable = np.array([True, True, True, False, False])
    (row,) = calibrate_reader.tradeoff(scores, right, answerable, [0.5])
    assert row == {
        "threshold": 0.5,
        "right": 1 / 3,
        "wrong": 1 / 3,
        "refused": 1 / 3,
        "unanswerable_refused": 0.5,
    }


def test_the_decision_learns_which_features_mark_a_right_answer() -> None:
    from qa.decision import FEATURES, Decision

    rng = np.random.default_rng(0)
    rows = []
    for _ in range(2000):
        right = bool(rng.random() < 0.5)
        values = {name: float(rng.normal()) for name in FEATURES}
        values["answer_logit"] += 2.0 if right else -2.0  # the one feature that tells
        rows.append({"features": values, "right": right})
    decision = Decision.from_config(calibrate_reader.fit_decision(rows))
    assert decision.weights["answer_logit"] > 1.0
    sure = {name: 0.0 for name in FEATURES} | {"answer_logit": 3.0}
    unsure = sure | {"answer_logit": -3.0}
    assert decision.probability(sure) > 0.9 > 0.1 > decision.probability(unsure)


@needs_squad
def test_one_sentence_pieces_answer_or_do_not_as_labelled() -> None:
    from qa.metrics import contains_answer

    _, calibration_titles, _ = split_titles()
    articles = [
        a for a in load_articles(DATA_DIR / "dev-v2.0.json") if a["title"] in calibration_titles
    ]
    pieces = calibrate_reader.sentence_pieces(articles[:1], seed=0, per_kind=20)
    assert {kind: len(items) for kind, items in pieces.items()} == {
        "answer": 20,
        "other": 20,
        "perturbed": 20,
    }
    for question, (passage,) in pieces["answer"]:
        assert contains_answer(passage.text, question.answers)
    for question, _ in pieces["other"] + pieces["perturbed"]:
        assert not question.answerable
    assert pieces == calibrate_reader.sentence_pieces(articles[:1], seed=0, per_kind=20)
