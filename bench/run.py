"""End-to-end pass benchmarks on a seeded LLaMA-7B MLP block (107 M f16 weights).

Each configuration runs in a fresh process: the program is built in memory from seeded
weights, the pipeline is timed (wall clock), peak RSS is read right after it, then the
result is decompressed and its SNR against the original weights is computed.

    python bench/run.py                                  # every configuration, Gaussian
    python bench/run.py --only quantize                  # names containing "quantize"
    python bench/run.py --distribution heavy             # Student-t, random scale per row
    python bench/run.py --json r.json --markdown r.md    # also write the summary

Targets (issues #3, #4, #5): see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

MB = 1 << 20

CONFIGS: dict[str, str] = {
    "quantize int8 per-channel": "quantize<dtype=int8>",
    "quantize int4 per-block 32": "quantize<dtype=int4,granularity=per_block,block_size=32>",
    "quantize fp8 e4m3 per-channel": "quantize<dtype=fp8_e4m3fn>",
    "quantize mxfp8 e4m3 block 32": (
        "quantize<dtype=fp8_e4m3fn,granularity=per_block,scale_dtype=fp8_e8m0fnu>"
    ),
    "quantize mxfp4": "quantize<dtype=fp4_e2m1fn,granularity=per_block,block_size=32>",
    "palettize 4-bit per-tensor": "palettize<n_bits=4>",
    "palettize 8-bit per-tensor": "palettize<n_bits=8>",
    "palettize 4-bit grouped 16": (
        "palettize<n_bits=4,granularity=per_grouped_channel,group_size=16>"
    ),
    "palettize 4-bit per-channel": "palettize<n_bits=4,granularity=per_channel>",
    "palettize 4-bit per-tensor + pcs": "palettize<n_bits=4,enable_per_channel_scale=true>",
    "palettize 4-bit per-tensor + pcs mse": (
        "palettize<n_bits=4,enable_per_channel_scale=true,algorithm=mse>"
    ),
    "quantize int4 per-block 32 mse": (
        "quantize<dtype=int4,granularity=per_block,block_size=32,algorithm=mse>"
    ),
    "quantize int4 asym per-block 32 mse": (
        "quantize<dtype=int4,qscheme=asymmetric,granularity=per_block,block_size=32,algorithm=mse>"
    ),
    "quantize int4 asym per-block 32": (
        "quantize<dtype=int4,qscheme=asymmetric,granularity=per_block,block_size=32>"
    ),
    "quantize int8 per-channel mse": "quantize<dtype=int8,algorithm=mse>",
    "sparsify 50%": "sparsify<target_sparsity=0.5>",
    "sparsify 50% + int8": "sparsify<target_sparsity=0.5>,quantize<dtype=int8>",
    "sparsify 50% + int8 per-channel": (
        "sparsify<target_sparsity=0.5>,quantize<dtype=int8,sparse_scale=per_channel>"
    ),
    "sparsify 50% + palettize 4-bit": "sparsify<target_sparsity=0.5>,palettize<n_bits=4>",
}


def build_program(seed: int, distribution: str):
    """The benchmark program, weights generated in memory (no text parsing)."""
    from coreai_opt.dialects.resources import Blob

    from coreai_opt.ir.text import FileMetadata, parse_module_text
    from coreai_opt.program import AIProgram
    from coreai_opt.synthetic import llama_block_layers, module_text, weights

    layers = llama_block_layers()
    metadata = FileMetadata()
    originals = {}
    for layer, weight in weights(layers, seed, distribution, "float16"):
        metadata.blobs[layer.name] = Blob(weight, alignment=2)
        originals[layer.name] = weight
    module = parse_module_text(module_text(layers, "float16"), "<bench>", metadata)
    return AIProgram(module, FileMetadata()), originals


def snr_against(program, originals) -> float:
    """SNR in dB of the decompressed weights against the originals, over all weights."""
    import numpy as np
    from coreai_opt.dialects.resources import DenseResourceElementsAttr

    from coreai_opt.ir.elements import elements_array
    from coreai_opt.pipeline import Pipeline

    Pipeline.parse("decompress").run(program)
    signal = noise = 0.0
    for op in program.constants():
        if not isinstance(op.value, DenseResourceElementsAttr):
            continue
        name = op.result.name_hint
        if name not in originals:
            continue
        reference = originals[name].astype(np.float64)
        restored = elements_array(op.value).astype(np.float64)
        signal += float(np.sum(reference**2))
        noise += float(np.sum((reference - restored) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(signal / noise)


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) so the next reading covers only what follows."""
    try:
        with open("/proc/self/clear_refs", "w") as stream:
            stream.write("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    """VmHWM from /proc (falls back to ru_maxrss, which cannot be reset)."""
    try:
        with open("/proc/self/status") as stream:
            for line in stream:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def import_numerics() -> None:
    """Import what the passes import on first use (ml_dtypes alone takes ~0.6 s), so the
    clock times the passes, not one-time module loading."""
    import importlib

    for name in ("quantization", "search", "palettization", "pruning", "packing", "finite"):
        importlib.import_module(f"coreai_opt.numerics.{name}")


def child(pipeline_text: str, seed: int, distribution: str) -> None:
    """Measure one pipeline in this (fresh) process; print a JSON line."""
    from coreai_opt.pipeline import Pipeline

    program, originals = build_program(seed, distribution)
    import_numerics()
    weight_bytes = sum(w.nbytes for w in originals.values())
    import gc

    gc.collect()
    baseline = peak_rss_bytes()
    reset_peak_rss()
    pipeline = Pipeline.parse(pipeline_text)
    cpu_start = time.process_time()
    start = time.perf_counter()
    pipeline.run(program, verify_each=False)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    peak = peak_rss_bytes()
    after = sum(run.statistics.get("bytes-after", 0) for run in pipeline.runs[-1:])
    result = {
        "pipeline": pipeline_text,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_rss_mb": peak / MB,
        "rss_before_mb": baseline / MB,
        "weight_mb": weight_bytes / MB,
        "budget_mb": (1.5 * weight_bytes + 200 * MB) / MB,
        "compressed_mb": after / MB,
        "snr_db": snr_against(program, originals),
    }
    print(json.dumps(result))


def peer_child(name: str, seed: int, distribution: str) -> None:
    """Measure coremltools on the same weights in this (fresh) process; print a JSON line."""
    import gc

    import peer_coremltools as peer

    from coreai_opt.synthetic import llama_block_layers, weights

    originals = {
        layer.name: w for layer, w in weights(llama_block_layers(), seed, distribution, "float16")
    }
    model = peer.build_model(originals)
    gc.collect()
    reset_peak_rss()
    start = time.perf_counter()
    compressed = peer.run_steps(model, peer.configs()[name])
    seconds = time.perf_counter() - start
    peak = peak_rss_bytes()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": peak / MB,
                "snr_db": peer.snr(compressed, originals),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="run configurations whose name contains this")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--distribution", default="gaussian", choices=("gaussian", "heavy"))
    parser.add_argument("--json", help="write results to this file")
    parser.add_argument("--markdown", help="write a markdown summary table to this file")
    parser.add_argument(
        "--coremltools",
        action="store_true",
        help="also run coremltools 9 on the same weights (if installed) and print ratios",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--peer-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.seed, args.distribution)
        return
    if args.peer_child:
        peer_child(args.peer_child, args.seed, args.distribution)
        return
    results = {}
    print(
        f"{'configuration':34} {'time s':>8} {'CPU s':>8} {'peak RSS MB':>12} {'budget':>8} "
        f"{'SNR dB':>8}"
    )
    for name, pipeline_text in CONFIGS.items():
        if args.only not in name:
            continue
        result = run_child("--child", pipeline_text, args)
        results[name] = result
        print(
            f"{name:34} {result['seconds']:8.2f} {result.get('cpu_seconds', 0):8.2f} "
            f"{result['peak_rss_mb']:12.0f} "
            f"{result['budget_mb']:8.0f} {result['snr_db']:8.2f}",
            flush=True,
        )
        if args.coremltools:
            result["coremltools"] = run_peer(name, args, result["seconds"])
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(results, stream, indent=2)
    if args.markdown:
        with open(args.markdown, "w") as stream:
            stream.write(markdown_summary(results, args.distribution))


def run_child(flag: str, value: str, args: argparse.Namespace) -> dict:
    """One measurement in a fresh interpreter (`--child` or `--peer-child`); its JSON line."""
    command = [
        sys.executable,
        __file__,
        flag,
        value,
        "--seed",
        str(args.seed),
        "--distribution",
        args.distribution,
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def run_peer(name: str, args: argparse.Namespace, ours: float) -> dict | None:
    """coremltools on the same configuration, in its own process; prints the ratios."""
    import importlib.util

    if importlib.util.find_spec("coremltools") is None:
        print(f"{'':34} coremltools is not installed: pip install coremltools==9.0")
        return None
    import peer_coremltools as peer

    if name not in peer.CONFIG_NAMES:
        return None
    result = run_child("--peer-child", name, args)
    print(
        f"{'  coremltools 9.0':34} {result['seconds']:8.2f} {result['peak_rss_mb']:12.0f} "
        f"{'':8} {result['snr_db']:8.2f}   ({result['seconds'] / ours:.0f}x our time)",
        flush=True,
    )
    return result


def markdown_summary(results: dict, distribution: str) -> str:
    """A markdown table of the results."""
    lines = [
        f"Seeded LLaMA-7B MLP block (107 M f16 weights, {distribution}), one process each.",
        "",
        "| configuration | wall time (s) | peak RSS (MB) | RSS budget (MB) | SNR (dB) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['seconds']:.2f} | {r['peak_rss_mb']:.0f} | {r['budget_mb']:.0f} "
            f"| {r['snr_db']:.2f} |"
        )
        peer = r.get("coremltools")
        if peer:
            lines.append(
                f"| &nbsp;&nbsp;coremltools 9.0 | {peer['seconds']:.2f} "
                f"({peer['seconds'] / r['seconds']:.0f}x) | {peer['peak_rss_mb']:.0f} | "
                f"| {peer['snr_db']:.2f} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
