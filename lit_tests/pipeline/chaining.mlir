// Chaining: after `sparsify`, `palettize` and `quantize` compress the values that feed
// `build_sparse_with_bitmask` (per tensor, over the non-zeros only), never the dense weight.
// RUN: coreai-opt %s -p "sparsify<n_m_ratio=(1,2),weight_num_threshold=7>,palettize<n_bits=1,weight_num_threshold=7>" | filecheck %s --check-prefix=PAL
// RUN: coreai-opt %s -p "sparsify<n_m_ratio=(1,2),weight_num_threshold=7>,quantize<weight_num_threshold=7>" | filecheck %s --check-prefix=QUANT
// RUN: coreai-opt %s -p "sparsify<n_m_ratio=(1,2),weight_num_threshold=7>,quantize<weight_num_threshold=7>" --mlir-pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS

// 1:2 along the input axis keeps -8, 3, 5, 7 (mask 0110 1001). Two clusters: {-8} and
// {3, 5, 7}, centred on -8 and 5; the indices 0, 1, 1, 1 pack into 0x0E.
// PAL-LABEL: coreai.graph @main
// PAL-NEXT:    %w_values_indices = coreai.constant dense_resource<w_values_indices> : tensor<4xui1>
// PAL-NEXT:    %w_values_lut = coreai.constant dense<{{\[\[\[}}-8.000000e+00], [5.000000e+00]]]> : tensor<1x2x1xf16>
// PAL-NEXT:    %w_values_axis = coreai.constant dense<0> : tensor<si16>
// PAL-NEXT:    %w_values = coreai.lut_to_dense %w_values_indices, %w_values_lut, %w_values_axis : (tensor<4xui1>, tensor<1x2x1xf16>, tensor<si16>) -> tensor<4xf16>
// PAL-NEXT:    %w_mask = coreai.constant dense_resource<w_mask> : tensor<2x4xui1>
// PAL-NEXT:    %w_sparse = coreai.build_sparse_with_bitmask %w_values, %w_mask : (tensor<4xf16>, tensor<2x4xui1>) -> !coreai.sparse<tensor<2x4xf16>>
// PAL-NEXT:    %w = coreai.sparse_with_bitmask_to_dense %w_sparse : (!coreai.sparse<tensor<2x4xf16>>) -> tensor<2x4xf16>
// PAL-NEXT:    %y = coreai.batch_matmul %x, %w
// PAL:         w_values_indices: "0x010000000E",
// PAL-NEXT:    w_mask: "0x0100000096"

// One scale for the values, 8 / 127 (0.06299 in f16): codes -127, 48, 79, 111.
// QUANT-LABEL: coreai.graph @main
// QUANT-NEXT:    %w_values_data = coreai.constant dense<[-127, 48, 79, 111]> : tensor<4xsi8>
// QUANT-NEXT:    %w_values_scale = coreai.constant dense<6.298830e-02> : tensor<1xf16>
// QUANT-NEXT:    %w_values_zero_point = coreai.constant dense<0> : tensor<1xsi8>
// QUANT-NEXT:    %w_values_offset = coreai.constant dense<0.000000e+00> : tensor<1xf16>
// QUANT-NEXT:    %w_values = coreai.blockwise_shift_scale %w_values_data, %w_values_scale, %w_values_zero_point, %w_values_offset : (tensor<4xsi8>, tensor<1xf16>, tensor<1xsi8>, tensor<1xf16>) -> tensor<4xf16>
// QUANT-NEXT:    %w_mask = coreai.constant dense_resource<w_mask> : tensor<2x4xui1>
// QUANT-NEXT:    %w_sparse = coreai.build_sparse_with_bitmask %w_values, %w_mask

// sparsify prunes 4 of 8 weights (16 bytes -> 8 bytes of values + 1 of mask); quantize
// then stores the 4 values in 4 bytes plus a 2-byte scale, a 1-byte zero point and a 2-byte
// offset.
// STATS:      sparsify
// STATS-NEXT:   (S) {{ *}}4 weights-pruned - Weights pruned
// STATS-NEXT:   (S) {{ *}}1 constants-compressed
// STATS-NEXT:   (S) {{ *}}16 bytes-before
// STATS-NEXT:   (S) {{ *}}9 bytes-after
// STATS-NEXT: quantize
// STATS-NEXT:   (S) {{ *}}1 constants-compressed
// STATS-NEXT:   (S) {{ *}}8 bytes-before
// STATS-NEXT:   (S) {{ *}}9 bytes-after

coreai.graph @main(%x: tensor<1x2xf16>) -> tensor<1x4xf16> {
  %w = coreai.constant dense<[[1.0, -8.0, 3.0, 4.0], [5.0, 6.0, -2.0, 7.0]]> : tensor<2x4xf16>
  %y = coreai.batch_matmul %x, %w : (tensor<1x2xf16>, tensor<2x4xf16>) -> tensor<1x4xf16>
  coreai.output %y : tensor<1x4xf16>
}
