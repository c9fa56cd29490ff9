// `quantize<algorithm=mse>` and `quantize<sparse_scale=per_channel>` (quantization.md).
// RUN: coreai-opt %s --split-input-file -p "quantize<dtype=int4,qscheme=asymmetric,algorithm=mse,weight_num_threshold=8>" | filecheck %s --check-prefix=MSE
// RUN: coreai-opt %s --split-input-file -p "quantize<dtype=int4,qscheme=asymmetric,algorithm=mse,weight_num_threshold=8>,decompress" | filecheck %s --check-prefix=DENSE
// RUN: coreai-opt %s --split-input-file -p "sparsify<weight_num_threshold=7>,quantize<dtype=int8,sparse_scale=per_channel,weight_num_threshold=3>" | filecheck %s --check-prefix=SPARSE

// Row 0 holds 16 evenly spaced values from 1 to 2.875, none of them 0: min/max RTN has to
// include 0 in its range (step 0.19), the search fits step 0.125 and offset 2.0 exactly,
// codes -8..7 (packed two per byte, low nibble first), zero points one splat of 0.
// MSE-LABEL: coreai.graph @transpose
// MSE:         %w_data = coreai.constant dense_resource<w_data> : tensor<2x16xsi4>
// MSE-NEXT:    %w_scale = coreai.constant dense<[[1.250000e-01], [{{.*}}]]> : tensor<2x1xf16>
// MSE-NEXT:    %w_zero_point = coreai.constant dense<0> : tensor<2x1xsi4>
// MSE-NEXT:    %w_offset = coreai.constant dense<[[2.000000e+00], [{{.*}}]]> : tensor<2x1xf16>
// MSE-NEXT:    %w = coreai.blockwise_shift_scale %w_data, %w_scale, %w_zero_point, %w_offset
// MSE:         w_data: "0x0100000098BADCFE10325476
// DENSE-LABEL: coreai.graph @transpose
// DENSE:         w: "0x02000000003C803C003D803D003E803E003F803F004040408040C040004140418041C041
coreai.graph @transpose(%x: tensor<1x16xf16>) -> tensor<1x2xf16> {
  %w = coreai.constant dense<[[1.0, 1.125, 1.25, 1.375, 1.5, 1.625, 1.75, 1.875, 2.0, 2.125, 2.25, 2.375, 2.5, 2.625, 2.75, 2.875], [0.5, -0.5, 0.25, -0.25, 0.75, -0.75, 0.0, 0.125, 0.5, -0.5, 0.25, -0.25, 0.75, -0.75, 0.0, 0.125]]> : tensor<2x16xf16>
  %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>
  %wt = coreai.transpose %w, %perm : (tensor<2x16xf16>, tensor<2xui32>) -> tensor<16x2xf16>
  %y = coreai.batch_matmul %x, %wt : (tensor<1x16xf16>, tensor<16x2xf16>) -> tensor<1x2xf16>
  coreai.output %y : tensor<1x2xf16>
}

// -----

// matmul y [K, N]: output channels are the columns. 50% keeps -8, 5, 6, 7 (mask 0100 1101,
// 0xB2 least significant bit first). Column scales max|w| / 127: 5, 8, none (1), 7; codes
// -8 -> -127, 5 -> 127, 6 / (8/127) = 95.25 -> 95, 7 -> 127 stay sparse as si8, and the
// scale multiplies after densifying (a pruned position decodes to (0 - 0) * s + 0 = 0).
// SPARSE-LABEL: coreai.graph @matmul_y
// SPARSE-NEXT:    %w_mask = coreai.constant dense_resource<w_mask> : tensor<2x4xui1>
// SPARSE-NEXT:    %w_values_data = coreai.constant dense<[-127, 127, 95, 127]> : tensor<4xsi8>
// SPARSE-NEXT:    %w_sparse = coreai.build_sparse_with_bitmask %w_values_data, %w_mask : (tensor<4xsi8>, tensor<2x4xui1>) -> !coreai.sparse<tensor<2x4xsi8>>
// SPARSE-NEXT:    %w_values_dense = coreai.sparse_with_bitmask_to_dense %w_sparse : (!coreai.sparse<tensor<2x4xsi8>>) -> tensor<2x4xsi8>
// SPARSE-NEXT:    %w_values_scale = coreai.constant dense<[[{{.*}}, {{.*}}, 1.000000e+00, {{.*}}]]> : tensor<1x4xf16>
// SPARSE-NEXT:    %w_values_zero_point = coreai.constant dense<0> : tensor<1x4xsi8>
// SPARSE-NEXT:    %w_values_offset = coreai.constant dense<0.000000e+00> : tensor<1x4xf16>
// SPARSE-NEXT:    %w = coreai.blockwise_shift_scale %w_values_dense, %w_values_scale, %w_values_zero_point, %w_values_offset : (tensor<2x4xsi8>, tensor<1x4xf16>, tensor<1x4xsi8>, tensor<1x4xf16>) -> tensor<2x4xf16>
// SPARSE-NEXT:    %y = coreai.batch_matmul %x, %w
// SPARSE:         w_mask: "0x01000000B2"
coreai.graph @matmul_y(%x: tensor<1x2xf16>) -> tensor<1x4xf16> {
  %w = coreai.constant dense<[[1.0, -8.0, 3.0, 4.0], [5.0, 6.0, -2.0, 7.0]]> : tensor<2x4xf16>
  %y = coreai.batch_matmul %x, %w : (tensor<1x2xf16>, tensor<2x4xf16>) -> tensor<1x4xf16>
  coreai.output %y : tensor<1x4xf16>
}
