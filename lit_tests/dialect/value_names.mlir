// SSA names MLIR allows: dots, dollars and dashes, and names xDSL shortens to nothing
// (`%_0`, `%_12`): they read, print, and survive a pass (which copies the program).
// RUN: coreai-opt %s | filecheck %s
// RUN: coreai-opt %s -p cast-to-fp16 | filecheck %s --check-prefix=PASS

// CHECK-LABEL: coreai.graph @main
// CHECK-SAME:    (%x.in: tensor<2xf32>)
// CHECK-NEXT:    %[[A:.+]] = coreai.sqrt %x.in : tensor<2xf32> -> tensor<2xf32>
// CHECK-NEXT:    %layer.0-out$ = coreai.abs %[[A]] : tensor<2xf32> -> tensor<2xf32>
// CHECK-NEXT:    coreai.output %layer.0-out$ : tensor<2xf32>
// PASS:          coreai.graph @main
module {
  coreai.graph @main(%x.in: tensor<2xf32>) -> (tensor<2xf32>) {
    %_0 = coreai.sqrt %x.in : tensor<2xf32> -> tensor<2xf32>
    %layer.0-out$ = coreai.abs %_0 : tensor<2xf32> -> tensor<2xf32>
    coreai.output %layer.0-out$ : tensor<2xf32>
  }
}
