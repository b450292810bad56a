"""Weights of a reader from its shipped int8 ONNX file, so a second pass can start from the
shipped reader when the fp32 ``reader.pt`` it was exported from is gone.

onnxruntime's dynamic quantisation keeps every bias, LayerNorm and the names of the embedding
tables; the linear weights become ``onnx::MatMul_<n>`` int8 codes (transposed, one scale per
output channel) in the order the graph uses them: per layer query, key, value, attention output,
intermediate, output, then the span head. Dequantised, they are the shipped weights to within
int8 rounding, which a second pass trains over.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# The Linear layers of one encoder layer, in the order the exported graph multiplies by them.
LAYER_LINEARS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


def _dequantized(initializers: dict[str, Any], stem: str) -> Any:
    import numpy as np

    codes = initializers[f"{stem}_quantized"].astype(np.float32)
    zero = initializers[f"{stem}_zero_point"].astype(np.float32)
    return (codes - zero) * initializers[f"{stem}_scale"]


def state_dict_from_onnx(path: Path, model: Any) -> dict[str, Any]:
    """A full state dict for ``model`` (a ``ReaderNet``) with every weight the ONNX file holds;
    what it does not hold (the unused pooler) keeps ``model``'s own value."""
    import onnx
    import torch
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    initializers = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    state = {name: value.clone() for name, value in model.state_dict().items()}
    matmuls = sorted(
        {n.removesuffix("_quantized") for n in initializers if n.startswith("onnx::MatMul_")
         and n.endswith("_quantized")},
        key=lambda stem: int(stem.split("_")[1]),
    )  # fmt: skip
    layers = model.encoder.config.num_hidden_layers
    linears = [f"encoder.encoder.layer.{i}.{name}" for i in range(layers) for name in LAYER_LINEARS]
    if len(matmuls) != len(linears) + 1:
        raise ValueError(
            f"{path}: {len(matmuls)} quantised matrices, expected {len(linears) + 1} "
            "(six per layer and the span head); it is not a reader exported by training/"
        )
    weights = {f"{name}.weight": _dequantized(initializers, stem).T
               for name, stem in zip([*linears, "span"], matmuls, strict=True)}  # fmt: skip
    weights["answer.weight"] = _dequantized(initializers, "answer.weight_Transposed").T
    for table in ("word", "token_type", "position"):
        name = f"encoder.embeddings.{table}_embeddings.weight"
        weights[name] = _dequantized(initializers, name)
    for name, value in initializers.items():
        if name in state:  # biases and LayerNorms, stored as they were
            weights[name] = value
    for name, value in weights.items():
        if tuple(value.shape) != tuple(state[name].shape):
            expected = tuple(state[name].shape)
            raise ValueError(f"{path}: {name} has shape {value.shape}, expected {expected}")
        state[name] = torch.from_numpy(value.copy()).to(state[name].dtype)
    return state
