// Every modelled coreai op: custom form, generic form, and re-parse of both.
// RUN: coreai-opt %s --split-input-file | filecheck %s
// RUN: coreai-opt %s --split-input-file | coreai-opt --split-input-file | filecheck %s
// RUN: coreai-opt %s --split-input-file --print-op-generic | filecheck %s --check-prefix=GENERIC
// RUN: coreai-opt %s --split-input-file --print-op-generic | coreai-opt --split-input-file | filecheck %s

// CHECK-LABEL: coreai.graph @signature(%arg0: tensor<1x4xf16> {coreai.name = "x"}, %mask: tensor<4xui1>) -> (tensor<1x4xf16> {coreai.name = "y"}, tensor<4xui1> {coreai.name = "m", coreai.note = 3 : si32}) {
// CHECK-NEXT:    coreai.output %arg0, %mask : tensor<1x4xf16>, tensor<4xui1>
// CHECK-NEXT:  }
// GENERIC-LABEL: "coreai.graph"() <{arg_attrs = [{coreai.name = "x"}, {}], function_type = (tensor<1x4xf16>, tensor<4xui1>) -> (tensor<1x4xf16>, tensor<4xui1>), res_attrs = [{coreai.name = "y"}, {coreai.name = "m", coreai.note = 3 : si32}], sym_name = "signature"}> ({
// GENERIC-NEXT:  ^bb0(%arg0: tensor<1x4xf16>, %mask: tensor<4xui1>):
// GENERIC-NEXT:    "coreai.output"(%arg0, %mask) : (tensor<1x4xf16>, tensor<4xui1>) -> ()
// GENERIC-NEXT:  }) : () -> ()
module {
  coreai.graph @signature(%arg0: tensor<1x4xf16> {coreai.name = "x"}, %mask: tensor<4xui1>) -> (tensor<1x4xf16> {coreai.name = "y"}, tensor<4xui1> {coreai.name = "m", coreai.note = 3 : si32}) {
    coreai.output %arg0, %mask : tensor<1x4xf16>, tensor<4xui1>
  }
}

// -----

// A graph without arguments or results, with extra attributes; the module keeps its own.
// CHECK: module attributes {coreai.version = "1.0"} {
// CHECK-LABEL: coreai.graph @empty() attributes {coreai.visibility = "private"} {
// CHECK-NEXT:    coreai.output
// CHECK-NEXT:  }
// GENERIC: "builtin.module"() ({
// GENERIC-LABEL: "coreai.graph"() <{function_type = () -> (), sym_name = "empty"}> ({
// GENERIC-NEXT:    "coreai.output"() : () -> ()
// GENERIC-NEXT:  }) {coreai.visibility = "private"} : () -> ()
// GENERIC: }) {coreai.version = "1.0"} : () -> ()
module attributes {coreai.version = "1.0"} {
  coreai.graph @empty() attributes {coreai.visibility = "private"} {
    coreai.output
  }
}

// -----

// CHECK-LABEL: coreai.graph @callee(%x: tensor<2xf16>) -> tensor<2xf16> {
// CHECK-LABEL: coreai.graph @caller(%x: tensor<2xf16>) -> (tensor<2xf16>, tensor<2xf16>) {
// CHECK-NEXT:    %y = coreai.invoke @callee(%x) : (tensor<2xf16>) -> tensor<2xf16>
// CHECK-NEXT:    %p, %q = coreai.invoke @pair(%x, %y) {coreai.tag = "t"} : (tensor<2xf16>, tensor<2xf16>) -> (tensor<2xf16>, tensor<2xf16>)
// CHECK-NEXT:    coreai.invoke @sink(%q) : (tensor<2xf16>) -> ()
// CHECK-NEXT:    coreai.output %p, %q : tensor<2xf16>, tensor<2xf16>
// GENERIC-LABEL: "coreai.graph"() <{function_type = {{.*}}, sym_name = "caller"
// GENERIC:         %y = "coreai.invoke"(%x) <{callee = @callee}> : (tensor<2xf16>) -> tensor<2xf16>
// GENERIC-NEXT:    %p, %q = "coreai.invoke"(%x, %y) <{callee = @pair}> {coreai.tag = "t"} : (tensor<2xf16>, tensor<2xf16>) -> (tensor<2xf16>, tensor<2xf16>)
module {
  coreai.graph @callee(%x: tensor<2xf16>) -> tensor<2xf16> {
    coreai.output %x : tensor<2xf16>
  }
  coreai.graph @pair(%a: tensor<2xf16>, %b: tensor<2xf16>) -> (tensor<2xf16>, tensor<2xf16>) {
    coreai.output %b, %a : tensor<2xf16>, tensor<2xf16>
  }
  coreai.graph @sink(%a: tensor<2xf16>) {
    coreai.output
  }
  coreai.graph @caller(%x: tensor<2xf16>) -> (tensor<2xf16>, tensor<2xf16>) {
    %y = coreai.invoke @callee(%x) : (tensor<2xf16>) -> tensor<2xf16>
    %p, %q = coreai.invoke @pair(%x, %y) {coreai.tag = "t"} : (tensor<2xf16>, tensor<2xf16>) -> (tensor<2xf16>, tensor<2xf16>)
    coreai.invoke @sink(%q) : (tensor<2xf16>) -> ()
    coreai.output %p, %q : tensor<2xf16>, tensor<2xf16>
  }
}

