// `decompress` folds hand-built compressed weights back into dense constants.
// RUN: coreai-opt %s --split-input-file -p decompress | filecheck %s
// RUN: coreai-opt %s --split-input-file -p decompress | coreai-opt --split-input-file | filecheck %s

// int8 per-channel: row 0 has scale 0.5 and zero point 0, row 1 scale 0.25 and zero point 10.
// CHECK-LABEL: coreai.graph @int8_per_channel
// CHECK-NEXT:    %w = coreai.constant dense<{{\[}}[-6.400000e+01, 0.000000e+00, 6.350000e+01], [0.000000e+00, 2.500000e+00, 5.000000e+00]]> : tensor<2x3xf16>
// CHECK-NEXT:    coreai.output %w : tensor<2x3xf16>
coreai.graph @int8_per_channel() -> tensor<2x3xf16> {
  %data = coreai.constant dense<[[-128, 0, 127], [10, 20, 30]]> : tensor<2x3xsi8>
  %scale = coreai.constant dense<[[0.5], [0.25]]> : tensor<2x1xf16>
  %zp = coreai.constant dense<[[0], [10]]> : tensor<2x1xsi8>
  %bias = coreai.constant dense<0.0> : tensor<2x1xf16>
  %w = coreai.blockwise_shift_scale %data, %scale, %zp, %bias : (tensor<2x3xsi8>, tensor<2x1xf16>, tensor<2x1xsi8>, tensor<2x1xf16>) -> tensor<2x3xf16>
  coreai.output %w : tensor<2x3xf16>
}

// -----

// Per-block parameters (blocks of 2 along the input axis) with a non-zero offset2.
// CHECK-LABEL: coreai.graph @per_block
// CHECK-NEXT:    %w = coreai.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 1.000000e+01, 1.400000e+01], [-1.000000e+00, 0.000000e+00, 6.000000e+00, 9.000000e+00]]> : tensor<2x4xf32>
coreai.graph @per_block() -> tensor<2x4xf32> {
  %data = coreai.constant dense<[[1, 2, 3, 4], [5, 6, 7, 8]]> : tensor<2x4xui8>
  %scale = coreai.constant dense<[[1.0, 4.0], [1.0, 3.0]]> : tensor<2x2xf32>
  %zp = coreai.constant dense<[[1, 1], [5, 5]]> : tensor<2x2xui8>
  %bias = coreai.constant dense<[[1.0, 2.0], [-1.0, 0.0]]> : tensor<2x2xf32>
  %w = coreai.blockwise_shift_scale %data, %scale, %zp, %bias : (tensor<2x4xui8>, tensor<2x2xf32>, tensor<2x2xui8>, tensor<2x2xf32>) -> tensor<2x4xf32>
  coreai.output %w : tensor<2x4xf32>
}

// -----

