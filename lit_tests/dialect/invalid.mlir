// Every verifier error of the coreai dialect, one per split, in file order (some at exact line:col).
// RUN: coreai-opt --split-input-file --verify-diagnostics %s | filecheck %s
// RUN: coreai-opt --split-input-file --verify-diagnostics %s | filecheck %s --check-prefix=NOMODULE
// RUN: not coreai-opt --split-input-file %s 2>&1 | filecheck %s --check-prefix=EVERY

// No split parses and verifies (each one prints an error instead of a module).
// NOMODULE-NOT: module {

// Without --verify-diagnostics every failing split is reported on stderr, as in mlir-opt.
// EVERY: invalid.mlir:15:3: error: 'coreai.blockwise_shift_scale' op scale dim 1 (4) must divide the data dim (6)
// EVERY-NEXT: invalid.mlir:23:3: error: 'coreai.blockwise_shift_scale' op scale dim 1 (0) must divide the data dim (6)

// CHECK: invalid.mlir:15:3: error: 'coreai.blockwise_shift_scale' op scale dim 1 (4) must divide the data dim (6)
coreai.graph @block_divisibility(%d: tensor<4x6xsi8>, %s: tensor<4x4xf16>, %o1: tensor<4x4xsi8>, %o2: tensor<4x4xf16>) -> tensor<4x6xf16> {
  %w = coreai.blockwise_shift_scale %d, %s, %o1, %o2 : (tensor<4x6xsi8>, tensor<4x4xf16>, tensor<4x4xsi8>, tensor<4x4xf16>) -> tensor<4x6xf16>
  coreai.output %w : tensor<4x6xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.blockwise_shift_scale' op scale dim 1 (0) must divide the data dim (6)
coreai.graph @zero_blocks(%d: tensor<4x6xsi8>, %s: tensor<4x0xf16>, %o1: tensor<4x0xsi8>, %o2: tensor<4x0xf16>) -> tensor<4x6xf16> {
  %w = coreai.blockwise_shift_scale %d, %s, %o1, %o2 : (tensor<4x6xsi8>, tensor<4x0xf16>, tensor<4x0xsi8>, tensor<4x0xf16>) -> tensor<4x6xf16>
  coreai.output %w : tensor<4x6xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.blockwise_shift_scale' op scale rank 1 must equal data rank 2
coreai.graph @rank_mismatch(%d: tensor<4x6xsi8>, %s: tensor<4xf16>, %o1: tensor<4xsi8>, %o2: tensor<4xf16>) -> tensor<4x6xf16> {
  %w = coreai.blockwise_shift_scale %d, %s, %o1, %o2 : (tensor<4x6xsi8>, tensor<4xf16>, tensor<4xsi8>, tensor<4xf16>) -> tensor<4x6xf16>
  coreai.output %w : tensor<4x6xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.blockwise_shift_scale' op offset1 element type ui8 must be the data's (si8)
coreai.graph @offset1_type(%d: tensor<4x6xsi8>, %s: tensor<4x1xf16>, %o1: tensor<4x1xui8>, %o2: tensor<4x1xf16>) -> tensor<4x6xf16> {
  %w = coreai.blockwise_shift_scale %d, %s, %o1, %o2 : (tensor<4x6xsi8>, tensor<4x1xf16>, tensor<4x1xui8>, tensor<4x1xf16>) -> tensor<4x6xf16>
  coreai.output %w : tensor<4x6xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.blockwise_shift_scale' op offset1 shape [4, 2] must equal scale shape [4, 1]
coreai.graph @offset1_shape(%d: tensor<4x6xsi8>, %s: tensor<4x1xf16>, %o1: tensor<4x2xsi8>, %o2: tensor<4x1xf16>) -> tensor<4x6xf16> {
  %w = coreai.blockwise_shift_scale %d, %s, %o1, %o2 : (tensor<4x6xsi8>, tensor<4x1xf16>, tensor<4x2xsi8>, tensor<4x1xf16>) -> tensor<4x6xf16>
  coreai.output %w : tensor<4x6xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.blockwise_shift_scale' op offset2 shape [1, 1] must equal scale shape [4, 1]
coreai.graph @offset2_shape(%d: tensor<4x6xsi8>, %s: tensor<4x1xf16>, %o1: tensor<4x1xsi8>, %o2: tensor<1x1xf16>) -> tensor<4x6xf16> {
  %w = coreai.blockwise_shift_scale %d, %s, %o1, %o2 : (tensor<4x6xsi8>, tensor<4x1xf16>, tensor<4x1xsi8>, tensor<1x1xf16>) -> tensor<4x6xf16>
  coreai.output %w : tensor<4x6xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.blockwise_shift_scale' op offset2 must have a float element type, got si8
coreai.graph @offset2_type(%d: tensor<4x6xsi8>, %s: tensor<4x1xf16>, %o1: tensor<4x1xsi8>, %o2: tensor<4x1xsi8>) -> tensor<4x6xsi8> {
  %w = coreai.blockwise_shift_scale %d, %s, %o1, %o2 : (tensor<4x6xsi8>, tensor<4x1xf16>, tensor<4x1xsi8>, tensor<4x1xsi8>) -> tensor<4x6xsi8>
  coreai.output %w : tensor<4x6xsi8>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.blockwise_shift_scale' op scale element type f32 must be f16 or f8E8M0FNU
coreai.graph @scale_type(%d: tensor<4x6xsi8>, %s: tensor<4x1xf32>, %o1: tensor<4x1xsi8>, %o2: tensor<4x1xf16>) -> tensor<4x6xf16> {
  %w = coreai.blockwise_shift_scale %d, %s, %o1, %o2 : (tensor<4x6xsi8>, tensor<4x1xf32>, tensor<4x1xsi8>, tensor<4x1xf16>) -> tensor<4x6xf16>
  coreai.output %w : tensor<4x6xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.blockwise_shift_scale' op result element type f32 must be offset2's (f16)
coreai.graph @bss_result_type(%d: tensor<4x6xsi8>, %s: tensor<4x1xf16>, %o1: tensor<4x1xsi8>, %o2: tensor<4x1xf16>) -> tensor<4x6xf32> {
  %w = coreai.blockwise_shift_scale %d, %s, %o1, %o2 : (tensor<4x6xsi8>, tensor<4x1xf16>, tensor<4x1xsi8>, tensor<4x1xf16>) -> tensor<4x6xf32>
  coreai.output %w : tensor<4x6xf32>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.blockwise_shift_scale' op result shape [6, 4] must equal data shape [4, 6]
coreai.graph @bss_result_shape(%d: tensor<4x6xsi8>, %s: tensor<4x1xf16>, %o1: tensor<4x1xsi8>, %o2: tensor<4x1xf16>) -> tensor<6x4xf16> {
  %w = coreai.blockwise_shift_scale %d, %s, %o1, %o2 : (tensor<4x6xsi8>, tensor<4x1xf16>, tensor<4x1xsi8>, tensor<4x1xf16>) -> tensor<6x4xf16>
  coreai.output %w : tensor<6x4xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.lut_to_dense' op indices must be ui1, ui2, ui3, ui4, ui6 or ui8, got si4
coreai.graph @indices_signed(%i: tensor<2x3xsi4>, %l: tensor<1x1x16x1xf16>, %a: tensor<si16>) -> tensor<2x3xf16> {
  %w = coreai.lut_to_dense %i, %l, %a : (tensor<2x3xsi4>, tensor<1x1x16x1xf16>, tensor<si16>) -> tensor<2x3xf16>
  coreai.output %w : tensor<2x3xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.lut_to_dense' op indices must be ui1, ui2, ui3, ui4, ui6 or ui8, got ui5
coreai.graph @indices_ui5(%i: tensor<2x3xui5>, %l: tensor<1x1x32x1xf16>, %a: tensor<si16>) -> tensor<2x3xf16> {
  %w = coreai.lut_to_dense %i, %l, %a : (tensor<2x3xui5>, tensor<1x1x32x1xf16>, tensor<si16>) -> tensor<2x3xf16>
  coreai.output %w : tensor<2x3xf16>
}

// -----

// CHECK: invalid.mlir:111:3: error: 'coreai.lut_to_dense' op lut must have rank 4 (indices rank + 2), got 3
coreai.graph @lut_rank(%i: tensor<2x3xui4>, %l: tensor<1x16x1xf16>, %a: tensor<si16>) -> tensor<2x3xf16> {
  %w = coreai.lut_to_dense %i, %l, %a : (tensor<2x3xui4>, tensor<1x16x1xf16>, tensor<si16>) -> tensor<2x3xf16>
  coreai.output %w : tensor<2x3xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.lut_to_dense' op lut must have 4 entries for ui2 indices, got 8
coreai.graph @lut_entries(%i: tensor<2x3xui2>, %l: tensor<1x1x8x1xf16>, %a: tensor<si16>) -> tensor<2x3xf16> {
  %w = coreai.lut_to_dense %i, %l, %a : (tensor<2x3xui2>, tensor<1x1x8x1xf16>, tensor<si16>) -> tensor<2x3xf16>
  coreai.output %w : tensor<2x3xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.lut_to_dense' op lut dim 1 (2) must divide the data dim (3)
coreai.graph @lut_blocks(%i: tensor<2x3xui4>, %l: tensor<1x2x16x1xf16>, %a: tensor<si16>) -> tensor<2x3xf16> {
  %w = coreai.lut_to_dense %i, %l, %a : (tensor<2x3xui4>, tensor<1x2x16x1xf16>, tensor<si16>) -> tensor<2x3xf16>
  coreai.output %w : tensor<2x3xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.lut_to_dense' op lut element type must be one of ui8, si8, f8E5M2, f8E4M3FN, bf16, f16, f32, got si16
coreai.graph @lut_element_type(%i: tensor<2x3xui4>, %l: tensor<1x1x16x1xsi16>, %a: tensor<si16>) -> tensor<2x3xsi16> {
  %w = coreai.lut_to_dense %i, %l, %a : (tensor<2x3xui4>, tensor<1x1x16x1xsi16>, tensor<si16>) -> tensor<2x3xsi16>
  coreai.output %w : tensor<2x3xsi16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.lut_to_dense' op lut element type must be one of ui8, si8, f8E5M2, f8E4M3FN, bf16, f16, f32, got ui4
coreai.graph @lut_sub_byte(%i: tensor<2x3xui4>, %l: tensor<1x1x16x1xui4>, %a: tensor<si16>) -> tensor<2x3xui4> {
  %w = coreai.lut_to_dense %i, %l, %a : (tensor<2x3xui4>, tensor<1x1x16x1xui4>, tensor<si16>) -> tensor<2x3xui4>
  coreai.output %w : tensor<2x3xui4>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.lut_to_dense' op axis must be tensor<si16>, got tensor<si32>
coreai.graph @axis_type(%i: tensor<2x3xui4>, %l: tensor<1x1x16x1xf16>, %a: tensor<si32>) -> tensor<2x3xf16> {
  %w = coreai.lut_to_dense %i, %l, %a : (tensor<2x3xui4>, tensor<1x1x16x1xf16>, tensor<si32>) -> tensor<2x3xf16>
  coreai.output %w : tensor<2x3xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.lut_to_dense' op axis must be tensor<si16>, got tensor<1xsi16>
coreai.graph @axis_rank(%i: tensor<2x3xui4>, %l: tensor<1x1x16x1xf16>, %a: tensor<1xsi16>) -> tensor<2x3xf16> {
  %w = coreai.lut_to_dense %i, %l, %a : (tensor<2x3xui4>, tensor<1x1x16x1xf16>, tensor<1xsi16>) -> tensor<2x3xf16>
  coreai.output %w : tensor<2x3xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.lut_to_dense' op result element type f32 must be the lut's (f16)
coreai.graph @lut_result_type(%i: tensor<2x3xui4>, %l: tensor<1x1x16x1xf16>, %a: tensor<si16>) -> tensor<2x3xf32> {
  %w = coreai.lut_to_dense %i, %l, %a : (tensor<2x3xui4>, tensor<1x1x16x1xf16>, tensor<si16>) -> tensor<2x3xf32>
  coreai.output %w : tensor<2x3xf32>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.lut_to_dense' op result shape [2, 6] must be [2, 3] (indices shape, axis dim times vector size 1)
coreai.graph @lut_result_shape(%i: tensor<2x3xui4>, %l: tensor<1x1x16x1xf16>, %a: tensor<si16>) -> tensor<2x6xf16> {
  %w = coreai.lut_to_dense %i, %l, %a : (tensor<2x3xui4>, tensor<1x1x16x1xf16>, tensor<si16>) -> tensor<2x6xf16>
  coreai.output %w : tensor<2x6xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.lut_to_dense' op result shape [2, 6] must be [4, 3] (indices shape, axis dim times vector size 2)
coreai.graph @lut_vector_shape(%i: tensor<2x3xui4>, %l: tensor<1x1x16x2xf16>) -> tensor<2x6xf16> {
  %a = coreai.constant dense<0> : tensor<si16>
  %w = coreai.lut_to_dense %i, %l, %a : (tensor<2x3xui4>, tensor<1x1x16x2xf16>, tensor<si16>) -> tensor<2x6xf16>
  coreai.output %w : tensor<2x6xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.build_sparse_with_bitmask' op values must be 1-D, got tensor<2x2xf16>
coreai.graph @values_rank(%v: tensor<2x2xf16>, %m: tensor<2x4xui1>) -> tensor<2x4xf16> {
  %s = coreai.build_sparse_with_bitmask %v, %m : (tensor<2x2xf16>, tensor<2x4xui1>) -> !coreai.sparse<tensor<2x4xf16>>
  %d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<2x4xf16>>) -> tensor<2x4xf16>
  coreai.output %d : tensor<2x4xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.build_sparse_with_bitmask' op values element type must be one of ui8, si8, f8E5M2, f8E4M3FN, bf16, f16, f32, got si16
coreai.graph @values_type(%v: tensor<4xsi16>, %m: tensor<2x4xui1>) -> tensor<2x4xsi16> {
  %s = coreai.build_sparse_with_bitmask %v, %m : (tensor<4xsi16>, tensor<2x4xui1>) -> !coreai.sparse<tensor<2x4xsi16>>
  %d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<2x4xsi16>>) -> tensor<2x4xsi16>
  coreai.output %d : tensor<2x4xsi16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.build_sparse_with_bitmask' op mask must have element type ui1, got tensor<2x4xui8>
coreai.graph @mask_type(%v: tensor<4xf16>, %m: tensor<2x4xui8>) -> tensor<2x4xf16> {
  %s = coreai.build_sparse_with_bitmask %v, %m : (tensor<4xf16>, tensor<2x4xui8>) -> !coreai.sparse<tensor<2x4xf16>>
  %d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<2x4xf16>>) -> tensor<2x4xf16>
  coreai.output %d : tensor<2x4xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.build_sparse_with_bitmask' op mask must have element type ui1, got tensor<2x4xi1>
coreai.graph @mask_signless(%v: tensor<4xf16>, %m: tensor<2x4xi1>) -> tensor<2x4xf16> {
  %s = coreai.build_sparse_with_bitmask %v, %m : (tensor<4xf16>, tensor<2x4xi1>) -> !coreai.sparse<tensor<2x4xf16>>
  %d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<2x4xf16>>) -> tensor<2x4xf16>
  coreai.output %d : tensor<2x4xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.build_sparse_with_bitmask' op result must be !coreai.sparse<tensor<2x4xf16>>, got tensor<4x2xf16>
coreai.graph @sparse_shape(%v: tensor<4xf16>, %m: tensor<2x4xui1>) -> tensor<4x2xf16> {
  %s = coreai.build_sparse_with_bitmask %v, %m : (tensor<4xf16>, tensor<2x4xui1>) -> !coreai.sparse<tensor<4x2xf16>>
  %d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<4x2xf16>>) -> tensor<4x2xf16>
  coreai.output %d : tensor<4x2xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.build_sparse_with_bitmask' op result must be !coreai.sparse<tensor<2x4xf16>>, got tensor<2x4xf32>
coreai.graph @sparse_element_type(%v: tensor<4xf16>, %m: tensor<2x4xui1>) -> tensor<2x4xf32> {
  %s = coreai.build_sparse_with_bitmask %v, %m : (tensor<4xf16>, tensor<2x4xui1>) -> !coreai.sparse<tensor<2x4xf32>>
  %d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<2x4xf32>>) -> tensor<2x4xf32>
  coreai.output %d : tensor<2x4xf32>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.sparse_with_bitmask_to_dense' op result type tensor<2x4xf32> must be tensor<2x4xf16>
coreai.graph @to_dense_type(%s: !coreai.sparse<tensor<2x4xf16>>) -> tensor<2x4xf32> {
  %d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<2x4xf16>>) -> tensor<2x4xf32>
  coreai.output %d : tensor<2x4xf32>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.sparse_with_bitmask_to_dense' op operand 'sparse' at position 0 does not verify
coreai.graph @to_dense_operand(%v: tensor<2x4xf16>) -> tensor<2x4xf16> {
  %d = coreai.sparse_with_bitmask_to_dense %v : (tensor<2x4xf16>) -> tensor<2x4xf16>
  coreai.output %d : tensor<2x4xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:{{[0-9]+}}: error: expected a tensor type in !coreai.sparse, got f16
coreai.graph @sparse_of_scalar(%s: !coreai.sparse<f16>) {
  coreai.output
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.cast' op cast must keep the shape: [2, 4] vs [8]
coreai.graph @cast_shape(%x: tensor<2x4xf32>) -> tensor<8xf16> {
  %c = coreai.cast %x : tensor<2x4xf32> to tensor<8xf16>
  coreai.output %c : tensor<8xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.cast' op cast must keep the shape: [2, 4] vs [2, 4, 1]
coreai.graph @cast_rank(%x: tensor<2x4xf32>) -> tensor<2x4x1xf16> {
  %c = coreai.cast %x : tensor<2x4xf32> to tensor<2x4x1xf16>
  coreai.output %c : tensor<2x4x1xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.cast' op operand 'input' at position 0 does not verify
coreai.graph @cast_operand(%x: f32) -> tensor<f16> {
  %c = coreai.cast %x : (f32) -> tensor<f16>
  coreai.output %c : tensor<f16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.transpose' op perm must be tensor<2xui32>, got tensor<3xui32>
coreai.graph @perm_shape(%x: tensor<2x4xf16>, %p: tensor<3xui32>) -> tensor<4x2xf16> {
  %t = coreai.transpose %x, %p : (tensor<2x4xf16>, tensor<3xui32>) -> tensor<4x2xf16>
  coreai.output %t : tensor<4x2xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.transpose' op perm [0, 0] is not a permutation of 2 dims
coreai.graph @perm_values(%x: tensor<2x4xf16>) -> tensor<4x2xf16> {
  %p = coreai.constant dense<[0, 0]> : tensor<2xui32>
  %t = coreai.transpose %x, %p : (tensor<2x4xf16>, tensor<2xui32>) -> tensor<4x2xf16>
  coreai.output %t : tensor<4x2xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.transpose' op perm [1, 2] is not a permutation of 2 dims
coreai.graph @perm_range(%x: tensor<2x4xf16>) -> tensor<4x2xf16> {
  %p = coreai.constant dense<[1, 2]> : tensor<2xui32>
  %t = coreai.transpose %x, %p : (tensor<2x4xf16>, tensor<2xui32>) -> tensor<4x2xf16>
  coreai.output %t : tensor<4x2xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.transpose' op result shape [2, 4] must be [4, 2]
coreai.graph @transpose_shape(%x: tensor<2x4xf16>) -> tensor<2x4xf16> {
  %p = coreai.constant dense<[1, 0]> : tensor<2xui32>
  %t = coreai.transpose %x, %p : (tensor<2x4xf16>, tensor<2xui32>) -> tensor<2x4xf16>
  coreai.output %t : tensor<2x4xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.batch_matmul' op matmul operands must have rank >= 2
coreai.graph @matmul_rank(%x: tensor<4xf16>, %y: tensor<4x2xf16>) -> tensor<2xf16> {
  %m = coreai.batch_matmul %x, %y : (tensor<4xf16>, tensor<4x2xf16>) -> tensor<2xf16>
  coreai.output %m : tensor<2xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.batch_matmul' op contracting dims differ: x has 4, y has 3
coreai.graph @matmul_contracting(%x: tensor<1x4xf16>, %y: tensor<3x2xf16>) -> tensor<1x2xf16> {
  %m = coreai.batch_matmul %x, %y : (tensor<1x4xf16>, tensor<3x2xf16>) -> tensor<1x2xf16>
  coreai.output %m : tensor<1x2xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.decomposable.broadcasting_batch_matmul' op contracting dims differ: x has 4, y has 3
coreai.graph @broadcasting_contracting(%x: tensor<2x1x4xf16>, %y: tensor<3x2xf16>) -> tensor<2x1x2xf16> {
  %m = coreai.decomposable.broadcasting_batch_matmul %x, %y : (tensor<2x1x4xf16>, tensor<3x2xf16>) -> tensor<2x1x2xf16>
  coreai.output %m : tensor<2x1x2xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.conv2d' op conv2d weight must have rank 4
coreai.graph @conv_rank(%x: tensor<1x3x8x8xf16>, %w: tensor<4x27xf16>, %s: tensor<2xui32>, %d: tensor<2xui32>, %g: tensor<ui32>) -> tensor<1x4x6x6xf16> {
  %y = coreai.conv2d %x, %w, %s, %d, %g : (tensor<1x3x8x8xf16>, tensor<4x27xf16>, tensor<2xui32>, tensor<2xui32>, tensor<ui32>) -> tensor<1x4x6x6xf16>
  coreai.output %y : tensor<1x4x6x6xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.constant' op value type tensor<2xf16> does not match result type tensor<2xf32>
coreai.graph @constant_type() {
  %c = "coreai.constant"() <{value = dense<1.000000e+00> : tensor<2xf16>}> : () -> tensor<2xf32>
  coreai.output
}

// -----

// CHECK: invalid.mlir:368:24: error: coreai.constant expects a dense<...> or dense_resource<...> value
coreai.graph @constant_scalar() {
  %c = coreai.constant 1.000000e+00 : f16
  coreai.output
}

// -----

// CHECK: invalid.mlir:376:39: error: dense_resource<w> holds 4 bytes but tensor<2x3xf16> needs 12
coreai.graph @resource_size() {
  %c = coreai.constant dense_resource<w> : tensor<2x3xf16>
  coreai.output
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x0200000000003C00"
    }
  }
#-}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:{{[0-9]+}}: error: dense_resource<w> holds 2 bytes but tensor<5xui4> needs 3
coreai.graph @resource_size_packed() {
  %c = coreai.constant dense_resource<w> : tensor<5xui4>
  coreai.output
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x010000001234"
    }
  }
#-}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.output' op output types (tensor<2xf16>) do not match the graph's result types (tensor<2xf32>)
coreai.graph @output_type(%x: tensor<2xf16>) -> tensor<2xf32> {
  coreai.output %x : tensor<2xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.output' op output types (tensor<2xf16>) do not match the graph's result types (tensor<2xf16>, tensor<2xf16>)
coreai.graph @output_count(%x: tensor<2xf16>) -> (tensor<2xf16>, tensor<2xf16>) {
  coreai.output %x : tensor<2xf16>
}

// -----

// CHECK: invalid.mlir:{{[0-9]+}}:3: error: 'coreai.output' op output types () do not match the graph's result types (tensor<2xf16>)
coreai.graph @output_empty(%x: tensor<2xf16>) -> tensor<2xf16> {
  coreai.output
}

// -----

// CHECK: invalid.mlir:426:1: error: 'coreai.graph' op graph arguments do not match the graph's input types
"coreai.graph"() <{sym_name = "graph_args", function_type = (tensor<2xf16>) -> ()}> ({
^bb0(%x: tensor<2xf32>):
  "coreai.output"() : () -> ()
}) : () -> ()

// -----

// CHECK: invalid.mlir:434:1: error: 'coreai.output' op 'coreai.output' expects parent op 'coreai.graph'
coreai.output

// -----

// CHECK: error: 'coreai.invoke' op arguments (tensor<2xf32>) do not match @callee's inputs (tensor<2xf16>)
coreai.graph @callee(%a: tensor<2xf16>) -> tensor<2xf16> {
  coreai.output %a : tensor<2xf16>
}
coreai.graph @caller(%x: tensor<2xf32>) -> tensor<2xf16> {
  %y = coreai.invoke @callee(%x) : (tensor<2xf32>) -> tensor<2xf16>
  coreai.output %y : tensor<2xf16>
}

// -----

// CHECK: error: 'coreai.invoke' op results (tensor<4xf16>) do not match @callee2's results (tensor<2xf16>)
coreai.graph @callee2(%a: tensor<2xf16>) -> tensor<2xf16> {
  coreai.output %a : tensor<2xf16>
}
coreai.graph @caller2(%x: tensor<2xf16>) -> tensor<4xf16> {
  %y = coreai.invoke @callee2(%x) : (tensor<2xf16>) -> tensor<4xf16>
  coreai.output %y : tensor<4xf16>
}