// -----

// CHECK-LABEL: coreai.graph @dense_constants
// CHECK-NEXT:    %ints = coreai.constant dense<[[1, -2], [3, -4]]> : tensor<2x2xsi8>
// CHECK-NEXT:    %floats = coreai.constant dense<[1.500000e+00, -2.500000e+00]> : tensor<2xf16>
// CHECK-NEXT:    %splat = coreai.constant dense<2.500000e-01> : tensor<4x8xf32>
// CHECK-NEXT:    %scalar = coreai.constant dense<7> : tensor<si16>
// CHECK-NEXT:    %bits = coreai.constant dense<[true, false, true]> : tensor<3xi1>
// CHECK-NEXT:    %named = coreai.constant {coreai.name = "w"} dense<[1, 2]> : tensor<2xui32>
// GENERIC-LABEL: "coreai.graph"() <{function_type = {{.*}}, sym_name = "dense_constants"
// GENERIC:         %ints = "coreai.constant"() <{value = dense<[[1, -2], [3, -4]]> : tensor<2x2xsi8>}> : () -> tensor<2x2xsi8>
// GENERIC:         %named = "coreai.constant"() <{value = dense<[1, 2]> : tensor<2xui32>}> {coreai.name = "w"} : () -> tensor<2xui32>
coreai.graph @dense_constants() {
  %ints = coreai.constant dense<[[1, -2], [3, -4]]> : tensor<2x2xsi8>
  %floats = coreai.constant dense<[1.500000e+00, -2.500000e+00]> : tensor<2xf16>
  %splat = coreai.constant dense<2.500000e-01> : tensor<4x8xf32>
  %scalar = coreai.constant dense<7> : tensor<si16>
  %bits = coreai.constant dense<[true, false, true]> : tensor<3xi1>
  %named = coreai.constant {coreai.name = "w"} dense<[1, 2]> : tensor<2xui32>
  coreai.output
}

// -----

