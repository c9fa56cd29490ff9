// Weights at the f16 maximum (issue 15): scales are lowered until every code decompresses
// to a finite value (127 x 516 = 65532 overflowed f16; 127 x 515.5 = 65468.5 does not).

// RUN: coreai-opt %s -p "quantize<dtype=int8,weight_num_threshold=0>" | filecheck %s --check-prefix=SCALE
// SCALE: %w_data = coreai.constant dense<{{\[\[}}127, 0, 0, 0], [32, 64, 95, 127]]> : tensor<2x4xsi8>
// SCALE: %w_scale = coreai.constant dense<{{\[\[}}5.155000e+02], [3.149410e-02]]> : tensor<2x1xf16>

// RUN: coreai-opt %s -p "quantize<dtype=int8,weight_num_threshold=0>,decompress" | filecheck %s --check-prefix=INT8
// INT8: %w = coreai.constant dense<{{\[\[}}6.547200e+04, 0.000000e+00, 0.000000e+00, 0.000000e+00], [1.007810e+00, 2.015630e+00, 2.992190e+00, 4.000000e+00]]> : tensor<2x4xf16>

// An int8 LUT once decoded 65504 to inf, and the weight then took the entry 0.
// RUN: coreai-opt %s -p "palettize<n_bits=2,lut_dtype=int8,weight_num_threshold=0>,decompress" | filecheck %s --check-prefix=LUT
// LUT: %w = coreai.constant dense<{{\[\[}}6.547200e+04,
// LUT-NOT: {{0x7[cC]00}}

module {
  coreai.graph @main(%x: tensor<1x4xf16>) -> tensor<1x2xf16> {
    %w = coreai.constant dense<[[6.550400e+04, 1.0, -2.0, 0.5], [1.0, 2.0, 3.0, 4.0]]> : tensor<2x4xf16>
    %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>
    %wt = coreai.transpose %w, %perm : (tensor<2x4xf16>, tensor<2xui32>) -> tensor<4x2xf16>
    %y = coreai.batch_matmul %x, %wt : (tensor<1x4xf16>, tensor<4x2xf16>) -> tensor<1x2xf16>
    coreai.output %y : tensor<1x2xf16>
  }
}
