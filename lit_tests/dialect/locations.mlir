// Locations: `loc(...)` on ops and block arguments, and `#loc` aliases defined after their
// use (as MLIR prints them), are read; --mlir-print-debuginfo prints them back (inline),
// and ops without one print where they were read, as mlir-opt does. Without the flag,
// no location is printed.
// RUN: coreai-opt %s --mlir-print-debuginfo | filecheck %s
// RUN: coreai-opt %s --mlir-print-debuginfo | coreai-opt --mlir-print-debuginfo | filecheck %s
// RUN: coreai-opt %s | filecheck %s --check-prefix=PLAIN

// CHECK-LABEL: coreai.graph @main
// CHECK-SAME:    (%arg0: tensor<2x3xf32> loc("x.py":1:0)) -> (tensor<2x3xf32>) {
// CHECK-NEXT:    %0 = coreai.relu %arg0 : (tensor<2x3xf32>) -> tensor<2x3xf32> loc("model.py":2:8)
// CHECK-NEXT:    %1 = coreai.exp %0 : tensor<2x3xf32> -> tensor<2x3xf32> loc("{{.*}}locations.mlir":{{[0-9]+}}:5)
// CHECK-NEXT:    coreai.output %1 : tensor<2x3xf32> loc(fused["model.py":3:4, "relu"])
// CHECK-NEXT:  } loc(unknown)
// CHECK-NEXT:  } loc(unknown)
// PLAIN-NOT:   loc(
module {
  coreai.graph @main(%arg0: tensor<2x3xf32> loc("x.py":1:0)) -> (tensor<2x3xf32>) {
    %0 = coreai.relu %arg0 : (tensor<2x3xf32>) -> tensor<2x3xf32> loc(#loc1)
    %1 = coreai.exp %0 : tensor<2x3xf32> -> tensor<2x3xf32>
    coreai.output %1 : tensor<2x3xf32> loc(fused[#loc2, "relu"])
  } loc(#loc)
} loc(#loc)
#loc = loc(unknown)
#loc1 = loc("model.py":2:8)
#loc2 = loc("model.py":3:4)
