// With --split-input-file, errors point at lines of the whole file; every failing split is reported, as in mlir-opt.
// RUN: not coreai-opt --split-input-file %s 2>&1 | filecheck %s
// RUN: not coreai-opt --split-input-file %s 2>/dev/null | filecheck %s --check-prefix=STDOUT --allow-empty

// CHECK: split_locations.mlir:19:3: error: 'coreai.transpose' op result shape [2, 4] must be [4, 2]
// CHECK-NEXT: split_locations.mlir:26:3: error: 'coreai.output' op output types (tensor<2xf16>) do not match the graph's result types (tensor<2xf32>)
// CHECK-NOT: error
// STDOUT-NOT: {{.}}

coreai.graph @fine() {
  coreai.output
}

// -----

coreai.graph @second(%x: tensor<2x4xf16>) -> tensor<2x4xf16> {
  %p = coreai.constant dense<[1, 0]> : tensor<2xui32>
  // The error is on the next line.
  %t = coreai.transpose %x, %p : (tensor<2x4xf16>, tensor<2xui32>) -> tensor<2x4xf16>
  coreai.output %t : tensor<2x4xf16>
}

// -----

coreai.graph @third(%x: tensor<2xf16>) -> tensor<2xf32> {
  coreai.output %x : tensor<2xf16>
}
