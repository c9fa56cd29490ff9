// `cast-to-fp16`: f32 weights and every f32 tensor type become f16.
// RUN: coreai-opt %s --split-input-file -p cast-to-fp16 2>/dev/null | filecheck %s
// RUN: coreai-opt %s --split-input-file -p cast-to-fp16 2>&1 >/dev/null | filecheck %s --check-prefix=WARN
// RUN: coreai-opt %s --split-input-file -p cast-to-fp16 --quiet 2>&1 >/dev/null | filecheck %s --check-prefix=QUIET --allow-empty

// Signature, weights, results of modelled and unknown ops; other element types stay.
// CHECK-LABEL: coreai.graph @linear(%x: tensor<1x4xf16> {coreai.name = "x"}, %ids: tensor<2xsi32>) -> (tensor<1x2xf16> {coreai.name = "y"}) {
// CHECK-NEXT:    %w = coreai.constant dense<[[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00], [-5.000000e-01, -1.500000e+00, -1.000000e+01, -1.600000e+01]]> : tensor<2x4xf16>
// CHECK-NEXT:    %q = coreai.constant dense<[1, 2]> : tensor<2xsi8>
// CHECK-NEXT:    %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>
// CHECK-NEXT:    %wt = coreai.transpose %w, %perm : (tensor<2x4xf16>, tensor<2xui32>) -> tensor<4x2xf16>
// CHECK-NEXT:    %y = coreai.batch_matmul %x, %wt : (tensor<1x4xf16>, tensor<4x2xf16>) -> tensor<1x2xf16>
// CHECK-NEXT:    %s = coreai.softmax %y {axis = -1 : si32} : (tensor<1x2xf16>) -> tensor<1x2xf16>
// CHECK-NEXT:    %bf = coreai.cast %s : tensor<1x2xf16> to tensor<1x2xbf16>
// CHECK-NEXT:    %g = coreai.gather_nd %bf at %ids : (tensor<1x2xbf16>, tensor<2xsi32>) to tensor<2xf16>
// CHECK-NEXT:    coreai.output %y : tensor<1x2xf16>
coreai.graph @linear(%x: tensor<1x4xf32> {coreai.name = "x"}, %ids: tensor<2xsi32>) -> (tensor<1x2xf32> {coreai.name = "y"}) {
  %w = coreai.constant dense<[[1.0, 2.0, 3.0, 4.0], [-0.5, -1.5, -10.0, -16.0]]> : tensor<2x4xf32>
  %q = coreai.constant dense<[1, 2]> : tensor<2xsi8>
  %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>
  %wt = coreai.transpose %w, %perm : (tensor<2x4xf32>, tensor<2xui32>) -> tensor<4x2xf32>
  %y = coreai.batch_matmul %x, %wt : (tensor<1x4xf32>, tensor<4x2xf32>) -> tensor<1x2xf32>
  %s = coreai.softmax %y {axis = -1 : si32} : (tensor<1x2xf32>) -> tensor<1x2xf32>
  %bf = coreai.cast %s : tensor<1x2xf32> to tensor<1x2xbf16>
  %g = coreai.gather_nd %bf at %ids : (tensor<1x2xbf16>, tensor<2xsi32>) to tensor<2xf32>
  coreai.output %y : tensor<1x2xf32>
}

// -----

// A resource-backed weight keeps its key; its bytes are the f16 rounding (numpy-checked:
// -2.0, -1.5, ..., 7.5).
// CHECK-LABEL: coreai.graph @resource
// CHECK-NEXT:    %w = coreai.constant dense_resource<w> : tensor<4x5xf16>
// CHECK:         w: "0x{{........}}00C000BE00BC00B800000038003C003E004000410042004300448044004580450046804600478047"
coreai.graph @resource() -> tensor<4x5xf32> {
  %w = coreai.constant dense_resource<w> : tensor<4x5xf32>
  coreai.output %w : tensor<4x5xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x04000000000000C00000C0BF000080BF000000BF000000000000003F0000803F0000C03F0000004000002040000040400000604000008040000090400000A0400000B0400000C0400000D0400000E0400000F040"
    }
  }
#-}

// -----

// Round to nearest even; values beyond ±65504 saturate, with a located warning.
// CHECK-LABEL: coreai.graph @rounding
// CHECK-NEXT:    %big = coreai.constant dense<[6.550400e+04, -6.550400e+04, 1.000000e+00, 9.997550e-02]> : tensor<4xf16>
// WARN: cast_to_fp16.mlir:56:3: warning: constant 'big' (tensor<4xf32>) has values beyond the f16 range: saturated
// QUIET-NOT: warning
coreai.graph @rounding() -> tensor<4xf32> {
  %big = coreai.constant dense<[1.0e+05, -7.0e+04, 1.00048828125, 0.1]> : tensor<4xf32>
  coreai.output %big : tensor<4xf32>
}

// -----

// Casts that become f16 -> f16 disappear; others are retyped.
// CHECK-LABEL: coreai.graph @casts(%x: tensor<3xf16>) -> (tensor<3xf16>, tensor<3xsi8>) {
// CHECK-NEXT:    %i = coreai.cast %x : tensor<3xf16> to tensor<3xsi8>
// CHECK-NEXT:    coreai.output %x, %i : tensor<3xf16>, tensor<3xsi8>
coreai.graph @casts(%x: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xsi8>) {
  %h = coreai.cast %x : tensor<3xf32> to tensor<3xf16>
  %f = coreai.cast %h : tensor<3xf16> to tensor<3xf32>
  %i = coreai.cast %f : tensor<3xf32> to tensor<3xsi8>
  coreai.output %f, %i : tensor<3xf32>, tensor<3xsi8>
}

// -----

// Already-f16 programs are unchanged.
// CHECK-LABEL: coreai.graph @already_f16(%x: tensor<2xf16>) -> tensor<2xf16> {
// CHECK-NEXT:    %w = coreai.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf16>
// CHECK-NEXT:    %y = coreai.add %x, %w : (tensor<2xf16>, tensor<2xf16>) -> tensor<2xf16>
coreai.graph @already_f16(%x: tensor<2xf16>) -> tensor<2xf16> {
  %w = coreai.constant dense<[1.0, 2.0]> : tensor<2xf16>
  %y = coreai.add %x, %w : (tensor<2xf16>, tensor<2xf16>) -> tensor<2xf16>
  coreai.output %y : tensor<2xf16>
}
