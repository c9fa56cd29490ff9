// Which constants `sparsify` prunes, and along which axis n:m runs: the input axis each
// consumer implies (coreai-ir.md §3, §4). Weights hold 8 elements, the threshold is 7; with
// n:m = 1:2 the values constant shows which of each pair along the input axis was kept.
// RUN: coreai-opt %s --split-input-file -p "sparsify<n_m_ratio=(1,2),weight_num_threshold=7>" | filecheck %s
// RUN: coreai-opt %s --split-input-file -p "sparsify<n_m_ratio=(1,2),weight_num_threshold=7>" 2>&1 >/dev/null | filecheck %s --check-prefix=WARN

// matmul y operand [K, N]: pairs run down the columns (axis 0). Of (1, 5), (-8, 6), (3, -2),
// (4, 7) the larger magnitudes stay: -8 and 3 in row 0, 5 and 7 in row 1; the mask is
// 0110 1001, stored least significant bit first (0x96). A weight at the threshold stays.
// CHECK-LABEL: coreai.graph @matmul_y
// CHECK-NEXT:    %w_values = coreai.constant dense<[-8.000000e+00, 3.000000e+00, 5.000000e+00, 7.000000e+00]> : tensor<4xf16>
// CHECK-NEXT:    %w_mask = coreai.constant dense_resource<w_mask> : tensor<2x4xui1>
// CHECK-NEXT:    %w_sparse = coreai.build_sparse_with_bitmask %w_values, %w_mask : (tensor<4xf16>, tensor<2x4xui1>) -> !coreai.sparse<tensor<2x4xf16>>
// CHECK-NEXT:    %w = coreai.sparse_with_bitmask_to_dense %w_sparse : (!coreai.sparse<tensor<2x4xf16>>) -> tensor<2x4xf16>
// CHECK-NEXT:    %small = coreai.constant dense<{{.*}}> : tensor<1x7xf16>
// CHECK:         w_mask: "0x0100000096"
coreai.graph @matmul_y(%x: tensor<1x2xf16>, %v: tensor<1x1xf16>) -> (tensor<1x4xf16>, tensor<1x7xf16>) {
  %w = coreai.constant dense<[[1.0, -8.0, 3.0, 4.0], [5.0, 6.0, -2.0, 7.0]]> : tensor<2x4xf16>
  %small = coreai.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]]> : tensor<1x7xf16>
  %y = coreai.batch_matmul %x, %w : (tensor<1x2xf16>, tensor<2x4xf16>) -> tensor<1x4xf16>
  %z = coreai.batch_matmul %v, %small : (tensor<1x1xf16>, tensor<1x7xf16>) -> tensor<1x7xf16>
  coreai.output %y, %z : tensor<1x4xf16>, tensor<1x7xf16>
}

// -----

// A PyTorch-layout weight [N, K] transposed into matmul y, or matmul x [M, K]: pairs run
// along the rows (axis 1): (1, -8), (3, 4), (5, 6), (-2, 7) keep -8, 4, 6, 7.
// CHECK-LABEL: coreai.graph @transpose
// CHECK-NEXT:    %w_values = coreai.constant dense<[-8.000000e+00, 4.000000e+00, 6.000000e+00, 7.000000e+00]> : tensor<4xf16>
// CHECK-LABEL: coreai.graph @matmul_x
// CHECK-NEXT:    %w_values = coreai.constant dense<[-8.000000e+00, 4.000000e+00, 6.000000e+00, 7.000000e+00]> : tensor<4xf16>
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

// conv2d weight [C_out, C_in, kH, kW]: pairs across the input channels (axis 1): (1, 3),
// (2, 4), (5, 7), (6, 8) keep the second input channel, 3, 4, 7, 8 (along the output
// channels, axis 0, it would keep 5, 6, 7, 8).
// CHECK-LABEL: coreai.graph @conv2d
// CHECK-NEXT:    %w_values = coreai.constant dense<[3.000000e+00, 4.000000e+00, 7.000000e+00, 8.000000e+00]> : tensor<4xf16>
coreai.graph @conv2d(%x: tensor<1x2x1x2xf16>) -> tensor<1x2x1x1xf16> {
  %w = coreai.constant dense<[[[[1.0, 2.0]], [[3.0, 4.0]]], [[[5.0, 6.0]], [[7.0, 8.0]]]]> : tensor<2x2x1x2xf16>
  %strides = coreai.constant dense<1> : tensor<2xui32>
  %dilations = coreai.constant dense<1> : tensor<2xui32>
  %groups = coreai.constant dense<1> : tensor<ui32>
  %y = coreai.conv2d %x, %w, %strides, %dilations, %groups : (tensor<1x2x1x2xf16>, tensor<2x2x1x2xf16>, tensor<2xui32>, tensor<2xui32>, tensor<ui32>) -> tensor<1x2x1x1xf16>
  coreai.output %y : tensor<1x2x1x1xf16>
}

// -----