// CHECK-LABEL: coreai.graph @resource_constant
// CHECK-NEXT:    %w = coreai.constant dense_resource<w0> : tensor<2x4xf16>
// CHECK:       {-#
// CHECK-NEXT:    dialect_resources: {
// CHECK-NEXT:      builtin: {
// CHECK-NEXT:        w0: "0x020000000000003C004000420044004500460047"
// CHECK-NEXT:      }
// CHECK-NEXT:    }
// CHECK-NEXT:  #-}
// GENERIC: %w = "coreai.constant"() <{value = dense_resource<w0> : tensor<2x4xf16>}> : () -> tensor<2x4xf16>
// GENERIC: w0: "0x020000000000003C004000420044004500460047"
coreai.graph @resource_constant() -> tensor<2x4xf16> {
  %w = coreai.constant dense_resource<w0> : tensor<2x4xf16>
  coreai.output %w : tensor<2x4xf16>
}
{-#
  dialect_resources: {
    builtin: {
      w0: "0x020000000000003C004000420044004500460047"
    }
  }
#-}

// -----

// Per-channel int8 quantization.
// CHECK-LABEL: coreai.graph @blockwise_shift_scale
// CHECK:         %w = coreai.blockwise_shift_scale %data, %scale, %zp, %bias : (tensor<4x8xsi8>, tensor<4x1xf16>, tensor<4x1xsi8>, tensor<4x1xf16>) -> tensor<4x8xf16>
// CHECK-NEXT:    coreai.output %w : tensor<4x8xf16>
// GENERIC: %w = "coreai.blockwise_shift_scale"(%data, %scale, %zp, %bias) : (tensor<4x8xsi8>, tensor<4x1xf16>, tensor<4x1xsi8>, tensor<4x1xf16>) -> tensor<4x8xf16>
coreai.graph @blockwise_shift_scale(%data: tensor<4x8xsi8>, %scale: tensor<4x1xf16>, %zp: tensor<4x1xsi8>, %bias: tensor<4x1xf16>) -> tensor<4x8xf16> {
  %w = coreai.blockwise_shift_scale %data, %scale, %zp, %bias : (tensor<4x8xsi8>, tensor<4x1xf16>, tensor<4x1xsi8>, tensor<4x1xf16>) -> tensor<4x8xf16>
  coreai.output %w : tensor<4x8xf16>
}

// -----

// MXFP4: fp4 data, f8E8M0FNU scales per block of 4 along the input axis, float zero offset.
// CHECK-LABEL: coreai.graph @blockwise_mx
// CHECK:         %w = coreai.blockwise_shift_scale %data, %scale, %zero, %bias : (tensor<2x8xf4E2M1FN>, tensor<2x2xf8E8M0FNU>, tensor<2x2xf4E2M1FN>, tensor<2x2xbf16>) -> tensor<2x8xbf16>
coreai.graph @blockwise_mx(%data: tensor<2x8xf4E2M1FN>, %scale: tensor<2x2xf8E8M0FNU>, %zero: tensor<2x2xf4E2M1FN>, %bias: tensor<2x2xbf16>) -> tensor<2x8xbf16> {
  %w = coreai.blockwise_shift_scale %data, %scale, %zero, %bias : (tensor<2x8xf4E2M1FN>, tensor<2x2xf8E8M0FNU>, tensor<2x2xf4E2M1FN>, tensor<2x2xbf16>) -> tensor<2x8xbf16>
  coreai.output %w : tensor<2x8xbf16>
}

// -----

// The textual example from a real program (scalar palettization, one LUT).
// CHECK-LABEL: coreai.graph @lut_to_dense
// CHECK-NEXT:    %w = coreai.lut_to_dense %i, %l, %a : (tensor<2x3xui4>, tensor<1x1x16x1xf16>, tensor<si16>) -> tensor<2x3xf16>
// GENERIC: %w = "coreai.lut_to_dense"(%i, %l, %a) : (tensor<2x3xui4>, tensor<1x1x16x1xf16>, tensor<si16>) -> tensor<2x3xf16>
coreai.graph @lut_to_dense(%i: tensor<2x3xui4>, %l: tensor<1x1x16x1xf16>, %a: tensor<si16>) -> tensor<2x3xf16> {
  %w = coreai.lut_to_dense %i, %l, %a : (tensor<2x3xui4>, tensor<1x1x16x1xf16>, tensor<si16>) -> tensor<2x3xf16>
  coreai.output %w : tensor<2x3xf16>
}

// -----

// Vector palettization: per-grouped-channel LUTs (2 groups of rows) of 2-vectors along axis 0.
// CHECK-LABEL: coreai.graph @lut_to_dense_vector
// CHECK-NEXT:    %axis = coreai.constant dense<0> : tensor<si16>
// CHECK-NEXT:    %w = coreai.lut_to_dense %i, %l, %axis : (tensor<4x6xui2>, tensor<2x1x4x2xf32>, tensor<si16>) -> tensor<8x6xf32>
coreai.graph @lut_to_dense_vector(%i: tensor<4x6xui2>, %l: tensor<2x1x4x2xf32>) -> tensor<8x6xf32> {
  %axis = coreai.constant dense<0> : tensor<si16>
  %w = coreai.lut_to_dense %i, %l, %axis : (tensor<4x6xui2>, tensor<2x1x4x2xf32>, tensor<si16>) -> tensor<8x6xf32>
  coreai.output %w : tensor<8x6xf32>
}

// -----

// CHECK-LABEL: coreai.graph @sparse
// CHECK-NEXT:    %s = coreai.build_sparse_with_bitmask %values, %mask : (tensor<3xf16>, tensor<2x4xui1>) -> !coreai.sparse<tensor<2x4xf16>>
// CHECK-NEXT:    %d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<2x4xf16>>) -> tensor<2x4xf16>
// CHECK-NEXT:    coreai.output %d : tensor<2x4xf16>
// GENERIC:       %s = "coreai.build_sparse_with_bitmask"(%values, %mask) : (tensor<3xf16>, tensor<2x4xui1>) -> !coreai.sparse<tensor<2x4xf16>>
// GENERIC-NEXT:  %d = "coreai.sparse_with_bitmask_to_dense"(%s) : (!coreai.sparse<tensor<2x4xf16>>) -> tensor<2x4xf16>
coreai.graph @sparse(%values: tensor<3xf16>, %mask: tensor<2x4xui1>) -> tensor<2x4xf16> {
  %s = coreai.build_sparse_with_bitmask %values, %mask : (tensor<3xf16>, tensor<2x4xui1>) -> !coreai.sparse<tensor<2x4xf16>>
  %d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<2x4xf16>>) -> tensor<2x4xf16>
  coreai.output %d : tensor<2x4xf16>
}

