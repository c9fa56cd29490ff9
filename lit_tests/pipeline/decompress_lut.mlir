// `decompress` folds palettized weights (hand-written LUTs) into dense constants.
// RUN: coreai-opt %s --split-input-file -p decompress | filecheck %s

// 4-bit, one LUT for the whole tensor: entry k is k * 0.5 - 4.
// CHECK-LABEL: coreai.graph @per_tensor
// CHECK-NEXT:    %w = coreai.constant dense<{{\[}}[-4.000000e+00, -3.500000e+00, -3.000000e+00], [3.500000e+00, 3.000000e+00, -2.500000e+00]]> : tensor<2x3xf16>
coreai.graph @per_tensor() -> tensor<2x3xf16> {
  %i = coreai.constant dense<[[0, 1, 2], [15, 14, 3]]> : tensor<2x3xui4>
  %l = coreai.constant dense<[[[[-4.0], [-3.5], [-3.0], [-2.5], [-2.0], [-1.5], [-1.0], [-0.5], [0.0], [0.5], [1.0], [1.5], [2.0], [2.5], [3.0], [3.5]]]]> : tensor<1x1x16x1xf16>
  %a = coreai.constant dense<0> : tensor<si16>
  %w = coreai.lut_to_dense %i, %l, %a : (tensor<2x3xui4>, tensor<1x1x16x1xf16>, tensor<si16>) -> tensor<2x3xf16>
  coreai.output %w : tensor<2x3xf16>
}

// -----

// The same indices from a packed ui4 resource ([0, 1, 2, 15, 14, 3] = 0x10 0xF2 0x3E).
// CHECK-LABEL: coreai.graph @packed_indices
// CHECK-NEXT:    %w = coreai.constant dense<{{\[}}[-4.000000e+00, -3.500000e+00, -3.000000e+00], [3.500000e+00, 3.000000e+00, -2.500000e+00]]> : tensor<2x3xf16>
coreai.graph @packed_indices() -> tensor<2x3xf16> {
  %i = coreai.constant dense_resource<idx> : tensor<2x3xui4>
  %l = coreai.constant dense<[[[[-4.0], [-3.5], [-3.0], [-2.5], [-2.0], [-1.5], [-1.0], [-0.5], [0.0], [0.5], [1.0], [1.5], [2.0], [2.5], [3.0], [3.5]]]]> : tensor<1x1x16x1xf16>
  %a = coreai.constant dense<0> : tensor<si16>
  %w = coreai.lut_to_dense %i, %l, %a : (tensor<2x3xui4>, tensor<1x1x16x1xf16>, tensor<si16>) -> tensor<2x3xf16>
  coreai.output %w : tensor<2x3xf16>
}
{-#
  dialect_resources: {
    builtin: {
      idx: "0x0100000010F23E"
    }
  }
#-}

// -----

// Per-grouped-channel: rows 0-1 use LUT [1, 2], rows 2-3 use LUT [10, 20].
// CHECK-LABEL: coreai.graph @grouped
// CHECK-NEXT:    %w = coreai.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [2.000000e+00, 2.000000e+00], [1.000000e+01, 2.000000e+01], [2.000000e+01, 1.000000e+01]]> : tensor<4x2xf32>
coreai.graph @grouped() -> tensor<4x2xf32> {
  %i = coreai.constant dense<[[0, 1], [1, 1], [0, 1], [1, 0]]> : tensor<4x2xui1>
  %l = coreai.constant dense<[[[[1.0], [2.0]]], [[[10.0], [20.0]]]]> : tensor<2x1x2x1xf32>
  %a = coreai.constant dense<0> : tensor<si16>
  %w = coreai.lut_to_dense %i, %l, %a : (tensor<4x2xui1>, tensor<2x1x2x1xf32>, tensor<si16>) -> tensor<4x2xf32>
  coreai.output %w : tensor<4x2xf32>
}

// -----

// Vector palettization (V = 2): entry 0 = (1, 2), entry 1 = (3, 4); each vector runs along
// the axis operand.
// CHECK-LABEL: coreai.graph @vector
// CHECK-NEXT:    %rows = coreai.constant dense<{{\[}}[1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00], [3.000000e+00, 1.000000e+00], [4.000000e+00, 2.000000e+00]]> : tensor<4x2xf16>
// CHECK-NEXT:    %cols = coreai.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00], [3.000000e+00, 4.000000e+00, 1.000000e+00, 2.000000e+00]]> : tensor<2x4xf16>
coreai.graph @vector() -> (tensor<4x2xf16>, tensor<2x4xf16>) {
  %i = coreai.constant dense<[[0, 1], [1, 0]]> : tensor<2x2xui1>
  %l = coreai.constant dense<[[[[1.0, 2.0], [3.0, 4.0]]]]> : tensor<1x1x2x2xf16>
  %a0 = coreai.constant dense<0> : tensor<si16>
  %a1 = coreai.constant dense<-1> : tensor<si16>
  %rows = coreai.lut_to_dense %i, %l, %a0 : (tensor<2x2xui1>, tensor<1x1x2x2xf16>, tensor<si16>) -> tensor<4x2xf16>
  %cols = coreai.lut_to_dense %i, %l, %a1 : (tensor<2x2xui1>, tensor<1x1x2x2xf16>, tensor<si16>) -> tensor<2x4xf16>
  coreai.output %rows, %cols : tensor<4x2xf16>, tensor<2x4xf16>
}

// -----

// An int8 LUT dequantized by blockwise_shift_scale: both fold.
// CHECK-LABEL: coreai.graph @quantized_lut
// CHECK-NEXT:    %w = coreai.constant dense<[-1.280000e+01, 0.000000e+00, 1.270000e+01, 1.000000e-01]> : tensor<4xf32>
coreai.graph @quantized_lut() -> tensor<4xf32> {
  %i = coreai.constant dense<[0, 1, 2, 3]> : tensor<4xui2>
  %l = coreai.constant dense<[[[-128], [0], [127], [1]]]> : tensor<1x4x1xsi8>
  %a = coreai.constant dense<0> : tensor<si16>
  %q = coreai.lut_to_dense %i, %l, %a : (tensor<4xui2>, tensor<1x4x1xsi8>, tensor<si16>) -> tensor<4xsi8>
  %scale = coreai.constant dense<0.1> : tensor<1xf32>
  %zp = coreai.constant dense<0> : tensor<1xsi8>
  %bias = coreai.constant dense<0.0> : tensor<1xf32>
  %w = coreai.blockwise_shift_scale %q, %scale, %zp, %bias : (tensor<4xsi8>, tensor<1xf32>, tensor<1xsi8>, tensor<1xf32>) -> tensor<4xf32>
  coreai.output %w : tensor<4xf32>
}
