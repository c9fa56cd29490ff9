// A dense literal's type is checked where the type is written: a dynamic shape or a type
// that holds no numbers is one located line.
// RUN: coreai-opt --split-input-file --verify-diagnostics %s | filecheck %s
// RUN: not coreai-opt --split-input-file %s 2>&1 | filecheck %s --check-prefix=EVERY
// EVERY-NOT: {{Traceback|internal error}}

// CHECK: dense_literal_types.mlir:9:37: error: Dense literal attribute should have a static shape.
coreai.graph @dynamic() -> tensor<?xf32> {
  %0 = coreai.constant dense<1.0> : tensor<?xf32>
  coreai.output %0 : tensor<?xf32>
}

// -----

// CHECK: dense_literal_types.mlir:17:37: error: Expected memref, vector or tensor type of integer, index, float, or complex type
coreai.graph @token() -> tensor<2xf32> {
  %0 = coreai.constant dense<1.0> : !coreai.token
  coreai.output %0 : tensor<2xf32>
}
