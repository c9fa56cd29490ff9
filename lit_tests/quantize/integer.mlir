// Integer quantization of a 32x2048 PyTorch-layout weight (transpose -> matmul y: output
// axis 0, input axis 1), per dtype and granularity. The input is a seeded synthetic module.

// RUN: python -m coreai_opt.synthetic --layer w0=32x2048 > %t.mlir

// RUN: coreai-opt %t.mlir -p "quantize<dtype=int8>" | filecheck %s --check-prefix=INT8-CHANNEL
// INT8-CHANNEL:      %w0_data = coreai.constant dense_resource<w0_data> : tensor<32x2048xsi8>
// INT8-CHANNEL-NEXT: %w0_scale = coreai.constant dense_resource<w0_scale> : tensor<32x1xf16>
// INT8-CHANNEL-NEXT: %w0_zero_point = coreai.constant dense<0> : tensor<32x1xsi8>
// INT8-CHANNEL-NEXT: %w0_offset = coreai.constant dense<0.000000e+00> : tensor<32x1xf16>
// INT8-CHANNEL-NEXT: %w0 = coreai.blockwise_shift_scale %w0_data, %w0_scale, %w0_zero_point, %w0_offset : (tensor<32x2048xsi8>, tensor<32x1xf16>, tensor<32x1xsi8>, tensor<32x1xf16>) -> tensor<32x2048xf16>
// INT8-CHANNEL-NEXT: %w0_t = coreai.transpose %w0, %perm

// RUN: coreai-opt %t.mlir -p "quantize<dtype=int4,granularity=per_block,block_size=32>" | filecheck %s --check-prefix=INT4-BLOCK
// INT4-BLOCK: coreai.blockwise_shift_scale {{.*}} : (tensor<32x2048xsi4>, tensor<32x64xf16>, tensor<32x64xsi4>, tensor<32x64xf16>) -> tensor<32x2048xf16>

// RUN: coreai-opt %t.mlir -p "quantize<dtype=uint8,qscheme=asymmetric,granularity=per_tensor>" | filecheck %s --check-prefix=UINT8-TENSOR
// UINT8-TENSOR: coreai.blockwise_shift_scale {{.*}} : (tensor<32x2048xui8>, tensor<1x1xf16>, tensor<1x1xui8>, tensor<1x1xf16>) -> tensor<32x2048xf16>

// RUN: coreai-opt %t.mlir -p "quantize<dtype=uint4>" | filecheck %s --check-prefix=UINT4-SYM
// UINT4-SYM: %w0_zero_point = coreai.constant dense<7> : tensor<32x1xui4>

// RUN: coreai-opt %t.mlir -p "quantize<dtype=int2,granularity=per_grouped_channel,block_size=16>" | filecheck %s --check-prefix=INT2-GROUPED
// INT2-GROUPED: coreai.blockwise_shift_scale {{.*}} : (tensor<32x2048xsi2>, tensor<2x1xf16>, tensor<2x1xsi2>, tensor<2x1xf16>) -> tensor<32x2048xf16>

// The statistics count the compressed constant and its bytes (65536 f16 = 131072 bytes;
// int4 data 32768 + scales 4096 + splat zero point 1 + splat offset 2).
// RUN: coreai-opt %t.mlir -p "quantize<dtype=int4,granularity=per_block>" --mlir-pass-statistics -o /dev/null 2>&1 | filecheck %s --check-prefix=STATS
// STATS:      quantize
// STATS-NEXT:   (S) 1 constants-compressed
// STATS-NEXT:   (S) 131072 bytes-before
// STATS-NEXT:   (S) 36867 bytes-after
