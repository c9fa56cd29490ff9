"""The MiniLM benchmark's builder and tokenizer (bench/minilm.py), on seeded stand-in weights.

The real weights are a download the benchmark does itself; here the same program is built
from random weights of the same architecture (a smaller vocabulary) and the executor is
checked against the benchmark's independent float64 numpy forward.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.minilm import (
    HIDDEN,
    INTERMEDIATE,
    LAYERS,
    WordPieceTokenizer,
    build_program,
    numpy_forward,
)
from coreai_opt.interpreter import run


def stand_in_weights(vocab: int = 40, positions: int = 16) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)

    def normal(*shape: int, scale: float = 0.05) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    weights = {
        "embeddings.word_embeddings.weight": normal(vocab, HIDDEN, scale=0.5),
        "embeddings.position_embeddings.weight": normal(positions, HIDDEN, scale=0.5),
        "embeddings.token_type_embeddings.weight": normal(2, HIDDEN, scale=0.5),
        "embeddings.LayerNorm.weight": 1 + normal(HIDDEN),
        "embeddings.LayerNorm.bias": normal(HIDDEN),
    }
    shapes = {
        "attention.self.query": (HIDDEN, HIDDEN),
        "attention.self.key": (HIDDEN, HIDDEN),
        "attention.self.value": (HIDDEN, HIDDEN),
        "attention.output.dense": (HIDDEN, HIDDEN),
        "intermediate.dense": (INTERMEDIATE, HIDDEN),
        "output.dense": (HIDDEN, INTERMEDIATE),
    }
    for layer in range(LAYERS):
        prefix = f"encoder.layer.{layer}."
        for name, shape in shapes.items():
            weights[prefix + name + ".weight"] = normal(*shape)
            weights[prefix + name + ".bias"] = normal(shape[0])
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            weights[prefix + norm + ".weight"] = 1 + normal(HIDDEN)
            weights[prefix + norm + ".bias"] = normal(HIDDEN)
    return weights


def test_the_program_matches_the_numpy_forward() -> None:
    weights = stand_in_weights()
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 40, size=(2, 8)).astype(np.int32)
    mask = np.array([[1] * 8, [1] * 5 + [0] * 3], np.int32)
    program = build_program(weights, 2, 8)
    ops = {op.name for op in program.module.walk()}
    assert {"coreai.gather_nd", "coreai.invoke", "coreai.softmax", "coreai.gelu"} <= ops
    assert "coreai.decomposable.broadcasting_batch_matmul" in ops
    ours = run(program, {"input_ids": ids, "attention_mask": mask})
    reference = numpy_forward(weights, ids, mask)
    np.testing.assert_allclose(
        ours["last_hidden_state"], reference["last_hidden_state"], rtol=1e-3, atol=2e-4
    )
    a, b = ours["sentence_embedding"].astype(np.float64), reference["sentence_embedding"]
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() >= 0.99999


@pytest.fixture
def tokenizer() -> WordPieceTokenizer:
    words = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "hello",
        ",",
        "world",
        "!",
        "cafe",
        "un",
        "##believ",
        "##able",
        "zur",
        "##ich",
    ]
    spec = {
        "model": {
            "vocab": {w: i for i, w in enumerate(words)},
            "unk_token": "[UNK]",
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
        },
        "padding": {"strategy": {"Fixed": 10}, "pad_id": 0},
    }
    return WordPieceTokenizer(spec)


def test_tokenizer_normalises_splits_and_pads(tokenizer: WordPieceTokenizer) -> None:
    ids, mask = tokenizer.encode("Hello,  WORLD! Café Zürich unbelievable xyz")
    # [CLS] hello , world ! cafe zur ##ich un ##believ  -> truncated to 10 with [SEP]
    assert ids == [2, 4, 5, 6, 7, 8, 12, 13, 9, 3]
    assert mask == [1] * 10
    ids, mask = tokenizer.encode("hello xyz")
    assert ids == [2, 4, 1, 3, 0, 0, 0, 0, 0, 0] and mask == [1] * 4 + [0] * 6
