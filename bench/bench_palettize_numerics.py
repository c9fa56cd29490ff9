"""Seeded SNR / speed / memory benchmark of coreai_opt.numerics palettization (k-means).

Usage: ``python bench/bench_palettize_numerics.py`` (all), ``--quality`` (SNR tables only) or
``--timing CASE [--workers N]`` (one timing scenario; each runs in a fresh subprocess so that
its peak RSS is its own).

Quality on one 4096x4096 N(0, 0.02) float16 matrix, output axis 0: our tables next to the
exact optimum (the exact dynamic programme; for per-channel / per-group tables on a subset of
the LUTs, since it costs ``O(k n log n)`` per LUT), and next to scikit-learn's KMeans on the
weighted histogram (what coremltools runs) when scikit-learn is installed. Heavy-tailed
weights (Student-t, 3 degrees of freedom, a random scale per row) compare per-tensor tables
with and without the per-channel scale. Time and peak RSS on a LLaMA-7B MLP-sized block
(4096x4096, 11008x4096, 4096x11008 float16: 107 M weights).
"""

import argparse
import resource
import subprocess
import sys
import time

import numpy as np
from bench_quantize_numerics import normal_f16  # same seeded N(0, 0.02) generator

from coreai_opt.numerics import kmeans
from coreai_opt.numerics.palettization import lut_to_dense, palettize, per_channel_scale
from coreai_opt.numerics.quantization import snr_db

SEED = 0
STD = 0.02
MLP_SHAPES = ((4096, 4096), (11008, 4096), (4096, 11008))
# name: (n_bits, group_size, target seconds)
TIMING_CASES = {
    "per-tensor-4bit": (4, 0, 2.0),
    "per-tensor-8bit": (8, 0, 6.0),
    "grouped16-4bit": (4, 16, 4.0),
    "per-channel-4bit": (4, 1, 10.0),
}
# Subsets on which the exact optimum of many small problems is computed: (rows, groups).
EXACT_SUBSET = {4: (256, 16), 2: (256, 16), 8: (16, 2)}


