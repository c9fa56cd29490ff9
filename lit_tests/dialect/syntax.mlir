// Core AI's op syntaxes (dialects/syntax.py): every form reads and prints back as written,
// re-parses to the same text, and (for the forms Apple's printer uses) survives MLIR's
// generic form; the generic form is real MLIR.
// RUN: coreai-opt %s --split-input-file | filecheck %s
// RUN: coreai-opt %s --split-input-file | coreai-opt --split-input-file | filecheck %s
// RUN: coreai-opt %s --split-input-file --print-op-generic | coreai-opt --split-input-file | filecheck %s
// RUN: %if mlir-opt %{ coreai-opt %s --split-input-file --print-op-generic | mlir-opt-22 --allow-unregistered-dialect --split-input-file %}

// Unary ops print `: T -> R` (exp, get_shape) or `: (T) -> R` (relu), as Apple's printer does.
// CHECK-LABEL: coreai.graph @unary
// CHECK-SAME:  (%x: tensor<2x3xf32>) -> tensor<2xui32> {
// CHECK-NEXT:  %e = coreai.exp %x : tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT:  %r = coreai.relu %e : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:  %s = coreai.get_shape %r : tensor<2x3xf32> -> tensor<2xui32>
// CHECK-NEXT:  coreai.output %s : tensor<2xui32>
// CHECK-NEXT:  }
coreai.graph @unary(%x: tensor<2x3xf32>) -> tensor<2xui32> {
  %e = coreai.exp %x : tensor<2x3xf32> -> tensor<2x3xf32>
  %r = coreai.relu %e : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %s = coreai.get_shape %r : tensor<2x3xf32> -> tensor<2xui32>
  coreai.output %s : tensor<2xui32>
}

// -----

// `to` signatures: `T to R` (cast) and `(T, U) to R` (expand_dims).
// CHECK-LABEL: coreai.graph @to_forms
// CHECK-SAME:  (%x: tensor<2x3xf32>) -> tensor<2x3x1xf16> {
// CHECK-NEXT:  %a = coreai.constant dense<2> : tensor<1xsi32>
// CHECK-NEXT:  %c = coreai.cast %x : tensor<2x3xf32> to tensor<2x3xf16>
// CHECK-NEXT:  %d = coreai.expand_dims %c, %a : (tensor<2x3xf16>, tensor<1xsi32>) to tensor<2x3x1xf16>
// CHECK-NEXT:  coreai.output %d : tensor<2x3x1xf16>
// CHECK-NEXT:  }
coreai.graph @to_forms(%x: tensor<2x3xf32>) -> tensor<2x3x1xf16> {
  %a = coreai.constant dense<2> : tensor<1xsi32>
  %c = coreai.cast %x : tensor<2x3xf32> to tensor<2x3xf16>
  %d = coreai.expand_dims %c, %a : (tensor<2x3xf16>, tensor<1xsi32>) to tensor<2x3x1xf16>
  coreai.output %d : tensor<2x3x1xf16>
}

// -----

// Keyword operands: `at`, `at ... along`, `with ... at (group)`.
// CHECK-LABEL: coreai.graph @keywords
// CHECK-SAME:  (%t: tensor<5x3xf32>, %i: tensor<3x1xsi32>, %j: tensor<5x3xsi32>, %u: tensor<2x3xf32>) -> (tensor<3x3xf32>, tensor<5x3xf32>, tensor<5x3xf32>) {
// CHECK-NEXT:  %axis = coreai.constant dense<1> : tensor<si32>
// CHECK-NEXT:  %b = coreai.constant dense<0> : tensor<2xsi32>
// CHECK-NEXT:  %e = coreai.constant dense<[2, 3]> : tensor<2xsi32>
// CHECK-NEXT:  %s = coreai.constant dense<1> : tensor<2xsi32>
// CHECK-NEXT:  %g = coreai.gather_nd %t at %i : (tensor<5x3xf32>, tensor<3x1xsi32>) to tensor<3x3xf32>
// CHECK-NEXT:  %h = coreai.gather_along_axis %t at %j along %axis : (tensor<5x3xf32>, tensor<5x3xsi32>, tensor<si32>) to tensor<5x3xf32>
// CHECK-NEXT:  %k = coreai.slice_update %t with %u at (%b, %e, %s) : (tensor<5x3xf32>, tensor<2x3xf32>, tensor<2xsi32>, tensor<2xsi32>, tensor<2xsi32>) to tensor<5x3xf32>
// CHECK-NEXT:  coreai.output %g, %h, %k : tensor<3x3xf32>, tensor<5x3xf32>, tensor<5x3xf32>
// CHECK-NEXT:  }
coreai.graph @keywords(%t: tensor<5x3xf32>, %i: tensor<3x1xsi32>, %j: tensor<5x3xsi32>, %u: tensor<2x3xf32>) -> (tensor<3x3xf32>, tensor<5x3xf32>, tensor<5x3xf32>) {
  %axis = coreai.constant dense<1> : tensor<si32>
  %b = coreai.constant dense<[0, 0]> : tensor<2xsi32>
  %e = coreai.constant dense<[2, 3]> : tensor<2xsi32>
  %s = coreai.constant dense<1> : tensor<2xsi32>
  %g = coreai.gather_nd %t at %i : (tensor<5x3xf32>, tensor<3x1xsi32>) to tensor<3x3xf32>
  %h = coreai.gather_along_axis %t at %j along %axis : (tensor<5x3xf32>, tensor<5x3xsi32>, tensor<si32>) to tensor<5x3xf32>
  %k = coreai.slice_update %t with %u at (%b, %e, %s) : (tensor<5x3xf32>, tensor<2x3xf32>, tensor<2xsi32>, tensor<2xsi32>, tensor<2xsi32>) to tensor<5x3xf32>
  coreai.output %g, %h, %k : tensor<3x3xf32>, tensor<5x3xf32>, tensor<5x3xf32>
}

