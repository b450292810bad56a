"""Embedding on Ray: the build's chunk vectors from a pool of model actors.

Install with ``pip install 'qa[ray]'``. ``qa.build_index(..., ray=True)`` (``qa build --ray``)
starts a local Ray when none runs in the process, or joins the one that does;
``ray="ray://host:10001"`` (``--ray ADDRESS``) joins a cluster, whose workers need qa and the
model installed. Ray Data's ``map_batches`` hands batches of chunk texts to one actor per CPU;
each actor loads the model once and runs on one thread. The vectors come back in chunk order
and equal a single-process build's (the same model on the same texts; cosine >= 0.9999).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from qa.errors import MissingDependencyError

logger = logging.getLogger(__name__)

BATCH = 256  # chunk texts per actor call
# Passed on to the workers, so that they load models the way this process does.
_ENVIRONMENT = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HOME", "SENTENCE_TRANSFORMERS_HOME")


class Embedder:
    """A Ray actor: one model, loaded once, on one thread."""

    def __init__(self, model: str) -> None:
        import torch

        from qa.embedding import get_encoder

        torch.set_num_threads(1)
        self.encoder = get_encoder(model)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"row": batch["row"], "vector": self.encoder.encode(list(batch["text"]))}


def embed(
    model: str,
    texts: Sequence[str],
    address: bool | str = True,
    *,
    show_progress: bool | None = None,
) -> np.ndarray:
    """Normalised float32 vectors of ``texts``, row i for text i, embedded on Ray."""
    from tqdm.auto import tqdm

    ray = _ray()
    started = _start(ray, address)
    try:
        import pyarrow as pa

        actors = max(1, int(ray.available_resources().get("CPU", 1)))
        # Blocks enough for every actor to have work, and a few each to balance the load.
        # (Made here: a repartition task would wait for a CPU the actors hold.)
        blocks = np.array_split(np.arange(len(texts)), max(1, min(4 * actors, len(texts))))
        dataset = ray.data.from_arrow(
            [pa.table({"row": rows, "text": [texts[i] for i in rows]}) for rows in blocks]
        )
        embedded = dataset.map_batches(
            Embedder,
            fn_constructor_kwargs={"model": model},
            batch_size=BATCH,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=1,
        )
        vectors: np.ndarray | None = None
        disable = None if show_progress is None else not show_progress
        with tqdm(total=len(texts), desc="Embedding on Ray", unit="chunk", disable=disable) as bar:
            for batch in embedded.iter_batches(batch_size=None, batch_format="numpy"):
                if vectors is None:
                    vectors = np.zeros((len(texts), batch["vector"].shape[1]), dtype=np.float32)
                vectors[batch["row"]] = batch["vector"]
                bar.update(len(batch["row"]))
        logger.info("Embedded %d chunks on Ray with %d actors", len(texts), actors)
        return vectors if vectors is not None else np.zeros((0, 0), dtype=np.float32)
    finally:
        if started:
            ray.shutdown()


def _start(ray: Any, address: bool | str) -> bool:
    """Connect to Ray unless this process already is; True when this call started it."""
    if ray.is_initialized():
        return False
    environment = {name: os.environ[name] for name in _ENVIRONMENT if name in os.environ}
    ray.init(
        address=None if address is True else str(address),
        runtime_env={"env_vars": environment},
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    return True


def _ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as error:
        raise MissingDependencyError(
            "Building on Ray needs Ray Data: pip install 'qa[ray]'"
        ) from error
    return ray
