// On an error the output file is neither created nor overwritten.
// RUN: echo "previous contents" > %t
// RUN: not coreai-opt %s -o %t 2>&1 | filecheck %s
// RUN: filecheck %s --input-file %t --check-prefix=KEPT
// RUN: rm -f %t.new
// RUN: not coreai-opt %s -o %t.new
// RUN: not ls %t.new

// CHECK: output_on_error.mlir:13:3: error: 'coreai.cast' op cast must keep the shape: [2] vs [3]
// KEPT:  previous contents

coreai.graph @main(%x: tensor<2xf32>) -> tensor<3xf16> {
  %y = coreai.cast %x : tensor<2xf32> to tensor<3xf16>
  coreai.output %y : tensor<3xf16>
}
