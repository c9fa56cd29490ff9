// FP8, MXFP8 and MXFP4 quantization of a 32x2048 weight.

// RUN: python -m coreai_opt.synthetic --layer w0=32x2048 > %t.mlir

// RUN: coreai-opt %t.mlir -p "quantize<dtype=fp8_e4m3fn>" | filecheck %s --check-prefix=FP8
// FP8: %w0_zero_point = coreai.constant dense<0.000000e+00> : tensor<32x1xf8E4M3FN>
// FP8: coreai.blockwise_shift_scale {{.*}} : (tensor<32x2048xf8E4M3FN>, tensor<32x1xf16>, tensor<32x1xf8E4M3FN>, tensor<32x1xf16>) -> tensor<32x2048xf16>

// RUN: coreai-opt %t.mlir -p "quantize<dtype=fp8_e5m2,granularity=per_block,scale_dtype=fp8_e8m0fnu>" | filecheck %s --check-prefix=MXFP8
// MXFP8: coreai.blockwise_shift_scale {{.*}} : (tensor<32x2048xf8E5M2>, tensor<32x64xf8E8M0FNU>, tensor<32x64xf8E5M2>, tensor<32x64xf16>) -> tensor<32x2048xf16>

// RUN: coreai-opt %t.mlir -p "quantize<dtype=fp4_e2m1fn,granularity=per_block,block_size=32>" | filecheck %s --check-prefix=MXFP4
// MXFP4: %w0_data = coreai.constant dense_resource<w0_data> : tensor<32x2048xf4E2M1FN>
// MXFP4: coreai.blockwise_shift_scale {{.*}} : (tensor<32x2048xf4E2M1FN>, tensor<32x64xf8E8M0FNU>, tensor<32x64xf4E2M1FN>, tensor<32x64xf16>) -> tensor<32x2048xf16>

// Decompressing gives back one dense f16 constant per weight.
// RUN: coreai-opt %t.mlir -p "quantize<dtype=fp4_e2m1fn,granularity=per_block>,decompress" | filecheck %s --check-prefix=ROUND
// ROUND: %w0 = coreai.constant dense_resource<w0> : tensor<32x2048xf16>
// ROUND-NOT: blockwise_shift_scale
