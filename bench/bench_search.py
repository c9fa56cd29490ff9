"""RTN against the MSE parameter search (``algorithm=mse``), seeded, numerics only.

    python bench/bench_search.py                # 4096x4096 f16, Gaussian and heavy-tailed
    python bench/bench_search.py --size 1024    # quicker

Weights: N(0, 0.02), and heavy-tailed rows (Student-t with 3 degrees of freedom, each row
scaled by a random factor in [0.001, 0.05]). For every configuration the table gives the SNR
of RTN and of the search, and their process CPU times (both threads counted; less sensitive
to the machine's load than wall time) with the ratio. Sparse rows: 50% unstructured pruning,
then the non-zeros quantized to int8 per tensor (Apple's joint form) or per output channel
after densification; their SNR is against the original weight.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

INT_CONFIGS: dict[str, tuple[int, bool, bool, tuple[int, int]]] = {
    "int4 asym block 32": (4, True, False, (1, 32)),
    "int4 asym block 128": (4, True, False, (1, 128)),
    "int4 sym block 32": (4, True, True, (1, 32)),
    "int4 sym block 128": (4, True, True, (1, 128)),
    "int8 sym per-channel": (8, True, True, (1, 0)),
    "int4 sym per-channel": (4, True, True, (1, 0)),
}


def gaussian(size: int, seed: int) -> np.ndarray:
    """N(0, 0.02) f16."""
    return (np.random.default_rng(seed).standard_normal((size, size)) * 0.02).astype(np.float16)


def heavy(size: int, seed: int) -> np.ndarray:
    """Student-t(3) rows with random scales, f16."""
    rng = np.random.default_rng(seed)
    rows = rng.uniform(0.001, 0.05, (size, 1))
    return (rng.standard_t(3, (size, size)) * rows).astype(np.float16)


def timed(work: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    """Result and process CPU seconds of ``work``."""
    start = time.process_time()
    result = work()
    return result, time.process_time() - start


def snr(original: np.ndarray, restored: np.ndarray) -> float:
    from coreai_opt.numerics.quantization import snr_db

    return snr_db(original, restored)


def int_rows(weight: np.ndarray) -> list[tuple[str, float, float, float, float]]:
    from coreai_opt.numerics import quantization as q
    from coreai_opt.numerics import search

    rows = []
    for name, config in INT_CONFIGS.items():
        rtn, rtn_s = timed(lambda config=config: q.quantize_int(weight, *config))
        found, mse_s = timed(lambda config=config: search.quantize_int_mse(weight, *config))
        restored = (rtn.dequantize(weight.dtype), found.dequantize(weight.dtype))
        rows.append((name, snr(weight, restored[0]), snr(weight, restored[1]), rtn_s, mse_s))
    return rows


def float_rows(weight: np.ndarray) -> list[tuple[str, float, float, float, float]]:
    import ml_dtypes

    from coreai_opt.numerics import quantization as q
    from coreai_opt.numerics import search

    e4m3 = np.dtype(ml_dtypes.float8_e4m3fn)
    configs = {
        "fp8 e4m3 per-channel": (
            lambda: q.quantize_fp8(weight, e4m3, (1, 0), False),
            lambda: search.quantize_fp8_mse(weight, e4m3, (1, 0), False),
        ),
        "mxfp8 e4m3 block 32": (
            lambda: q.quantize_fp8(weight, e4m3, (1, 32), True),
            lambda: search.quantize_fp8_mse(weight, e4m3, (1, 32), True),
        ),
        "mxfp4 block 32": (
            lambda: q.quantize_mxfp4(weight, (1, 32)),
            lambda: search.quantize_mxfp4_mse(weight, (1, 32)),
        ),
    }
    rows = []
    for name, (rtn_work, mse_work) in configs.items():
        rtn, rtn_s = timed(rtn_work)
        found, mse_s = timed(mse_work)
        rows.append(
            (
                name,
                snr(weight, rtn.dequantize(weight.dtype)),
                snr(weight, found.dequantize(weight.dtype)),
                rtn_s,
                mse_s,
            )
        )
    return rows


def sparse_rows(weight: np.ndarray) -> list[tuple[str, float, float, float, float]]:
    from coreai_opt.numerics import pruning
    from coreai_opt.numerics import quantization as q
    from coreai_opt.numerics.sparse_quant import quantize_sparse_values

    mask = pruning.unstructured_mask(weight, 0.5)
    values = pruning.values_from_mask(weight, mask)

    def dense_of(decoded_values: np.ndarray) -> np.ndarray:
        dense = np.zeros(weight.shape, weight.dtype)
        dense[mask] = decoded_values
        return dense

    per_tensor, tensor_s = timed(lambda: q.quantize_int(values, 8, True, True, (0,)))
    tensor_snr = snr(weight, dense_of(per_tensor.dequantize(weight.dtype)))
    rows = [("sparse 50% + int8 per-tensor", tensor_snr, tensor_snr, tensor_s, tensor_s)]
    results = {}
    for algorithm in ("rtn", "mse"):
        (codes, scale), seconds = timed(
            lambda algorithm=algorithm: quantize_sparse_values(values, mask, 0, None, algorithm)
        )
        dense_codes = np.zeros(weight.shape, np.int8)
        dense_codes[mask] = codes
        restored = q.dequantize_blockwise(dense_codes, scale, None, None, weight.dtype)
        results[algorithm] = (snr(weight, restored), seconds)
    rows.append(
        (
            "sparse 50% + int8 per-channel",
            results["rtn"][0],
            results["mse"][0],
            results["rtn"][1],
            results["mse"][1],
        )
    )
    pruned_only = snr(weight, dense_of(values))
    rows.append(("sparse 50% (f16 values, the limit)", pruned_only, pruned_only, 0.0, 0.0))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("| weights | configuration | RTN dB | search dB | RTN CPU s | search CPU s | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, make in (("N(0, 0.02)", gaussian), ("heavy-tailed", heavy)):
        weight = make(args.size, args.seed)
        for name, rtn_db, mse_db, rtn_s, mse_s in (
            int_rows(weight) + float_rows(weight) + sparse_rows(weight)
        ):
            ratio = f"{mse_s / rtn_s:.1f}x" if rtn_s > 0 else "-"
            print(
                f"| {label} | {name} | {rtn_db:.2f} | {mse_db:.2f} | {rtn_s:.2f} | "
                f"{mse_s:.2f} | {ratio} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
