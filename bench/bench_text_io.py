"""Textual IR at scale: parse and print a module holding 1 GiB of f16 weights.

Issue #2's bar: parsing and printing each under 15 s, peak RSS under 2x the weight bytes
plus 300 MB, and a byte-identical round trip. Each step runs in its own process so peak RSS
is measured per step.

    python bench/bench_text_io.py [--layers 64] [--workdir /tmp/coreai-bench]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

MB = 1 << 20


def file_digest(path: Path) -> str:
    """SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()


def generate(path: str, count: int) -> int:
    """Write the seeded module: `count` alternating 4096x2048 / 2048x4096 f16 weights."""
    from coreai_opt.synthetic import Layer, write_module

    layers = [Layer(f"w{i}", (4096, 2048) if i % 2 == 0 else (2048, 4096)) for i in range(count)]
    return write_module(path, layers, seed=0)


def child(step: str, source: str, target: str) -> None:
    """Run one measured step in this process and print a JSON line."""
    if step == "generate":
        print(generate(source, int(target)))
        return
    from coreai_opt.program import AIProgram

    start = time.perf_counter()
    program = AIProgram.load(source, verify=True)
    loaded = time.perf_counter()
    if step == "roundtrip":
        program.save(target)
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"parse_s": loaded - start, "print_s": done - loaded, "peak_rss": peak}))


def run_child(step: str, source: Path, target: Path) -> dict:
    """Start a fresh interpreter for one step."""
    output = subprocess.run(
        [sys.executable, __file__, "--child", step, str(source), str(target)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layers", type=int, default=64, help="4096x2048 f16 constants")
    parser.add_argument("--workdir", default="/tmp/coreai-bench")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    source, target = workdir / "big.mlir", workdir / "big_out.mlir"
    start = time.perf_counter()
    # Generate in a child too: a child's peak RSS includes its parent's size at spawn.
    output = subprocess.run(
        [sys.executable, __file__, "--child", "generate", str(source), str(args.layers)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    weight_bytes = int(output.strip().splitlines()[-1])
    print(
        f"generated {weight_bytes / MB:.0f} MiB of f16 weights, "
        f"{source.stat().st_size / MB:.0f} MiB of text in {time.perf_counter() - start:.1f} s"
    )
    parse_only = run_child("parse", source, target)
    roundtrip = run_child("roundtrip", source, target)
    identical = file_digest(source) == file_digest(target)
    budget = (2 * weight_bytes + 300 * MB) / MB
    print(f"parse: {parse_only['parse_s']:.2f} s, peak RSS {parse_only['peak_rss'] / MB:.0f} MiB")
    print(
        f"print: {roundtrip['print_s']:.2f} s, peak RSS (parse+print process) "
        f"{roundtrip['peak_rss'] / MB:.0f} MiB (budget {budget:.0f} MiB)"
    )
    print(f"round trip byte-identical: {identical}")
    os.unlink(target)


if __name__ == "__main__":
    main()