// -----

// Inline enums print stripped (`mode = <constant>`); other #coreai attributes in `{...}`.
// CHECK-LABEL: coreai.graph @enums
// CHECK-SAME:  (%x: tensor<2x3xf32>) -> (tensor<2x6xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<1x1x4x6xf32>) {
// CHECK-NEXT:  %p = coreai.constant dense<[0, 0, 1, 2]> : tensor<4xui32>
// CHECK-NEXT:  %v = coreai.constant dense<0.000000e+00> : tensor<f32>
// CHECK-NEXT:  %a = coreai.constant dense<1> : tensor<ui32>
// CHECK-NEXT:  %no = coreai.constant dense<false> : tensor<i1>
// CHECK-NEXT:  %sz = coreai.constant dense<[1, 1, 4, 6]> : tensor<4xui32>
// CHECK-NEXT:  %sc = coreai.constant dense<2.000000e+00> : tensor<4xf32>
// CHECK-NEXT:  %padded = coreai.pad %x, %p, %v mode = <constant> : (tensor<2x3xf32>, tensor<4xui32>, tensor<f32>) -> tensor<2x6xf32>
// CHECK-NEXT:  %gelu = coreai.gelu %x approximate = <tanh> : tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT:  %sum = coreai.scan %x, %a, %no combiner = <sum> : (tensor<2x3xf32>, tensor<ui32>, tensor<i1>) -> tensor<2x3xf32>
// CHECK-NEXT:  %r = coreai.reshape %x, %sz : (tensor<2x3xf32>, tensor<4xui32>) -> tensor<1x1x2x3xf32>
// CHECK-NEXT:  %up = coreai.interpolate %r, %sz, %sc, %sc {interpolation_mode = #coreai.interpolation_mode<linear>} : (tensor<1x1x2x3xf32>, tensor<4xui32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x1x4x6xf32>
// CHECK-NEXT:  coreai.output %padded, %gelu, %sum, %up : tensor<2x6xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<1x1x4x6xf32>
// CHECK-NEXT:  }
coreai.graph @enums(%x: tensor<2x3xf32>) -> (tensor<2x6xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<1x1x4x6xf32>) {
  %p = coreai.constant dense<[0, 0, 1, 2]> : tensor<4xui32>
  %v = coreai.constant dense<0.000000e+00> : tensor<f32>
  %a = coreai.constant dense<1> : tensor<ui32>
  %no = coreai.constant dense<false> : tensor<i1>
  %sz = coreai.constant dense<[1, 1, 4, 6]> : tensor<4xui32>
  %sc = coreai.constant dense<2.000000e+00> : tensor<4xf32>
  %padded = coreai.pad %x, %p, %v mode = <constant> : (tensor<2x3xf32>, tensor<4xui32>, tensor<f32>) -> tensor<2x6xf32>
  %gelu = coreai.gelu %x approximate = <tanh> : tensor<2x3xf32> -> tensor<2x3xf32>
  %sum = coreai.scan %x, %a, %no combiner = <sum> : (tensor<2x3xf32>, tensor<ui32>, tensor<i1>) -> tensor<2x3xf32>
  %r = coreai.reshape %x, %sz : (tensor<2x3xf32>, tensor<4xui32>) -> tensor<1x1x2x3xf32>
  %up = coreai.interpolate %r, %sz, %sc, %sc {interpolation_mode = #coreai.interpolation_mode<linear>} : (tensor<1x1x2x3xf32>, tensor<4xui32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x1x4x6xf32>
  coreai.output %padded, %gelu, %sum, %up : tensor<2x6xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<1x1x4x6xf32>
}

// -----

// Result groups `%r:2` are used as `%r#i` (MLIR's way).
// CHECK-LABEL: coreai.graph @results
// CHECK-SAME:  (%x: tensor<4x3xf32>) -> tensor<2x3xf32> {
// CHECK-NEXT:  %sizes = coreai.constant dense<2> : tensor<2xui32>
// CHECK-NEXT:  %axis = coreai.constant dense<0> : tensor<si32>
// CHECK-NEXT:  %parts:2 = coreai.split %x, %sizes, %axis : (tensor<4x3xf32>, tensor<2xui32>, tensor<si32>) -> (tensor<2x3xf32>, tensor<2x3xf32>)
// CHECK-NEXT:  %sum = coreai.decomposable.broadcasting_add %parts#0, %parts#1 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:  coreai.output %sum : tensor<2x3xf32>
// CHECK-NEXT:  }
coreai.graph @results(%x: tensor<4x3xf32>) -> tensor<2x3xf32> {
  %sizes = coreai.constant dense<2> : tensor<2xui32>
  %axis = coreai.constant dense<0> : tensor<si32>
  %parts:2 = coreai.split %x, %sizes, %axis : (tensor<4x3xf32>, tensor<2xui32>, tensor<si32>) -> (tensor<2x3xf32>, tensor<2x3xf32>)
  %sum = coreai.decomposable.broadcasting_add %parts#0, %parts#1 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  coreai.output %sum : tensor<2x3xf32>
}