def heavy_tailed_f16(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Student-t (df 3) values times a log-uniform random scale per row, float16."""
    row_scale = STD * np.exp(rng.uniform(np.log(0.1), np.log(10.0), size=(shape[0], 1)))
    return (rng.standard_t(3, size=shape) * row_scale).astype(np.float16)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def snr_of(weight: np.ndarray, n_bits: int, group_size: int, **options: object) -> float:
    indices, lut = palettize(weight, n_bits, 0, group_size, **options)
    return snr_db(weight, lut_to_dense(indices, lut, 0))


def exact_snr(weight: np.ndarray, n_bits: int, group_size: int) -> float:
    """SNR of the exact optimum (float64 tables, before rounding to the weight dtype)."""
    signal = float(np.sum(weight.astype(np.float64) ** 2))
    codec = kmeans.float16_codec(weight.dtype)
    groups = 1 if group_size == 0 else weight.shape[0] // group_size
    keys = codec.keys(weight).reshape(groups, -1).astype(np.intp)
    sse = 0.0
    for start in range(0, groups, 8):  # a few LUTs at a time bounds the memory
        part = keys[start : start + 8]
        flat = part + (np.arange(part.shape[0]) * codec.n_keys)[:, None]
        counts = np.bincount(flat.reshape(-1), minlength=part.shape[0] * codec.n_keys)
        counts = counts.reshape(part.shape[0], codec.n_keys).astype(np.float64)
        present = counts > 0
        order = np.argsort(~present, axis=1, kind="stable")
        points = np.broadcast_to(codec.value_of_key, counts.shape)
        _, part_sse = kmeans.optimal_kmeans_padded(
            np.take_along_axis(points, order, axis=1),
            np.take_along_axis(counts, order, axis=1),
            present.sum(axis=1),
            1 << n_bits,
        )
        sse += float(part_sse.sum())
    return 10 * np.log10(signal / sse)


def sklearn_snr(weight: np.ndarray, n_bits: int, decimals: int | None) -> tuple[float, float]:
    """coremltools-style per-tensor LUT: sklearn KMeans on the (optionally rounded) histogram."""
    from sklearn.cluster import KMeans

    start = time.perf_counter()
    values = weight.astype(np.float32).reshape(-1)
    if decimals is not None:
        values = np.round(values, decimals)
    distinct, counts = np.unique(values, return_counts=True)
    model = KMeans(n_clusters=1 << n_bits, n_init=1, random_state=SEED)
    model.fit(distinct.reshape(-1, 1), sample_weight=counts)
    table = np.sort(model.cluster_centers_.reshape(-1)).astype(np.float16)
    labels = kmeans.assign_nearest(weight.reshape(-1), table.astype(np.float64))
    elapsed = time.perf_counter() - start
    return snr_db(weight, table[labels].reshape(weight.shape)), elapsed


def quality_row(name: str, ours: float, exact: float, note: str = "") -> None:
    gap = exact - ours
    verdict = "ok" if gap <= 0.1 else "GAP > 0.1 dB"
    print(f"  {name:34s} ours {ours:7.3f}  exact {exact:7.3f}  gap {gap:6.3f} dB {verdict} {note}")


def run_quality() -> None:
    weight = normal_f16(np.random.default_rng(SEED), (4096, 4096))
    print("SNR (dB) on 4096x4096 N(0, 0.02) float16, output axis 0")
    for n_bits in (2, 4, 8):
        start = time.perf_counter()
        ours = snr_of(weight, n_bits, 0)
        elapsed = time.perf_counter() - start
        fast = snr_of(weight, n_bits, 0, exact=False)
        note = f"({elapsed:.2f} s; fast mode {fast:.3f})"
        quality_row(f"per-tensor {n_bits}-bit", ours, exact_snr(weight, n_bits, 0), note)
    print("  (Lloyd-Max limit for 4 bits on a Gaussian: 20.22 dB)")
    for n_bits in (2, 4, 8):
        rows, groups = EXACT_SUBSET[n_bits]
        for label, size, subset in (("per-channel", 1, rows), ("grouped-16", 16, groups * 16)):
            start = time.perf_counter()
            full = snr_of(weight, n_bits, size, num_workers=2)
            elapsed = time.perf_counter() - start
            part = weight[:subset]
            ours = snr_of(part, n_bits, size)
            note = f"(first {subset} rows; whole matrix {full:.3f}, {elapsed:.2f} s)"
            quality_row(f"{label} {n_bits}-bit", ours, exact_snr(part, n_bits, size), note)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("  scikit-learn not installed: coremltools-style baselines skipped")
    else:
        for n_bits in (4, 8):
            for decimals in (None, 4):
                snr, elapsed = sklearn_snr(weight, n_bits, decimals)
                how = "rounded to 4 decimals" if decimals else "exact histogram"
                print(
                    f"  sklearn KMeans per-tensor {n_bits}-bit ({how}): {snr:7.3f} dB, "
                    f"{elapsed:.2f} s"
                )
    heavy = heavy_tailed_f16(np.random.default_rng(SEED + 1), (4096, 4096))
    scale = per_channel_scale(heavy, 0)
    plain = snr_of(heavy, 4, 0)
    indices, lut = palettize(heavy, 4, 0, 0, channel_scale=scale)
    scaled = snr_db(heavy, (lut_to_dense(indices, lut, 0) * scale).astype(np.float16))
    normalised = (heavy.astype(np.float32) / scale.astype(np.float32)).astype(np.float16)
    indices, lut = palettize(normalised, 4, 0, 0)
    unweighted = snr_db(heavy, (lut_to_dense(indices, lut, 0) * scale).astype(np.float16))
    print("Heavy-tailed 4096x4096 (Student-t df 3, random scale per row), 4-bit per-tensor")
    print(
        f"  plain {plain:.3f} dB; with per-channel scale {scaled:.3f} dB "
        f"(clustering w/s without the scale^2 weights: {unweighted:.3f} dB); "
        f"{'ok' if scaled > plain else 'SCALE DOES NOT HELP'}"
    )


def run_timing(case: str, workers: int) -> None:
    n_bits, group_size, target = TIMING_CASES[case]
    rng = np.random.default_rng(SEED)
    weights = [normal_f16(rng, shape) for shape in MLP_SHAPES]
    weight_mb = sum(w.nbytes for w in weights) / 2**20
    rss_before = peak_rss_mb()
    start = time.perf_counter()
    results = [palettize(w, n_bits, 0, group_size, num_workers=workers) for w in weights]
    elapsed = time.perf_counter() - start
    budget_mb = 1.5 * weight_mb + 200
    peak = peak_rss_mb()
    verdict = "ok" if elapsed <= target and peak <= budget_mb else "OVER"
    print(
        f"  {case:17s} {workers} worker(s): {elapsed:6.2f} s (target {target} s); peak RSS "
        f"{peak:.0f} MiB (weights {weight_mb:.0f}, before {rss_before:.0f}, budget "
        f"{budget_mb:.0f}) {verdict}"
    )
    del results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timing", choices=sorted(TIMING_CASES))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quality", action="store_true")
    args = parser.parse_args()
    if args.timing:
        run_timing(args.timing, args.workers)
        return
    if not args.quality:
        # First, while this process is small: a child's ru_maxrss starts from its parent's.
        print("Time / peak RSS on the LLaMA-7B MLP block, 107 M float16 weights (fresh process)")
        for case in TIMING_CASES:
            for workers in (1, 2):
                command = [sys.executable, __file__, "--timing", case, "--workers", str(workers)]
                subprocess.run(command, check=True)
    run_quality()


if __name__ == "__main__":
    main()
