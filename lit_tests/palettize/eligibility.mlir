// Which constants `palettize` compresses, and along which axis: the output axis each consumer
// implies (coreai-ir.md §3, §4), shown by the axis operand of `lut_to_dense` and the shape of
// the per-channel LUTs. Weights hold 8 elements, the threshold is 7; with 1-bit indices each
// LUT holds the 2-means of its channel.
// RUN: coreai-opt %s --split-input-file -p "palettize<n_bits=1,granularity=per_channel,weight_num_threshold=7>" | filecheck %s
// RUN: coreai-opt %s --split-input-file -p "palettize<n_bits=1,granularity=per_channel,weight_num_threshold=7>" 2>&1 >/dev/null | filecheck %s --check-prefix=WARN

// matmul y operand [K, N]: one LUT per column (axis 1), each holding its two values. A
// weight at the threshold stays.
// CHECK-LABEL: coreai.graph @matmul_y
// CHECK-NEXT:    %w_indices = coreai.constant dense_resource<{{.*}}> : tensor<2x4xui1>
// CHECK-NEXT:    %w_lut = coreai.constant dense<{{\[\[\[\[}}1.000000e+00], [5.000000e+00]], {{\[\[}}-8.000000e+00], [6.000000e+00]], {{\[\[}}-2.000000e+00], [3.000000e+00]], {{\[\[}}4.000000e+00], [7.000000e+00]]]]> : tensor<1x4x2x1xf16>
// CHECK-NEXT:    %w_axis = coreai.constant dense<1> : tensor<si16>
// CHECK-NEXT:    %w = coreai.lut_to_dense %w_indices, %w_lut, %w_axis : (tensor<2x4xui1>, tensor<1x4x2x1xf16>, tensor<si16>) -> tensor<2x4xf16>
// CHECK-NEXT:    %small = coreai.constant dense<{{.*}}> : tensor<1x7xf16>
coreai.graph @matmul_y(%x: tensor<1x2xf16>, %v: tensor<1x1xf16>) -> (tensor<1x4xf16>, tensor<1x7xf16>) {
  %w = coreai.constant dense<[[1.0, -8.0, 3.0, 4.0], [5.0, 6.0, -2.0, 7.0]]> : tensor<2x4xf16>
  %small = coreai.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]]> : tensor<1x7xf16>
  %y = coreai.batch_matmul %x, %w : (tensor<1x2xf16>, tensor<2x4xf16>) -> tensor<1x4xf16>
  %z = coreai.batch_matmul %v, %small : (tensor<1x1xf16>, tensor<1x7xf16>) -> tensor<1x7xf16>
  coreai.output %y, %z : tensor<1x4xf16>, tensor<1x7xf16>
}

// -----

// A PyTorch-layout weight [N, K] transposed into matmul y, or matmul x [M, K]: one LUT per
// row (axis 0); row [1, -8, 3, 4] clusters into {-8} and {1, 3, 4} (mean 2.666 in f16).
// CHECK-LABEL: coreai.graph @transpose
// CHECK:         %w_lut = coreai.constant dense<{{\[\[\[\[}}-8.000000e+00], [2.666020e+00]]], {{\[\[\[}}-2.000000e+00], [6.000000e+00]]]]> : tensor<2x1x2x1xf16>
// CHECK-NEXT:    %w_axis = coreai.constant dense<0> : tensor<si16>
// CHECK-LABEL: coreai.graph @matmul_x
// CHECK:         %w_lut = coreai.constant dense<{{.*}}> : tensor<2x1x2x1xf16>
// CHECK-NEXT:    %w_axis = coreai.constant dense<0> : tensor<si16>
coreai.graph @transpose(%x: tensor<1x4xf16>) -> tensor<1x2xf16> {
  %w = coreai.constant dense<[[1.0, -8.0, 3.0, 4.0], [5.0, 6.0, -2.0, 7.0]]> : tensor<2x4xf16>
  %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>
  %wt = coreai.transpose %w, %perm : (tensor<2x4xf16>, tensor<2xui32>) -> tensor<4x2xf16>
  %y = coreai.batch_matmul %x, %wt : (tensor<1x4xf16>, tensor<4x2xf16>) -> tensor<1x2xf16>
  coreai.output %y : tensor<1x2xf16>
}
coreai.graph @matmul_x(%x: tensor<4x3xf16>) -> tensor<2x3xf16> {
  %w = coreai.constant dense<[[1.0, -8.0, 3.0, 4.0], [5.0, 6.0, -2.0, 7.0]]> : tensor<2x4xf16>
  %y = coreai.batch_matmul %w, %x : (tensor<2x4xf16>, tensor<4x3xf16>) -> tensor<2x3xf16>
  coreai.output %y : tensor<2x3xf16>
}

