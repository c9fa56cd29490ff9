"""Output-level accuracy of one program against another: SNR, cosine similarity, max abs error."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from coreai_opt.interpreter.values import InterpreterError


@dataclass(frozen=True)
class OutputComparison:
    """How one output of the candidate differs from the reference (over all samples)."""

    name: str
    shape: tuple[int, ...]
    snr_db: float
    cosine: float
    max_abs_error: float


@dataclass(frozen=True)
class Comparison:
    """Per-output comparison of two programs on the same inputs."""

    outputs: list[OutputComparison]
    samples: int

    def table(self) -> str:
        """A fixed-width table, one row per output."""
        rows = [("output", "shape", "SNR dB", "cosine", "max abs err")]
        for o in self.outputs:
            shape = "x".join(map(str, o.shape)) or "scalar"
            rows.append(
                (o.name, shape, f"{o.snr_db:.2f}", f"{o.cosine:.6f}", f"{o.max_abs_error:.4g}")
            )
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = [
            "  ".join(
                cell.ljust(width) if i < 2 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
            for row in rows
        ]
        return "\n".join(lines) + f"\n({self.samples} input sample{'s' * (self.samples != 1)})\n"

    def to_json(self) -> str:
        """JSON: {"samples": N, "outputs": [{name, shape, snr_db, cosine, max_abs_error}]}."""

        def finite(value: float) -> float | str:
            return value if math.isfinite(value) else ("inf" if value > 0 else "nan")

        outputs = [
            {k: finite(v) if isinstance(v, float) else v for k, v in asdict(o).items()}
            | {"shape": list(o.shape)}
            for o in self.outputs
        ]
        return json.dumps({"samples": self.samples, "outputs": outputs}, indent=2)


def as_real(values: np.ndarray) -> np.ndarray:
    """float64 view of any numeric array (complex as (re, im) pairs)."""
    values = np.asarray(values)
    if values.dtype.kind == "c":
        return np.stack([values.real, values.imag], axis=-1).astype(np.float64)
    return values.astype(np.float64)


def metrics(reference: np.ndarray, candidate: np.ndarray) -> tuple[float, float, float]:
    """(SNR dB, cosine similarity, max abs error) of `candidate` against `reference`.

    SNR = 10 log10(sum ref^2 / sum (ref - cand)^2): +inf when identical. Cosine is 1 for two
    all-zero outputs and 0 when only one is zero.
    """
    ref, cand = as_real(reference).reshape(-1), as_real(candidate).reshape(-1)
    error = ref - cand
    noise = float(np.dot(error, error))
    signal = float(np.dot(ref, ref))
    if noise == 0.0:
        snr = math.inf
    elif signal == 0.0:
        snr = -math.inf
    else:
        snr = 10.0 * math.log10(signal / noise)
    norms = math.sqrt(signal) * math.sqrt(float(np.dot(cand, cand)))
    if norms == 0.0:
        cosine = 1.0 if signal == 0.0 and not cand.any() else 0.0
    elif noise == 0.0:
        cosine = 1.0
    else:
        cosine = min(1.0, max(-1.0, float(np.dot(ref, cand)) / norms))
    max_error = float(np.max(np.abs(error))) if error.size else 0.0
    return snr, cosine, max_error


def compare_outputs(
    references: Sequence[Mapping[str, np.ndarray]], candidates: Sequence[Mapping[str, np.ndarray]]
) -> Comparison:
    """Compare per output name, every sample's values pooled together."""
    if not references:
        raise InterpreterError("nothing to compare: no input samples")
    names = list(references[0])
    missing = [n for n in names if n not in candidates[0]]
    if missing:
        raise InterpreterError(
            f"the compressed program has no output '{missing[0]}' "
            f"(it has {', '.join(candidates[0]) or 'none'})"
        )
    results = []
    for name in names:
        refs = [np.asarray(r[name]) for r in references]
        cands = [np.asarray(c[name]) for c in candidates]
        for ref, cand in zip(refs, cands, strict=True):
            if ref.shape != cand.shape:
                raise InterpreterError(
                    f"output '{name}' has shape {list(cand.shape)} in the compressed program "
                    f"but {list(ref.shape)} in the original"
                )
        pooled = [np.concatenate([a.reshape(-1) for a in group]) for group in (refs, cands)]
        snr, cosine, max_error = metrics(*pooled)
        results.append(OutputComparison(name, tuple(refs[0].shape), snr, cosine, max_error))
    return Comparison(results, len(references))


def compare(
    original: Any,
    compressed: Any,
    inputs: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    graph: str = "main",
    samples: int = 1,
    seed: int = 0,
    dims: Mapping[str, int] | None = None,
) -> Comparison:
    """Run both programs on the same inputs and compare each output.

    `inputs`: one mapping, a list of them, or None for `samples` seeded random input sets
    (see `random_inputs`). Programs are AIProgram objects, ModuleOps or paths to load.
    """
    from coreai_opt.interpreter import random_inputs, run

    original, compressed = load_if_path(original), load_if_path(compressed)
    if inputs is None:
        input_sets = [
            random_inputs(original, graph, seed + index, dims) for index in range(samples)
        ]
    elif isinstance(inputs, Mapping):
        input_sets = [inputs]
    else:
        input_sets = list(inputs)
    references = [run(original, sample, graph) for sample in input_sets]
    candidates = [run(compressed, sample, graph) for sample in input_sets]
    return compare_outputs(references, candidates)


def load_if_path(program: Any) -> Any:
    """An AIProgram for a path; anything else unchanged."""
    import os

    if isinstance(program, str | os.PathLike):
        from coreai_opt.program import AIProgram

        return AIProgram.load(program)
    return program
