// `coreai-opt run` and `coreai-opt compare` on a two-op program (Apple's syntax).
// RUN: coreai-opt run %s --random-inputs 1 | filecheck %s --check-prefix=SUMMARY
// RUN: coreai-opt compare %s %s --random-inputs 3 | filecheck %s --check-prefix=SAME
// RUN: coreai-opt %s -p "cast-to-fp16" -o %t.mlir
// RUN: coreai-opt compare %s %t.mlir --json | filecheck %s --check-prefix=JSON
// RUN: not coreai-opt run %s --graph nope 2>&1 | filecheck %s --check-prefix=ERR

// SUMMARY-LABEL: y  2x3  float32  mean
// SUMMARY-NOT: y
// SAME: output  shape  SNR dB    cosine  max abs err
// SAME-NEXT: y       2x3       inf  1.000000            0
// SAME-NEXT: (3 input samples)
// JSON: "samples": 1
// JSON: "name": "y"
// JSON: "snr_db": {{[0-9.]+}},
// ERR: error: no graph @nope in the program (graphs: @main)

module {
  coreai.graph @main(%x: tensor<2x3xf32> {coreai.name = "x"}) -> (tensor<2x3xf32> {coreai.name = "y"}) {
    %w = coreai.constant dense<[[0.5, -1.0, 2.0], [1.5, 0.25, -0.125]]> : tensor<2x3xf32>
    %m = coreai.decomposable.broadcasting_mul %x, %w : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %r = coreai.gelu %m approximate = <tanh> : tensor<2x3xf32> -> tensor<2x3xf32>
    coreai.output %r : tensor<2x3xf32>
  }
}