// -----

// conv2d weight [C_out, C_in, kH, kW]: one LUT per output channel (axis 0).
// CHECK-LABEL: coreai.graph @conv2d
// CHECK:         %w_lut = coreai.constant dense<{{\[\[\[\[\[\[}}1.500000e+00], [3.500000e+00]]]]], {{\[\[\[\[\[}}5.500000e+00], [7.500000e+00]]]]]]> : tensor<2x1x1x1x2x1xf16>
// CHECK-NEXT:    %w_axis = coreai.constant dense<0> : tensor<si16>
coreai.graph @conv2d(%x: tensor<1x2x1x2xf16>) -> tensor<1x2x1x1xf16> {
  %w = coreai.constant dense<[[[[1.0, 2.0]], [[3.0, 4.0]]], [[[5.0, 6.0]], [[7.0, 8.0]]]]> : tensor<2x2x1x2xf16>
  %strides = coreai.constant dense<1> : tensor<2xui32>
  %dilations = coreai.constant dense<1> : tensor<2xui32>
  %groups = coreai.constant dense<1> : tensor<ui32>
  %y = coreai.conv2d %x, %w, %strides, %dilations, %groups : (tensor<1x2x1x2xf16>, tensor<2x2x1x2xf16>, tensor<2xui32>, tensor<2xui32>, tensor<ui32>) -> tensor<1x2x1x1xf16>
  coreai.output %y : tensor<1x2x1x1xf16>
}

// -----

// A transposed convolution's weight is [C_in, C_out, kH, kW]: output axis 1.
// CHECK-LABEL: coreai.graph @conv_transpose2d
// CHECK:         %w_lut = coreai.constant dense<{{.*}}> : tensor<1x4x1x1x2x1xf16>
// CHECK-NEXT:    %w_axis = coreai.constant dense<1> : tensor<si16>
coreai.graph @conv_transpose2d(%x: tensor<1x2x1x1xf16>) -> tensor<1x4x1x1xf16> {
  %w = coreai.constant dense<[[[[1.0]], [[-8.0]], [[3.0]], [[4.0]]], [[[5.0]], [[6.0]], [[-2.0]], [[7.0]]]]> : tensor<2x4x1x1xf16>
  %one = coreai.constant dense<1> : tensor<2xui32>
  %zero = coreai.constant dense<0> : tensor<2xui32>
  %groups = coreai.constant dense<1> : tensor<ui32>
  %y = coreai.conv_transpose2d %x, %w, %one, %one, %zero, %zero, %groups : (tensor<1x2x1x1xf16>, tensor<2x4x1x1xf16>, tensor<2xui32>, tensor<2xui32>, tensor<2xui32>, tensor<2xui32>, tensor<ui32>) -> tensor<1x4x1x1xf16>
  coreai.output %y : tensor<1x4x1x1xf16>
}

// -----

// The table of gather_nd: output axis 0.
// CHECK-LABEL: coreai.graph @gather_nd
// CHECK:         %table_lut = coreai.constant dense<{{.*}}> : tensor<2x1x2x1xf16>
// CHECK-NEXT:    %table_axis = coreai.constant dense<0> : tensor<si16>
coreai.graph @gather_nd(%ids: tensor<3x1xsi32>) -> tensor<3x4xf16> {
  %table = coreai.constant dense<[[1.0, -8.0, 3.0, 4.0], [5.0, 6.0, -2.0, 7.0]]> : tensor<2x4xf16>
  %e = coreai.gather_nd %table at %ids : (tensor<2x4xf16>, tensor<3x1xsi32>) to tensor<3x4xf16>
  coreai.output %e : tensor<3x4xf16>
}

// -----