// -----

// The sparse type also appears in graph signatures.
// CHECK-LABEL: coreai.graph @sparse_argument(%s: !coreai.sparse<tensor<4x4xsi8>>) -> tensor<4x4xsi8> {
// CHECK-NEXT:    %d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<4x4xsi8>>) -> tensor<4x4xsi8>
coreai.graph @sparse_argument(%s: !coreai.sparse<tensor<4x4xsi8>>) -> tensor<4x4xsi8> {
  %d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<4x4xsi8>>) -> tensor<4x4xsi8>
  coreai.output %d : tensor<4x4xsi8>
}

// -----

// CHECK-LABEL: coreai.graph @cast
// CHECK-NEXT:    %h = coreai.cast %x : tensor<2x3xf32> to tensor<2x3xf16>
// CHECK-NEXT:    %i = coreai.cast %h : tensor<2x3xf16> to tensor<2x3xsi8>
// GENERIC:       %h = "coreai.cast"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf16>
coreai.graph @cast(%x: tensor<2x3xf32>) -> tensor<2x3xsi8> {
  %h = coreai.cast %x : tensor<2x3xf32> to tensor<2x3xf16>
  %i = coreai.cast %h : tensor<2x3xf16> to tensor<2x3xsi8>
  coreai.output %i : tensor<2x3xsi8>
}

// -----

// CHECK-LABEL: coreai.graph @linear
// CHECK-NEXT:    %w = coreai.constant dense<1.000000e+00> : tensor<2x4xf16>
// CHECK-NEXT:    %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>
// CHECK-NEXT:    %wt = coreai.transpose %w, %perm : (tensor<2x4xf16>, tensor<2xui32>) -> tensor<4x2xf16>
// CHECK-NEXT:    %y = coreai.batch_matmul %x, %wt : (tensor<1x4xf16>, tensor<4x2xf16>) -> tensor<1x2xf16>
// GENERIC:       %wt = "coreai.transpose"(%w, %perm) : (tensor<2x4xf16>, tensor<2xui32>) -> tensor<4x2xf16>
// GENERIC-NEXT:  %y = "coreai.batch_matmul"(%x, %wt) : (tensor<1x4xf16>, tensor<4x2xf16>) -> tensor<1x2xf16>
coreai.graph @linear(%x: tensor<1x4xf16>) -> tensor<1x2xf16> {
  %w = coreai.constant dense<1.000000e+00> : tensor<2x4xf16>
  %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>
  %wt = coreai.transpose %w, %perm : (tensor<2x4xf16>, tensor<2xui32>) -> tensor<4x2xf16>
  %y = coreai.batch_matmul %x, %wt : (tensor<1x4xf16>, tensor<4x2xf16>) -> tensor<1x2xf16>
  coreai.output %y : tensor<1x2xf16>
}

