// Weights holding NaN or +-inf are never compressed: every pass skips them with a warning
// naming the constant and leaves them as they are; f64 weights are skipped too.

// RUN: coreai-opt %s -p "palettize<weight_num_threshold=0>" 2>&1 | filecheck %s --check-prefix=PAL
// PAL: non_finite_weights.mlir:19:5: warning: skipping constant 'w' (tensor<2x4xf16>): holds 1 NaN and 1 -inf values (non-finite weights are never compressed)
// PAL: %w = coreai.constant dense<{{\[\[}}0x7E00, 1.000000e+00, 0xFC00, 5.000000e-01]
// PAL-NOT: lut_to_dense

// RUN: coreai-opt %s -p "quantize<weight_num_threshold=0>" 2>&1 >/dev/null | filecheck %s --check-prefix=QUANT
// QUANT-DAG: non_finite_weights.mlir:19:5: warning: skipping constant 'w' (tensor<2x4xf16>): holds 1 NaN and 1 -inf values
// QUANT-DAG: non_finite_weights.mlir:23:5: warning: skipping constant 'v' (tensor<2x4xf64>): f64 weights are not compressed: Core AI's compression ops have no f64 form

// RUN: coreai-opt %s -p "sparsify<weight_num_threshold=0>" --mlir-pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=SPARSE
// SPARSE: warning: skipping constant 'w' (tensor<2x4xf16>): holds 1 NaN and 1 -inf values
// SPARSE: 2 constants-skipped

module {
  coreai.graph @main(%x: tensor<1x4xf16>, %x64: tensor<1x4xf64>) -> (tensor<1x2xf16>, tensor<1x2xf64>) {
    %w = coreai.constant dense<[[0x7E00, 1.0, 0xFC00, 0.5], [1.0, 2.0, 3.0, 4.0]]> : tensor<2x4xf16>
    %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>
    %wt = coreai.transpose %w, %perm : (tensor<2x4xf16>, tensor<2xui32>) -> tensor<4x2xf16>
    %y = coreai.batch_matmul %x, %wt : (tensor<1x4xf16>, tensor<4x2xf16>) -> tensor<1x2xf16>
    %v = coreai.constant dense<[[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]]> : tensor<2x4xf64>
    %vt = coreai.transpose %v, %perm : (tensor<2x4xf64>, tensor<2xui32>) -> tensor<4x2xf64>
    %z = coreai.batch_matmul %x64, %vt : (tensor<1x4xf64>, tensor<4x2xf64>) -> tensor<1x2xf64>
    coreai.output %y, %z : tensor<1x2xf16>, tensor<1x2xf64>
  }
}
