// Under xdsl-opt a weight's bytes are checked when our passes or the coreai target resolve
// it, with the messages coreai-opt gives (xDSL's driver then shows its traceback, ending
// in that one line).
// RUN: not coreai-opt %s 2>&1 | filecheck %s --check-prefix=OURS
// RUN: not xdsl-opt %s -t coreai 2>&1 | filecheck %s --check-prefix=XDSL
// RUN: not xdsl-opt %s -p 'quantize{dtype=int8}' 2>&1 | filecheck %s --check-prefix=XDSL

// OURS: error: resource 'w' holds invalid hex
// XDSL: IRError: {{.*}}resource 'w' holds invalid hex
module {
  coreai.graph @main() -> tensor<2xf16> {
    %w = coreai.constant dense_resource<w> : tensor<2xf16>
    coreai.output %w : tensor<2xf16>
  }
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x02000000003CZZ40"
    }
  }
#-}