// uint4 data from a packed resource ([1, 2, 3, 15] = 0x21, 0xF3), zero point 8, scale 2.
// CHECK-LABEL: coreai.graph @uint4_resource
// CHECK-NEXT:    %w = coreai.constant dense<[-1.400000e+01, -1.200000e+01, -1.000000e+01, 1.400000e+01]> : tensor<4xf16>
coreai.graph @uint4_resource() -> tensor<4xf16> {
  %data = coreai.constant dense_resource<q> : tensor<4xui4>
  %scale = coreai.constant dense<2.0> : tensor<1xf16>
  %zp = coreai.constant dense<8> : tensor<1xui4>
  %bias = coreai.constant dense<0.0> : tensor<1xf16>
  %w = coreai.blockwise_shift_scale %data, %scale, %zp, %bias : (tensor<4xui4>, tensor<1xf16>, tensor<1xui4>, tensor<1xf16>) -> tensor<4xf16>
  coreai.output %w : tensor<4xf16>
}
{-#
  dialect_resources: {
    builtin: {
      q: "0x0100000021F3"
    }
  }
#-}

// -----

// MXFP4: fp4 data, power-of-two f8E8M0FNU scales per block of 2.
// CHECK-LABEL: coreai.graph @mxfp4
// CHECK-NEXT:    %w = coreai.constant dense<{{\[}}[5.000000e-01, 1.000000e+00, 3.000000e+00, 4.000000e+00], [1.500000e+00, 2.000000e+00, 2.400000e+01, -2.400000e+01]]> : tensor<2x4xf16>
coreai.graph @mxfp4() -> tensor<2x4xf16> {
  %data = coreai.constant dense<[[0.5, 1.0, 1.5, 2.0], [3.0, 4.0, 6.0, -6.0]]> : tensor<2x4xf4E2M1FN>
  %scale = coreai.constant dense<[[1.0, 2.0], [0.5, 4.0]]> : tensor<2x2xf8E8M0FNU>
  %zp = coreai.constant dense<0.0> : tensor<2x2xf4E2M1FN>
  %bias = coreai.constant dense<0.0> : tensor<2x2xf16>
  %w = coreai.blockwise_shift_scale %data, %scale, %zp, %bias : (tensor<2x4xf4E2M1FN>, tensor<2x2xf8E8M0FNU>, tensor<2x2xf4E2M1FN>, tensor<2x2xf16>) -> tensor<2x4xf16>
  coreai.output %w : tensor<2x4xf16>
}

// -----

// fp8 per-tensor.
// CHECK-LABEL: coreai.graph @fp8
// CHECK-NEXT:    %w = coreai.constant dense<[2.240000e+02, -1.000000e+00, 1.250000e-01]> : tensor<3xf16>
coreai.graph @fp8() -> tensor<3xf16> {
  %data = coreai.constant dense<[448.0, -2.0, 0.25]> : tensor<3xf8E4M3FN>
  %scale = coreai.constant dense<0.5> : tensor<1xf16>
  %zp = coreai.constant dense<0.0> : tensor<1xf8E4M3FN>
  %bias = coreai.constant dense<0.0> : tensor<1xf16>
  %w = coreai.blockwise_shift_scale %data, %scale, %zp, %bias : (tensor<3xf8E4M3FN>, tensor<1xf16>, tensor<1xf8E4M3FN>, tensor<1xf16>) -> tensor<3xf16>
  coreai.output %w : tensor<3xf16>
}

// -----

// Sparse with a hand mask; zeros where the mask is 0, values in row-major order of set bits.
// CHECK-LABEL: coreai.graph @sparse
// CHECK-NEXT:    %d = coreai.constant dense<{{\[}}[1.000000e+00, 0.000000e+00, 0.000000e+00, 2.000000e+00], [0.000000e+00, 3.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<2x4xf16>
// CHECK-NEXT:    coreai.output %d : tensor<2x4xf16>
coreai.graph @sparse() -> tensor<2x4xf16> {
  %values = coreai.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf16>
  %mask = coreai.constant dense<[[1, 0, 0, 1], [0, 1, 0, 0]]> : tensor<2x4xui1>
  %s = coreai.build_sparse_with_bitmask %values, %mask : (tensor<3xf16>, tensor<2x4xui1>) -> !coreai.sparse<tensor<2x4xf16>>
  %d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<2x4xf16>>) -> tensor<2x4xf16>
  coreai.output %d : tensor<2x4xf16>
}

// -----

// Sparse int8 values with a packed mask resource (bits 0, 2, 3 and 9 set = 0x0D, 0x02).
// CHECK-LABEL: coreai.graph @sparse_packed_mask
// CHECK-NEXT:    %d = coreai.constant dense<[-1, 0, 2, -3, 0, 0, 0, 0, 0, 4]> : tensor<10xsi8>
coreai.graph @sparse_packed_mask() -> tensor<10xsi8> {
  %values = coreai.constant dense<[-1, 2, -3, 4]> : tensor<4xsi8>
  %mask = coreai.constant dense_resource<m> : tensor<10xui1>
  %s = coreai.build_sparse_with_bitmask %values, %mask : (tensor<4xsi8>, tensor<10xui1>) -> !coreai.sparse<tensor<10xsi8>>
  %d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<10xsi8>>) -> tensor<10xsi8>
  coreai.output %d : tensor<10xsi8>
}
{-#
  dialect_resources: {
    builtin: {
      m: "0x010000000D02"
    }
  }
#-}

// -----

// Joint compression: the sparse values are themselves quantized.
// CHECK-LABEL: coreai.graph @sparse_of_quantized
// CHECK-NEXT:    %{{.*}} = coreai.constant dense<{{\[}}[5.000000e-01, 0.000000e+00, 0.000000e+00, 2.500000e+00], [0.000000e+00, 4.500000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<2x4xf16>
// CHECK-NEXT:    coreai.output
coreai.graph @sparse_of_quantized() -> tensor<2x4xf16> {
  %data = coreai.constant dense<[1, 2, 3]> : tensor<3xui8>
  %scale = coreai.constant dense<2.0> : tensor<1xf16>
  %zp = coreai.constant dense<1> : tensor<1xui8>
  %bias = coreai.constant dense<0.5> : tensor<1xf16>
  %v = coreai.blockwise_shift_scale %data, %scale, %zp, %bias : (tensor<3xui8>, tensor<1xf16>, tensor<1xui8>, tensor<1xf16>) -> tensor<3xf16>
  %m = coreai.constant dense<[[1, 0, 0, 1], [0, 1, 0, 0]]> : tensor<2x4xui1>
  %s = coreai.build_sparse_with_bitmask %v, %m : (tensor<3xf16>, tensor<2x4xui1>) -> !coreai.sparse<tensor<2x4xf16>>
  %d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<2x4xf16>>) -> tensor<2x4xf16>
  coreai.output %d : tensor<2x4xf16>
}

