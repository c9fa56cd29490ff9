// Ops of other dialects written in a custom form: one located line naming the op at its
// name (as mlir-opt does), with what to write instead; nested ones too.
// RUN: coreai-opt --split-input-file --verify-diagnostics %s | filecheck %s
// RUN: not coreai-opt --split-input-file %s 2>&1 | filecheck %s --check-prefix=EVERY
// EVERY-NOT: {{Traceback|internal error|does not have a custom format}}

// CHECK: foreign_custom_ops.mlir:9:8: error: custom op 'arith.constant' is unknown (ops outside the coreai dialect must be written in MLIR's generic form: "arith.constant"(...) : (...) -> (...))
module {
  %0 = arith.constant 1 : i32
}

// -----

// CHECK: foreign_custom_ops.mlir:17:14: error: custom op 'test.inner' is unknown
coreai.graph @main(%x: tensor<2xf32>, %c: tensor<i1>) -> tensor<2xf32> {
  %y = coreai.if %c {
    %a, %b = test.inner %x : tensor<2xf32>
    coreai.yield %a : tensor<2xf32>
  } else {
    coreai.yield %x : tensor<2xf32>
  } : tensor<i1> -> tensor<2xf32>
  coreai.output %y : tensor<2xf32>
}

// -----

// The generic form of the same op reads.
// CHECK: "test.inner"(%{{.*}}) : (tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>)
coreai.graph @generic(%x: tensor<2xf32>) -> tensor<2xf32> {
  %a, %b = "test.inner"(%x) : (tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>)
  coreai.output %a : tensor<2xf32>
}
