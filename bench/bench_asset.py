"""`.aimodel` bundles at scale: 4 GiB of f16 weights (more than a quarter of RAM).

Issue #6's bars: `AIModelAsset.load` in <= 3 s with peak RSS <= 300 MB; `save_asset` of a
`.copy()` in <= 25 s; `quantize<dtype=int8>` load -> compress -> save with peak RSS <= the
compressed output's size + 3x the largest tensor + 500 MB. Each step runs in a fresh
interpreter (peak RSS from `resource.getrusage`). The bundle is generated streaming (one
tensor in memory at a time) and everything is deleted at the end.

    python bench/bench_asset.py [--gib 4] [--layer 8192] [--workdir /tmp/coreai-bench-asset]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

MB = 1 << 20
GB = 1 << 30


def peak_rss() -> int:
    """Peak resident set size of this process, in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def tree_size(path: Path) -> int:
    """Bytes of all files under `path`."""
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


# --------------------------------------------------------------------------- generation


def step_generate(bundle: str, layers: str, side: str, seed: str) -> dict:
    """Generation runs in its own interpreter, so the parent stays small (children of a
    large process would report its peak RSS: Linux carries it across fork and exec)."""
    seconds = generate(Path(bundle), int(layers), int(side), int(seed))
    return {"seconds": seconds, "peak_rss": peak_rss()}


def generate(bundle: Path, layers: int, side: int, seed: int) -> float:
    """A seeded bundle of `layers` f16 `side`x`side` weights, never all in memory.

    Each weight is generated, appended to a scratch file and dropped; the program's blobs
    are then read-only maps of that file, which `save_asset` streams into the bundle.
    """
    import numpy as np
    from coreai_opt.dialects.resources import Blob, DenseResourceElementsAttr

    from coreai_opt.bytecode.mapping import map_range
    from coreai_opt.program import AIProgram
    from coreai_opt.synthetic import Layer, module_text, weights

    start = time.perf_counter()
    specs = [Layer(f"w{index}", (side, side)) for index in range(layers)]
    scratch = bundle.with_suffix(".weights")
    offsets = {}
    with open(scratch, "wb") as out:
        for layer, weight in weights(specs, seed, "gaussian", np.dtype(np.float16)):
            offsets[layer.name] = out.tell()
            out.write(weight.tobytes())
    program = AIProgram.parse(module_text(specs, np.dtype(np.float16)), verify=False)
    fd = os.open(scratch, os.O_RDONLY)
    try:
        for op in program.constants():
            if not isinstance(op.value, DenseResourceElementsAttr):
                continue
            key = op.value.resource_handle.data
            if key in offsets:
                data = map_range(fd, offsets[key], side * side * 2)
                op.properties["value"] = DenseResourceElementsAttr.create(
                    key, op.value.type, Blob(data, alignment=64)
                )
    finally:
        os.close(fd)
    program.verify()
    program.save_asset(bundle, {"model_description": f"{layers}x {side}x{side} f16, seed {seed}"})
    del program
    scratch.unlink()
    return time.perf_counter() - start


# --------------------------------------------------------------------------- measured steps


def step_load(bundle: str, verify_hash: str) -> dict:
    """AIModelAsset.load alone."""
    from coreai_opt.asset import AIModelAsset

    start = time.perf_counter()
    asset = AIModelAsset.load(bundle, verify_hash=verify_hash == "hash")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_rss": peak_rss(), "weights": asset.program.weight_bytes()}


def step_save_copy(bundle: str, target: str) -> dict:
    """Load (hash checked), then `save_asset` of a `.copy()`: the save is timed."""
    from coreai_opt.asset import AIModelAsset

    program = AIModelAsset.load(bundle).program.copy()
    start = time.perf_counter()
    program.save_asset(target)
    return {"seconds": time.perf_counter() - start, "peak_rss": peak_rss()}