// -----

// Cast chains fold one cast at a time, each rounding to nearest even:
// 0.1 -> f16 0.0999755859375 -> bf16 0.10009765625; 65504 -> bf16 65536.
// CHECK-LABEL: coreai.graph @cast_chain
// CHECK-NEXT:    %f = coreai.constant dense<[1.000000e+00, 0.100097656, 6.553600e+04]> : tensor<3xf32>
coreai.graph @cast_chain() -> tensor<3xf32> {
  %x = coreai.constant dense<[1.0, 0.1, 65504.0]> : tensor<3xf32>
  %h = coreai.cast %x : tensor<3xf32> to tensor<3xf16>
  %b = coreai.cast %h : tensor<3xf16> to tensor<3xbf16>
  %f = coreai.cast %b : tensor<3xbf16> to tensor<3xf32>
  coreai.output %f : tensor<3xf32>
}

// -----

// Sub-byte resources decode LSB first (si2 0xE4 0x03 = [0, 1, -2, -1, -1]).
// CHECK-LABEL: coreai.graph @packed_casts
// CHECK-NEXT:    %a = coreai.constant dense<[0.000000e+00, 1.000000e+00, -2.000000e+00, -1.000000e+00, -1.000000e+00]> : tensor<5xf32>
// CHECK-NEXT:    %b = coreai.constant dense<[1.000000e+00, -1.000000e+00, -6.000000e+00]> : tensor<3xf32>
// CHECK-NEXT:    %c = coreai.constant dense<[1.000000e+00, 0.000000e+00, 1.000000e+00, 1.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 1.000000e+00]> : tensor<9xf32>
// CHECK-NEXT:    %d = coreai.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00, 0.000000e+00]> : tensor<8xf32>
// CHECK-NEXT:    %e = coreai.constant dense<[1.000000e+00, 6.300000e+01, 5.000000e+00]> : tensor<3xf32>
// CHECK-NEXT:    %f = coreai.constant dense<[5.000000e-01, 1.000000e+00, 6.000000e+00]> : tensor<3xf32>
// CHECK-NEXT:    %g = coreai.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 0.000000e+00, 3.000000e+00]> : tensor<5xf32>
// CHECK-NEXT:    %h = coreai.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    %i = coreai.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
coreai.graph @packed_casts() -> (tensor<5xf32>, tensor<3xf32>, tensor<9xf32>, tensor<8xf32>, tensor<3xf32>, tensor<3xf32>, tensor<5xf32>, tensor<2xf32>, tensor<2xf32>) {
  %0 = coreai.constant dense_resource<r_si2> : tensor<5xsi2>
  %1 = coreai.constant dense_resource<r_si4> : tensor<3xsi4>
  %2 = coreai.constant dense_resource<r_ui1> : tensor<9xui1>
  %3 = coreai.constant dense_resource<r_ui3> : tensor<8xui3>
  %4 = coreai.constant dense_resource<r_ui6> : tensor<3xui6>
  %5 = coreai.constant dense_resource<r_e2m1> : tensor<3xf4E2M1FN>
  %6 = coreai.constant dense_resource<r_ui2> : tensor<5xui2>
  %7 = coreai.constant dense_resource<r_e4m3> : tensor<2xf8E4M3FN>
  %8 = coreai.constant dense_resource<r_e8m0> : tensor<2xf8E8M0FNU>
  %a = coreai.cast %0 : tensor<5xsi2> to tensor<5xf32>
  %b = coreai.cast %1 : tensor<3xsi4> to tensor<3xf32>
  %c = coreai.cast %2 : tensor<9xui1> to tensor<9xf32>
  %d = coreai.cast %3 : tensor<8xui3> to tensor<8xf32>
  %e = coreai.cast %4 : tensor<3xui6> to tensor<3xf32>
  %f = coreai.cast %5 : tensor<3xf4E2M1FN> to tensor<3xf32>
  %g = coreai.cast %6 : tensor<5xui2> to tensor<5xf32>
  %h = coreai.cast %7 : tensor<2xf8E4M3FN> to tensor<2xf32>
  %i = coreai.cast %8 : tensor<2xf8E8M0FNU> to tensor<2xf32>
  coreai.output %a, %b, %c, %d, %e, %f, %g, %h, %i : tensor<5xf32>, tensor<3xf32>, tensor<9xf32>, tensor<8xf32>, tensor<3xf32>, tensor<3xf32>, tensor<5xf32>, tensor<2xf32>, tensor<2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      r_si2: "0x01000000E403",
      r_si4: "0x01000000F10A",
      r_ui1: "0x010000000D01",
      r_ui3: "0x01000000D1581F",
      r_ui6: "0x01000000C15F00",
      r_e2m1: "0x010000002107",
      r_ui2: "0x010000003903",
      r_e4m3: "0x010000003840",
      r_e8m0: "0x010000007F80"
    }
  }
