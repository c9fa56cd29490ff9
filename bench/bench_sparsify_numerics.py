"""Benchmark of the pruning numerics on a LLaMA-7B MLP block (107 M float16 weights).

Measures, in a fresh subprocess so that ru_maxrss is not polluted by anything else:
- wall time of 50% unstructured sparsification (mask + kept values + packed ui1 mask) of the
  three MLP weights, cold (first run) and best of the repeats;
- peak RSS before and after, i.e. the extra memory the compression needed;
- for reference, the time of 2:4 and block-4 masks on the same weights.
Then the SNR of 50% unstructured pruning on a 4096x4096 N(0, 0.02) weight, against the
analytic magnitude-pruning limit for a Gaussian (11.47 dB).

Run: python bench/bench_sparsify_numerics.py [--repeats N]
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from statistics import NormalDist
from typing import TypeVar

import numpy as np

from coreai_opt.numerics.pruning import (
    block_mask,
    n_m_mask,
    pack_mask,
    unstructured_mask,
    values_from_mask,
)

MLP_SHAPES = [(4096, 4096), (11008, 4096), (4096, 11008)]
SIGMA = 0.02
SEED = 0
_GENERATION_CHUNK = 1 << 22
T = TypeVar("T")


def _gaussian_f16(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Seeded N(0, SIGMA) float16 tensor generated in chunks (no whole float32 temporary)."""
    weight = np.empty(shape, dtype=np.float16)
    flat = weight.reshape(-1)
    for start in range(0, flat.size, _GENERATION_CHUNK):
        stop = min(start + _GENERATION_CHUNK, flat.size)
        flat[start:stop] = rng.standard_normal(stop - start, dtype=np.float32) * SIGMA
    return weight


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _sparsify_unstructured(weights: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """What the pass keeps per weight: kept values and the packed mask."""
    outputs = []
    for weight in weights:
        mask = unstructured_mask(weight, 0.5)
        outputs.append((values_from_mask(weight, mask), pack_mask(mask)))
        del mask
    return outputs


def _timed(function: Callable[..., T], *args: object) -> tuple[float, T]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def _child(repeats: int) -> dict[str, float]:
    rng = np.random.default_rng(SEED)
    weights = [_gaussian_f16(rng, shape) for shape in MLP_SHAPES]
    baseline_mib = _peak_rss_mib()
    cold_seconds, outputs = _timed(_sparsify_unstructured, weights)
    peak_mib = _peak_rss_mib()
    output_mib = sum(values.nbytes + packed.nbytes for values, packed in outputs) / 2**20
    del outputs
    warm = [_timed(_sparsify_unstructured, weights)[0] for _ in range(repeats)]
    n_m_seconds = sum(_timed(n_m_mask, weight, 2, 4, 1)[0] for weight in weights)
    block_seconds = sum(_timed(block_mask, weight, 0.5, 4, 0)[0] for weight in weights)
    return {
        "weights": float(sum(weight.size for weight in weights)),
        "cold_seconds": cold_seconds,
        "best_seconds": min(warm, default=cold_seconds),
        "baseline_rss_mib": baseline_mib,
        "peak_rss_mib": peak_mib,
        "output_mib": output_mib,
        "n_m_2_4_seconds": n_m_seconds,
        "block_4_seconds": block_seconds,
    }


def _pruning_snr_db(weight: np.ndarray, mask: np.ndarray) -> float:
    reference = weight.astype(np.float64)
    error = np.where(mask, 0.0, reference)
    return float(10 * np.log10(np.sum(reference**2) / np.sum(error**2)))


def _gaussian_pruning_limit_db(target_sparsity: float) -> float:
    """SNR of pruning the smallest-magnitude fraction s of a Gaussian.

    With cut a = Φ⁻¹((1 + s) / 2), the pruned energy per unit variance is s - 2·a·φ(a).
    """
    normal = NormalDist()
    cut = normal.inv_cdf(0.5 + target_sparsity / 2)
    pruned_energy = target_sparsity - 2 * cut * normal.pdf(cut)
    return float(-10 * np.log10(pruned_energy))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.repeats)))
        return

    command = [sys.executable, __file__, "--child", "--repeats", str(args.repeats)]
    result = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
    print(f"LLaMA-7B MLP block, {result['weights'] / 1e6:.1f} M float16 weights, 50% unstructured")
    print(f"  mask + values + packed mask: cold {result['cold_seconds']:.3f} s, ", end="")
    print(f"best of {args.repeats} {result['best_seconds']:.3f} s")
    extra = result["peak_rss_mib"] - result["baseline_rss_mib"]
    print(
        f"  peak RSS {result['peak_rss_mib']:.0f} MiB (weights loaded: "
        f"{result['baseline_rss_mib']:.0f} MiB, extra {extra:.0f} MiB, of which retained "
        f"output {result['output_mib']:.0f} MiB)"
    )
    print(f"  for reference: 2:4 masks {result['n_m_2_4_seconds']:.3f} s, ", end="")
    print(f"block-4 masks {result['block_4_seconds']:.3f} s")

    weight = _gaussian_f16(np.random.default_rng(SEED), (4096, 4096))
    snr = _pruning_snr_db(weight, unstructured_mask(weight, 0.5))
    print(
        f"SNR 50% unstructured, 4096x4096 N(0, {SIGMA}): {snr:.3f} dB "
        f"(Gaussian magnitude-pruning limit {_gaussian_pruning_limit_db(0.5):.3f} dB)"
    )


if __name__ == "__main__":
    main()
