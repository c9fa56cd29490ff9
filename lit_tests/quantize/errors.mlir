// Bad quantize options: one line naming the pass, the option and the valid choices.
// RUN: python -m coreai_opt.synthetic --layer w0=32x2048 > %t.mlir

// RUN: not coreai-opt %t.mlir -p "quantize<dtype=int3>" 2>&1 | filecheck %s --check-prefix=DTYPE
// DTYPE: error: pass 'quantize': option 'dtype' must be one of [int2, uint2, int4, uint4, int8, uint8, fp8_e4m3fn, fp8_e5m2, fp4_e2m1fn], got 'int3'

// RUN: not coreai-opt %t.mlir -p "quantize<dtype=fp4_e2m1fn>" 2>&1 | filecheck %s --check-prefix=FP4
// FP4: error: pass 'quantize': DType.FP4_E2M1FN requires granularity=CompressionGranularity.PER_BLOCK

// RUN: not coreai-opt %t.mlir -p "quantize<block_size=x>" -o %t.out 2>&1 | filecheck %s --check-prefix=TYPE
// RUN: not test -e %t.out
// TYPE: error: pass 'quantize': option 'block_size' expects an integer, got 'x'

// A weight whose input dim is not divisible by the block size is skipped with a warning.
// RUN: coreai-opt %t.mlir -p "quantize<dtype=int4,granularity=per_block,block_size=48>" 2>&1 >/dev/null | filecheck %s --check-prefix=SKIP
// SKIP: warning: skipping constant 'w0' (tensor<32x2048xf16>): dim 1 (2048) is not divisible by block size 48