#-}

// -----

// Only all-constant chains fold: a runtime operand leaves the op in place.
// CHECK-LABEL: coreai.graph @runtime_operand
// CHECK:         %w = coreai.blockwise_shift_scale %data, %scale, %zp, %bias
// CHECK:         %c = coreai.cast %x : tensor<2xf32> to tensor<2xf16>
coreai.graph @runtime_operand(%data: tensor<2x3xsi8>, %x: tensor<2xf32>) -> (tensor<2x3xf16>, tensor<2xf16>) {
  %scale = coreai.constant dense<[[0.5], [0.25]]> : tensor<2x1xf16>
  %zp = coreai.constant dense<0> : tensor<2x1xsi8>
  %bias = coreai.constant dense<0.0> : tensor<2x1xf16>
  %w = coreai.blockwise_shift_scale %data, %scale, %zp, %bias : (tensor<2x3xsi8>, tensor<2x1xf16>, tensor<2x1xsi8>, tensor<2x1xf16>) -> tensor<2x3xf16>
  %c = coreai.cast %x : tensor<2xf32> to tensor<2xf16>
  coreai.output %w, %c : tensor<2x3xf16>, tensor<2xf16>
}

// -----

// Large results become resources.
// 20 ui8 codes 0..19, zero point 10, scale 0.5: -5.0, -4.5, ..., 4.5.
// CHECK-LABEL: coreai.graph @large
// CHECK-NEXT:    %w = coreai.constant dense_resource<[[KEY:[a-z0-9_]+]]> : tensor<4x5xf16>
// CHECK:           [[KEY]]: "0x{{........}}00C580C400C400C300C200C100C000BE00BC00B800000038003C003E004000410042004300448044"
coreai.graph @large() -> tensor<4x5xf16> {
  %data = coreai.constant dense_resource<codes> : tensor<4x5xui8>
  %scale = coreai.constant dense<0.5> : tensor<1x1xf16>
  %zp = coreai.constant dense<10> : tensor<1x1xui8>
  %bias = coreai.constant dense<0.0> : tensor<1x1xf16>
  %w = coreai.blockwise_shift_scale %data, %scale, %zp, %bias : (tensor<4x5xui8>, tensor<1x1xf16>, tensor<1x1xui8>, tensor<1x1xf16>) -> tensor<4x5xf16>
  coreai.output %w : tensor<4x5xf16>
}
{-#
  dialect_resources: {
    builtin: {
      codes: "0x01000000000102030405060708090A0B0C0D0E0F10111213"
    }
  }
#-}
