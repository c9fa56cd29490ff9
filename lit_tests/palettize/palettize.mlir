// palettize: ui<n> indices + LUT [G..., 2^n, V] -> lut_to_dense, on a 32x2048 weight whose
// output axis is 0 (transpose -> matmul y).
// RUN: python -m coreai_opt.synthetic --layer w0=32x2048 > %t.mlir

// RUN: coreai-opt %t.mlir -p "palettize<n_bits=4>" | filecheck %s --check-prefix=TENSOR
// TENSOR:      %w0_indices = coreai.constant dense_resource<w0_indices> : tensor<32x2048xui4>
// TENSOR-NEXT: %w0_lut = coreai.constant dense<{{.*}}> : tensor<1x1x16x1xf16>
// TENSOR-NEXT: %w0_axis = coreai.constant dense<0> : tensor<si16>
// TENSOR-NEXT: %w0 = coreai.lut_to_dense %w0_indices, %w0_lut, %w0_axis : (tensor<32x2048xui4>, tensor<1x1x16x1xf16>, tensor<si16>) -> tensor<32x2048xf16>
// TENSOR-NEXT: %w0_t = coreai.transpose %w0, %perm

// RUN: coreai-opt %t.mlir -p "palettize<n_bits=4,granularity=per_channel>" | filecheck %s --check-prefix=CHANNEL
// CHANNEL: coreai.lut_to_dense {{.*}} : (tensor<32x2048xui4>, tensor<32x1x16x1xf16>, tensor<si16>) -> tensor<32x2048xf16>

// RUN: coreai-opt %t.mlir -p "palettize<n_bits=4,granularity=per_grouped_channel,group_size=16>" | filecheck %s --check-prefix=GROUPED
// GROUPED: coreai.lut_to_dense {{.*}} : (tensor<32x2048xui4>, tensor<2x1x16x1xf16>, tensor<si16>) -> tensor<32x2048xf16>

// 3- and 6-bit indices (Apple's implementation crashes on 3 bits).
// RUN: coreai-opt %t.mlir -p "palettize<n_bits=3>" | filecheck %s --check-prefix=THREE
// THREE: coreai.lut_to_dense {{.*}} : (tensor<32x2048xui3>, tensor<1x1x8x1xf16>, tensor<si16>) -> tensor<32x2048xf16>
// RUN: coreai-opt %t.mlir -p "palettize<n_bits=6>" | filecheck %s --check-prefix=SIX
// SIX: coreai.lut_to_dense {{.*}} : (tensor<32x2048xui6>, tensor<1x1x64x1xf16>, tensor<si16>) -> tensor<32x2048xf16>

// Vector palettization: 2 consecutive output channels share an entry.
// RUN: coreai-opt %t.mlir -p "palettize<n_bits=4,cluster_dim=2>" | filecheck %s --check-prefix=VECTOR
// VECTOR: coreai.lut_to_dense {{.*}} : (tensor<16x2048xui4>, tensor<1x1x16x2xf16>, tensor<si16>) -> tensor<32x2048xf16>

// Per-channel scale: a blockwise_shift_scale with one scale per output channel.
// RUN: coreai-opt %t.mlir -p "palettize<n_bits=4,enable_per_channel_scale=true>" | filecheck %s --check-prefix=PCS
// PCS:      %w0_expanded = coreai.lut_to_dense {{.*}} -> tensor<32x2048xf16>
// PCS:      %w0_channel_scale = coreai.constant dense_resource<w0_channel_scale> : tensor<32x1xf16>
// PCS:      %w0 = coreai.blockwise_shift_scale %w0_expanded, %w0_channel_scale, {{.*}} : (tensor<32x2048xf16>, tensor<32x1xf16>, tensor<32x1xf16>, tensor<32x1xf16>) -> tensor<32x2048xf16>

// Quantized LUT entries: one scale per LUT (32 LUTs per channel -> 32x1 scales).
// RUN: coreai-opt %t.mlir -p "palettize<n_bits=4,granularity=per_channel,lut_dtype=int8>" | filecheck %s --check-prefix=LUT-INT8
// LUT-INT8:      %w0_lut = coreai.constant dense_resource<w0_lut> : tensor<32x1x16x1xsi8>
// LUT-INT8:      %w0_expanded = coreai.lut_to_dense {{.*}} : (tensor<32x2048xui4>, tensor<32x1x16x1xsi8>, tensor<si16>) -> tensor<32x2048xsi8>
// LUT-INT8:      %w0_lut_scale = coreai.constant dense_resource<w0_lut_scale> : tensor<32x1xf16>
// LUT-INT8:      %w0 = coreai.blockwise_shift_scale %w0_expanded, %w0_lut_scale, {{.*}} : (tensor<32x2048xsi8>, tensor<32x1xf16>, tensor<32x1xsi8>, tensor<32x1xf16>) -> tensor<32x2048xf16>
// RUN: coreai-opt %t.mlir -p "palettize<n_bits=2,granularity=per_grouped_channel,group_size=8,lut_dtype=fp8_e4m3fn>" | filecheck %s --check-prefix=LUT-FP8
// LUT-FP8: coreai.blockwise_shift_scale {{.*}} : (tensor<32x2048xf8E4M3FN>, tensor<4x1xf16>, tensor<4x1xf8E4M3FN>, tensor<4x1xf16>) -> tensor<32x2048xf16>

// Errors name the option and list the choices.
// RUN: not coreai-opt %t.mlir -p "palettize<n_bits=5>" 2>&1 | filecheck %s --check-prefix=NBITS
// NBITS: error: pass 'palettize': option 'n_bits' must be one of [1, 2, 3, 4, 6, 8], got '5'
// RUN: not coreai-opt %t.mlir -p "palettize<cluster_dim=2,enable_per_channel_scale=true>" 2>&1 | filecheck %s --check-prefix=PCS-VECTOR
// PCS-VECTOR: error: pass 'palettize': `enable_per_channel_scale=True` is not supported with `cluster_dim > 1`.

// decompress folds the whole chain back into one dense constant.
// RUN: coreai-opt %t.mlir -p "palettize<n_bits=4,granularity=per_channel,lut_dtype=uint8,enable_per_channel_scale=true>,decompress" | filecheck %s --check-prefix=DENSE
// DENSE: %w0 = coreai.constant dense_resource<w0> : tensor<32x2048xf16>
// DENSE-NOT: lut_to_dense