// A transposed convolution's weight is [C_in, C_out, kH, kW]: pairs run along axis 0:
// (1, 5), (-8, 6), (3, -2), (4, 7), as for matmul y.
// CHECK-LABEL: coreai.graph @conv_transpose2d
// CHECK-NEXT:    %w_values = coreai.constant dense<[-8.000000e+00, 3.000000e+00, 5.000000e+00, 7.000000e+00]> : tensor<4xf16>
coreai.graph @conv_transpose2d(%x: tensor<1x2x1x1xf16>) -> tensor<1x4x1x1xf16> {
  %w = coreai.constant dense<[[[[1.0]], [[-8.0]], [[3.0]], [[4.0]]], [[[5.0]], [[6.0]], [[-2.0]], [[7.0]]]]> : tensor<2x4x1x1xf16>
  %one = coreai.constant dense<1> : tensor<2xui32>
  %zero = coreai.constant dense<0> : tensor<2xui32>
  %groups = coreai.constant dense<1> : tensor<ui32>
  %y = coreai.conv_transpose2d %x, %w, %one, %one, %zero, %zero, %groups : (tensor<1x2x1x1xf16>, tensor<2x4x1x1xf16>, tensor<2xui32>, tensor<2xui32>, tensor<2xui32>, tensor<2xui32>, tensor<ui32>) -> tensor<1x4x1x1xf16>
  coreai.output %y : tensor<1x4x1x1xf16>
}

// -----

// The table of gather_nd: output axis 0, input axis 1 (pairs along the rows).
// CHECK-LABEL: coreai.graph @gather_nd
// CHECK-NEXT:    %table_values = coreai.constant dense<[-8.000000e+00, 4.000000e+00, 6.000000e+00, 7.000000e+00]> : tensor<4xf16>
coreai.graph @gather_nd(%ids: tensor<3x1xsi32>) -> tensor<3x4xf16> {
  %table = coreai.constant dense<[[1.0, -8.0, 3.0, 4.0], [5.0, 6.0, -2.0, 7.0]]> : tensor<2x4xf16>
  %e = coreai.gather_nd %table at %ids : (tensor<2x4xf16>, tensor<3x1xsi32>) to tensor<3x4xf16>
  coreai.output %e : tensor<3x4xf16>
}

// -----

// Uses that disagree (x of one matmul, y of another): a warning, then input axis 1.
// CHECK-LABEL: coreai.graph @disagree
// CHECK-NEXT:    %w_values = coreai.constant dense<[-8.000000e+00, 4.000000e+00, 6.000000e+00, 7.000000e+00]> : tensor<4xf16>
// WARN: warning: constant 'w' (tensor<2x4xf16>) has uses that disagree on its channel axes; using output axis 0, input axis 1
coreai.graph @disagree(%x: tensor<4x3xf16>, %v: tensor<1x2xf16>) -> (tensor<2x3xf16>, tensor<1x4xf16>) {
  %w = coreai.constant dense<[[1.0, -8.0, 3.0, 4.0], [5.0, 6.0, -2.0, 7.0]]> : tensor<2x4xf16>
  %y = coreai.batch_matmul %w, %x : (tensor<2x4xf16>, tensor<4x3xf16>) -> tensor<2x3xf16>
  %z = coreai.batch_matmul %v, %w : (tensor<1x2xf16>, tensor<2x4xf16>) -> tensor<1x4xf16>
  coreai.output %y, %z : tensor<2x3xf16>, tensor<1x4xf16>
}

// -----

// Anything but a consumer keeps a weight dense, with a warning; an unused constant is pruned.
// CHECK-LABEL: coreai.graph @not_a_consumer
// CHECK-NEXT:    %u_values = coreai.constant
// CHECK:         %b = coreai.constant dense<{{.*}}> : tensor<2x4xf16>
// CHECK-NEXT:    coreai.add %x, %b
// WARN: eligibility.mlir:{{[0-9]+}}:3: warning: constant 'b' (tensor<2x4xf16>) is left dense: it feeds coreai.add (operand 1), not a weight consumer
coreai.graph @not_a_consumer(%x: tensor<2x4xf16>) -> tensor<2x4xf16> {
  %u = coreai.constant dense<[[1.0, -8.0, 3.0, 4.0], [5.0, 6.0, -2.0, 7.0]]> : tensor<2x4xf16>
  %b = coreai.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf16>
  %y = coreai.add %x, %b : (tensor<2x4xf16>, tensor<2x4xf16>) -> tensor<2x4xf16>
  coreai.output %y : tensor<2x4xf16>
}

// -----

// The values of a sparse weight are not pruned again (a warning says so); 1e8 elements or
// more qualify whatever consumes them (an elided weight, skipped for want of its bytes).
// CHECK-LABEL: coreai.graph @sparse_and_huge
// CHECK-NEXT:    %v = coreai.constant dense<{{.*}}> : tensor<8xf16>
// WARN: warning: skipping constant 'v' (tensor<8xf16>): already the values of a sparse weight
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
