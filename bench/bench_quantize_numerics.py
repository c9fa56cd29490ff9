"""Seeded SNR / speed / memory benchmark of coreai_opt.numerics quantization and packing.

Usage: ``python bench/bench_quantize_numerics.py`` (all) or ``--timing int8|int4 [--threads N]``
(one timing scenario; each runs in a fresh subprocess so that its peak RSS is its own).

Weights are N(0, 0.02) float16. SNR is measured on one 4096x4096 matrix; time and peak RSS on
a LLaMA-7B MLP-sized block (4096x4096, 11008x4096, 4096x11008: 107 M weights).
"""

import argparse
import resource
import subprocess
import sys
import time
from collections.abc import Callable

import ml_dtypes
import numpy as np

from coreai_opt.numerics import quantization
from coreai_opt.numerics.packing import pack_bits
from coreai_opt.numerics.quantization import (
    QuantizedTensor,
    quantize_fp8,
    quantize_int,
    quantize_mxfp4,
    snr_db,
)

SEED = 0
STD = 0.02
MLP_SHAPES = ((4096, 4096), (11008, 4096), (4096, 11008))
E4M3 = ml_dtypes.float8_e4m3fn

SNR_CASES: dict[str, tuple[Callable[[np.ndarray], QuantizedTensor], float]] = {
    "int8 per-channel sym": (lambda w: quantize_int(w, 8, True, True, (1, 0)), 41.0),
    "int4 per-block-32 sym": (lambda w: quantize_int(w, 4, True, True, (1, 32)), 20.0),
    "fp8 e4m3 per-channel": (lambda w: quantize_fp8(w, E4M3, (1, 0), mx=False), 31.0),
    "mxfp8 e4m3+e8m0 block-32": (lambda w: quantize_fp8(w, E4M3, (1, 32), mx=True), 30.0),
    "mxfp4 block-32": (lambda w: quantize_mxfp4(w, (1, 32)), 18.8),
}

TIMING_CASES: dict[str, tuple[Callable[[np.ndarray], QuantizedTensor], int]] = {
    "int8": (lambda w: quantize_int(w, 8, True, True, (1, 0)), 8),
    "int4": (lambda w: quantize_int(w, 4, True, True, (1, 32)), 4),
}
TIME_TARGETS = {"int8": 0.7, "int4": 0.8}


def normal_f16(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """N(0, STD) float16 matrix generated in row chunks (no full float64 temporary)."""
    out = np.empty(shape, dtype=np.float16)
    for start in range(0, shape[0], 64):
        rows = out[start : start + 64]
        rows[...] = rng.normal(0.0, STD, size=rows.shape)
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_snr() -> None:
    weight = normal_f16(np.random.default_rng(SEED), (4096, 4096))
    print("SNR on 4096x4096 N(0, 0.02) float16")
    for name, (quantize, target) in SNR_CASES.items():
        start = time.perf_counter()
        quantized = quantize(weight)
        elapsed = time.perf_counter() - start
        snr = snr_db(weight, quantized.dequantize(np.float16))
        verdict = "ok" if snr >= target else "BELOW TARGET"
        print(f"  {name:26s} {snr:6.2f} dB (target >= {target} dB, {verdict}) {elapsed:.3f} s")


def quantize_and_pack(
    weights: list[np.ndarray], quantize: Callable[[np.ndarray], QuantizedTensor], n_bits: int
) -> tuple[float, float, list[np.ndarray]]:
    """Quantize then pack each weight, keeping only the packed blob: (quantize s, pack s)."""
    quantize_s = pack_s = 0.0
    packed = []
    for weight in weights:
        start = time.perf_counter()
        quantized = quantize(weight)
        middle = time.perf_counter()
        packed.append(pack_bits(quantized.data, n_bits))
        del quantized
        quantize_s += middle - start
        pack_s += time.perf_counter() - middle
    return quantize_s, pack_s, packed


def run_timing(case: str, threads: int, repeats: int = 3) -> None:
    quantization.NUM_THREADS = threads
    quantize, n_bits = TIMING_CASES[case]
    rng = np.random.default_rng(SEED)
    weights = [normal_f16(rng, shape) for shape in MLP_SHAPES]
    weight_mb = sum(w.nbytes for w in weights) / 2**20
    rss_before = peak_rss_mb()
    runs = []
    for _ in range(repeats):
        quantize_s, pack_s, packed = quantize_and_pack(weights, quantize, n_bits)
        runs.append((quantize_s + pack_s, quantize_s, pack_s))
        del packed
    first, best = runs[0], min(runs)
    budget_mb = 1.5 * weight_mb + 200
    count_m = sum(w.size for w in weights) / 1e6
    print(
        f"  {case}, {threads} thread(s), {count_m:.0f} M weights ({weight_mb:.0f} MiB f16): "
        f"quantize+pack first {first[0]:.3f} s, best of {repeats} {best[0]:.3f} s "
        f"(quantize {best[1]:.3f} + pack {best[2]:.3f}; target {TIME_TARGETS[case]} s); "
        f"peak RSS {peak_rss_mb():.0f} MiB (before {rss_before:.0f}, budget {budget_mb:.0f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timing", choices=sorted(TIMING_CASES))
    parser.add_argument("--threads", type=int, default=quantization.NUM_THREADS)
    args = parser.parse_args()
    if args.timing:
        run_timing(args.timing, args.threads)
        return
    run_snr()
    print("Time / peak RSS on the LLaMA MLP block (fresh process each)")
    for case in TIMING_CASES:
        for threads in (1, quantization.NUM_THREADS):
            command = [sys.executable, __file__, "--timing", case, "--threads", str(threads)]
            subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