// Uses that disagree (x of one matmul, y of another): a warning, then output axis 0.
// CHECK-LABEL: coreai.graph @disagree
// CHECK:         %w_axis = coreai.constant dense<0> : tensor<si16>
// WARN: warning: constant 'w' (tensor<2x4xf16>) has uses that disagree on its channel axes; using output axis 0, input axis 1
coreai.graph @disagree(%x: tensor<4x3xf16>, %v: tensor<1x2xf16>) -> (tensor<2x3xf16>, tensor<1x4xf16>) {
  %w = coreai.constant dense<[[1.0, -8.0, 3.0, 4.0], [5.0, 6.0, -2.0, 7.0]]> : tensor<2x4xf16>
  %y = coreai.batch_matmul %w, %x : (tensor<2x4xf16>, tensor<4x3xf16>) -> tensor<2x3xf16>
  %z = coreai.batch_matmul %v, %w : (tensor<1x2xf16>, tensor<2x4xf16>) -> tensor<1x4xf16>
  coreai.output %y, %z : tensor<2x3xf16>, tensor<1x4xf16>
}

// -----

// Anything but a consumer keeps a weight dense, with a warning; an unused constant is
// palettized.
// CHECK-LABEL: coreai.graph @not_a_consumer
// CHECK:         %u = coreai.lut_to_dense
// CHECK-NEXT:    %b = coreai.constant dense<{{.*}}> : tensor<2x4xf16>
// CHECK-NEXT:    coreai.add %x, %b
// WARN: eligibility.mlir:{{[0-9]+}}:3: warning: constant 'b' (tensor<2x4xf16>) is left dense: it feeds coreai.add (operand 1), not a weight consumer
coreai.graph @not_a_consumer(%x: tensor<2x4xf16>) -> tensor<2x4xf16> {
  %u = coreai.constant dense<[[1.0, -8.0, 3.0, 4.0], [5.0, 6.0, -2.0, 7.0]]> : tensor<2x4xf16>
  %b = coreai.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf16>
  %y = coreai.add %x, %b : (tensor<2x4xf16>, tensor<2x4xf16>) -> tensor<2x4xf16>
  coreai.output %y : tensor<2x4xf16>
}

// -----

// The values of a sparse weight are palettized per tensor, as one vector (the chained
// form of sparsify + palettize); 1e8 elements or more qualify whatever consumes them (an
// elided weight, skipped for want of its bytes).
// CHECK-LABEL: coreai.graph @sparse_and_huge
// CHECK-NEXT:    %v_indices = coreai.constant dense_resource<{{.*}}> : tensor<8xui1>
// CHECK-NEXT:    %v_lut = coreai.constant dense<{{\[\[\[}}2.500000e+00], [6.500000e+00]]]> : tensor<1x2x1xf16>
// CHECK-NEXT:    %v_axis = coreai.constant dense<0> : tensor<si16>
// CHECK-NEXT:    %v = coreai.lut_to_dense %v_indices, %v_lut, %v_axis : (tensor<8xui1>, tensor<1x2x1xf16>, tensor<si16>) -> tensor<8xf16>
// CHECK-NEXT:    %m = coreai.constant
// CHECK-NEXT:    %s = coreai.build_sparse_with_bitmask %v, %m
// WARN: warning: skipping constant '__elided__' (tensor<10000x10000xf16>): the bytes of dense_resource<__elided__> are not available
coreai.graph @sparse_and_huge(%x: tensor<1x2xf16>, %h: tensor<10000x10000xf16>) -> (tensor<1x4xf16>, tensor<10000x10000xf16>) {
  %v = coreai.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf16>
  %m = coreai.constant dense<true> : tensor<2x4xui1>
  %s = coreai.build_sparse_with_bitmask %v, %m : (tensor<8xf16>, tensor<2x4xui1>) -> !coreai.sparse<tensor<2x4xf16>>
  %w = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<2x4xf16>>) -> tensor<2x4xf16>
  %y = coreai.batch_matmul %x, %w : (tensor<1x2xf16>, tensor<2x4xf16>) -> tensor<1x4xf16>
  %big = coreai.constant dense_resource<__elided__> : tensor<10000x10000xf16>
  %z = coreai.add %h, %big : (tensor<10000x10000xf16>, tensor<10000x10000xf16>) -> tensor<10000x10000xf16>
  coreai.output %y, %z : tensor<1x4xf16>, tensor<10000x10000xf16>
}
