"""`mixed-precision`: a scheme per weight, chosen to reach a bits-per-weight target with the
least output error, then applied by the compression passes (docs/mixed_precision.md).

    mixed-precision<target_bpw=4.75,candidates=int8|pal6|int4_b32|pal4,inputs=in.npz>
    mixed-precision<target_bpw=4.75,data_free=true>

The measuring, allocation and application are coreai_opt/mixed_precision.py; this pass
reads its inputs, records the plan in its `PassRun` (statistics, `details["plan"]`, shown by
`--report`) and checks that the result has the planned bits per weight.
"""

from __future__ import annotations

from dataclasses import dataclass

from coreai_opt.passes.selection import WeightSelector
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp

from coreai_opt.mixed_precision import (
    DEFAULT_CANDIDATES,
    MixedPrecisionError,
    apply_plan,
    compile_option,
    option_error,
    parse_candidates,
    plan_mixed_precision,
)
from coreai_opt.pass_options import option
from coreai_opt.pipeline import CoreAIPass, current_run


@dataclass(frozen=True)
class MixedPrecisionPass(CoreAIPass):
    """Choose a compression scheme per weight to reach a bits-per-weight target."""

    name = "mixed-precision"

    target_bpw: float = option(4.5, "Bits per weight over all weights (scales, LUTs included)")
    candidates: str = option(
        DEFAULT_CANDIDATES, "Schemes, '|'-separated: int8, int4_b32, pal6, pal4_g16, ..."
    )
    inputs: str | None = option(None, "Inputs .npz (NAME or NAME/i keys); none = random")
    samples: int = option(1, "Seeded random input samples when no inputs are given")
    seed: int = option(0, "Seed of the random inputs")
    data_free: bool = option(False, "Rank by weight SNR and size, without running the program")
    graph: str = option("main", "The graph whose outputs are measured")
    outputs: str | None = option(None, "Measure only the outputs this regex matches whole")
    weight_num_threshold: int = option(1024, "Only weights with more elements are compressed")
    include: str | None = option(None, "Consider only weights whose names match this regex")
    exclude: str | None = option(None, "Never compress weights whose names match this regex")

    def __post_init__(self) -> None:
        self.check_option_types()
        WeightSelector(self.name, self.include, self.exclude)  # a bad regex fails here
        if not self.target_bpw > 0:
            raise option_error("target_bpw", f"must be a positive number, got {self.target_bpw}")
        if self.samples < 1:
            raise option_error("samples", f"must be at least 1, got {self.samples}")
        parse_candidates(self.candidates, self.weight_num_threshold)
        if self.outputs is not None:
            compile_option(self.outputs, "outputs")

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from coreai_opt.inspection import bits_per_weight
        from coreai_opt.interpreter import InterpreterError
        from coreai_opt.ir.pending import resolve_pending_resources
        from coreai_opt.program import AIProgram

        resolve_pending_resources(ctx, op)  # weights read by xDSL's own parser (xdsl-opt)
        run = current_run(self.name)
        program = AIProgram(op)
        schemes = parse_candidates(self.candidates, self.weight_num_threshold)
        try:
            plan = plan_mixed_precision(
                program,
                self.target_bpw,
                schemes,
                self.read_inputs(),
                self.samples,
                self.seed,
                self.data_free,
                self.graph,
                self.weight_num_threshold,
                self.include,
                self.exclude,
                self.outputs,
            )
        except InterpreterError as error:
            raise MixedPrecisionError(
                f"pass 'mixed-precision': the program cannot be run to measure sensitivities "
                f"({error}); use data_free=true"
            ) from None
        for sub_run in apply_plan(program, plan, schemes):
            for warning in sub_run.warnings:
                run.warnings.append(warning)
        result = bits_per_weight(program).bits_per_weight
        run.details["plan"] = plan
        run.details["result_bpw"] = result
        run.count("weights-planned", len(plan.weights), "Weights given a scheme")
        for planned in plan.weights:
            run.count(f"weights-{planned.scheme}", 1, f"Weights stored as {planned.scheme}")
        run.count("plan-bits-per-weight", plan.bits_per_weight, "Planned bits per weight")
        run.count("result-bits-per-weight", result, "Bits per weight of the result")
        run.count("sweep-cpu-seconds", plan.sweep_cpu_seconds, "CPU time of the sweep")

    def read_inputs(self) -> list | None:
        """The samples of the `inputs` file (None: random inputs)."""
        if self.inputs is None or self.data_free:
            return None
        from coreai_opt.cli_exec import load_npz, split_samples
        from coreai_opt.interpreter import InterpreterError

        try:
            return split_samples(load_npz(self.inputs, "inputs"))
        except InterpreterError as error:
            raise option_error("inputs", f"'{self.inputs}': {error}") from None