// -----

// CHECK-LABEL: coreai.graph @broadcasting_matmul
// CHECK-NEXT:    %y = coreai.decomposable.broadcasting_batch_matmul %a, %b : (tensor<2x3x4xf16>, tensor<1x4x5xf16>) -> tensor<2x3x5xf16>
// GENERIC:       %y = "coreai.decomposable.broadcasting_batch_matmul"(%a, %b) : (tensor<2x3x4xf16>, tensor<1x4x5xf16>) -> tensor<2x3x5xf16>
coreai.graph @broadcasting_matmul(%a: tensor<2x3x4xf16>, %b: tensor<1x4x5xf16>) -> tensor<2x3x5xf16> {
  %y = coreai.decomposable.broadcasting_batch_matmul %a, %b : (tensor<2x3x4xf16>, tensor<1x4x5xf16>) -> tensor<2x3x5xf16>
  coreai.output %y : tensor<2x3x5xf16>
}

// -----

// CHECK-LABEL: coreai.graph @conv2d
// CHECK:         %groups = coreai.constant dense<1> : tensor<ui32>
// CHECK-NEXT:    %y = coreai.conv2d %x, %w, %strides, %dilations, %groups : (tensor<1x3x8x8xf16>, tensor<4x3x3x3xf16>, tensor<2xui32>, tensor<2xui32>, tensor<ui32>) -> tensor<1x4x6x6xf16>
// GENERIC:       %y = "coreai.conv2d"(%x, %w, %strides, %dilations, %groups) : (tensor<1x3x8x8xf16>, tensor<4x3x3x3xf16>, tensor<2xui32>, tensor<2xui32>, tensor<ui32>) -> tensor<1x4x6x6xf16>
coreai.graph @conv2d(%x: tensor<1x3x8x8xf16>, %w: tensor<4x3x3x3xf16>) -> tensor<1x4x6x6xf16> {
  %strides = coreai.constant dense<1> : tensor<2xui32>
  %dilations = coreai.constant dense<1> : tensor<2xui32>
  %groups = coreai.constant dense<1> : tensor<ui32>
  %y = coreai.conv2d %x, %w, %strides, %dilations, %groups : (tensor<1x3x8x8xf16>, tensor<4x3x3x3xf16>, tensor<2xui32>, tensor<2xui32>, tensor<ui32>) -> tensor<1x4x6x6xf16>
  coreai.output %y : tensor<1x4x6x6xf16>
}

// -----

// CHECK-LABEL: coreai.graph @gather_nd
// CHECK-NEXT:    %e = coreai.gather_nd %table at %ids : (tensor<10x16xf16>, tensor<4x1xsi32>) to tensor<4x16xf16>
// GENERIC:       %e = "coreai.gather_nd"(%table, %ids) : (tensor<10x16xf16>, tensor<4x1xsi32>) -> tensor<4x16xf16>
coreai.graph @gather_nd(%table: tensor<10x16xf16>, %ids: tensor<4x1xsi32>) -> tensor<4x16xf16> {
  %e = coreai.gather_nd %table at %ids : (tensor<10x16xf16>, tensor<4x1xsi32>) to tensor<4x16xf16>
  coreai.output %e : tensor<4x16xf16>
}

// -----

// Dynamic dimensions are accepted where the verifiers cannot decide.
// CHECK-LABEL: coreai.graph @dynamic
// CHECK-NEXT:    %y = coreai.batch_matmul %x, %w : (tensor<?x4xf16>, tensor<4x2xf16>) -> tensor<?x2xf16>
// CHECK-NEXT:    %c = coreai.cast %y : tensor<?x2xf16> to tensor<?x2xf32>
coreai.graph @dynamic(%x: tensor<?x4xf16>, %w: tensor<4x2xf16>) -> tensor<?x2xf32> {
  %y = coreai.batch_matmul %x, %w : (tensor<?x4xf16>, tensor<4x2xf16>) -> tensor<?x2xf16>
  %c = coreai.cast %y : tensor<?x2xf16> to tensor<?x2xf32>
  coreai.output %c : tensor<?x2xf32>
}