def step_quantize(bundle: str, target: str) -> dict:
    """load -> quantize<dtype=int8> -> save_asset, end to end."""
    from coreai_opt.dialects.resources import DenseResourceElementsAttr

    from coreai_opt.asset import AIModelAsset
    from coreai_opt.pipeline import Pipeline

    start = time.perf_counter()
    program = AIModelAsset.load(bundle).program
    loaded = time.perf_counter()
    largest = max(
        op.value.blob.data.nbytes
        for op in program.constants()
        if isinstance(op.value, DenseResourceElementsAttr)
    )
    Pipeline.parse("quantize<dtype=int8>").run(program)
    compressed = time.perf_counter()
    program.save_asset(target)
    done = time.perf_counter()
    return {
        "seconds": done - start,
        "load_s": loaded - start,
        "compress_s": compressed - loaded,
        "save_s": done - compressed,
        "peak_rss": peak_rss(),
        "largest_tensor": largest,
    }


STEPS = {
    "generate": step_generate,
    "load": step_load,
    "save_copy": step_save_copy,
    "quantize": step_quantize,
}


def run_step(name: str, *args: str) -> dict:
    """One step in a fresh interpreter; its JSON line back."""
    output = subprocess.run(
        [sys.executable, __file__, "--step", name, *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


# --------------------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    """PASS/FAIL marker."""
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gib", type=float, default=4.0, help="GiB of f16 weights")
    parser.add_argument("--layer", type=int, default=8192, help="side of each square weight")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default="/tmp/coreai-bench-asset")
    parser.add_argument("--keep", action="store_true", help="keep the generated bundles")
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(STEPS[args.step[0]](*args.step[1:])))
        return

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    bundle = workdir / "model.aimodel"
    copy, quantized = workdir / "copy.aimodel", workdir / "int8.aimodel"
    for path in (bundle, copy, quantized):
        shutil.rmtree(path, ignore_errors=True)
    layers = max(1, round(args.gib * GB / (args.layer * args.layer * 2)))
    try:
        seconds = run_step("generate", str(bundle), str(layers), str(args.layer), str(args.seed))[
            "seconds"
        ]
        size = tree_size(bundle)
        print(
            f"generated {layers} x {args.layer}x{args.layer} f16: {size / GB:.2f} GiB "
            f"bundle in {seconds:.1f} s"
        )

        os.sync()  # let the freshly written bundle reach the disk: measure a settled cache
        load = run_step("load", str(bundle), "hash")
        print(
            f"AIModelAsset.load (SHA-256 checked): {load['seconds']:.2f} s, "
            f"peak RSS {load['peak_rss'] / MB:.0f} MB "
            f"[bar 3 s / 300 MB: {verdict(load['seconds'] <= 3 and load['peak_rss'] <= 300e6)}]"
        )
        fast = run_step("load", str(bundle), "nohash")
        print(
            f"AIModelAsset.load (verify_hash=False): {fast['seconds']:.2f} s, "
            f"peak RSS {fast['peak_rss'] / MB:.0f} MB"
        )

        save = run_step("save_copy", str(bundle), str(copy))
        print(
            f"save_asset of a copy: {save['seconds']:.1f} s, peak RSS "
            f"{save['peak_rss'] / MB:.0f} MB [bar 25 s: {verdict(save['seconds'] <= 25)}]"
        )
        shutil.rmtree(copy, ignore_errors=True)

        quant = run_step("quantize", str(bundle), str(quantized))
        out_size = tree_size(quantized)
        shutil.rmtree(quantized, ignore_errors=True)
        budget = out_size + 3 * quant["largest_tensor"] + 500e6
        print(
            f"quantize<dtype=int8> load+compress+save: {quant['seconds']:.1f} s "
            f"(load {quant['load_s']:.1f}, compress {quant['compress_s']:.1f}, "
            f"save {quant['save_s']:.1f}), peak RSS {quant['peak_rss'] / MB:.0f} MB, "
            f"output {out_size / MB:.0f} MB, largest tensor "
            f"{quant['largest_tensor'] / MB:.0f} MB, budget {budget / MB:.0f} MB "
            f"[{verdict(quant['peak_rss'] <= budget)}]"
        )
    finally:
        if not args.keep:
            for path in (bundle, copy, quantized, bundle.with_suffix(".weights")):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                elif path.exists():
                    path.unlink()
            if not any(workdir.iterdir()):
                workdir.rmdir()


if __name__ == "__main__":
    main()
