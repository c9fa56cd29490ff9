// Which constants `quantize` compresses, and along which axes (coreai-ir.md §3, §4). Weights
// hold 8 elements, the threshold is 7; per-channel int8 quantization makes the scale's shape
// show the output axis (the axis of length > 1).
// RUN: coreai-opt %s --split-input-file -p "quantize<weight_num_threshold=7>" | filecheck %s
// RUN: coreai-opt %s --split-input-file -p "quantize<weight_num_threshold=7>" 2>&1 >/dev/null | filecheck %s --check-prefix=WARN

// A weight above the threshold is compressed; one at the threshold is not, silently. The
// rows' largest magnitudes, 127 and 254, make the scales 1 and 2: the codes are the weights,
// then the weights halved.
// CHECK-LABEL: coreai.graph @threshold
// CHECK-NEXT:    %w_data = coreai.constant dense<{{\[\[}}127, -127, 64, 1], [127, 1, -127, 0]]> : tensor<2x4xsi8>
// CHECK-NEXT:    %w_scale = coreai.constant dense<{{\[\[}}1.000000e+00], [2.000000e+00]]> : tensor<2x1xf16>
// CHECK-NEXT:    %w_zero_point = coreai.constant dense<0> : tensor<2x1xsi8>
// CHECK-NEXT:    %w_offset = coreai.constant dense<0.000000e+00> : tensor<2x1xf16>
// CHECK-NEXT:    %w = coreai.blockwise_shift_scale %w_data, %w_scale, %w_zero_point, %w_offset : (tensor<2x4xsi8>, tensor<2x1xf16>, tensor<2x1xsi8>, tensor<2x1xf16>) -> tensor<2x4xf16>
// CHECK-NEXT:    %small = coreai.constant dense<{{.*}}> : tensor<1x7xf16>
// CHECK-NOT:     blockwise_shift_scale
// CHECK:         coreai.output
coreai.graph @threshold(%x: tensor<1x4xf16>, %x7: tensor<1x7xf16>) -> (tensor<1x2xf16>, tensor<1x1xf16>) {
  %w = coreai.constant dense<[[127.0, -127.0, 64.0, 1.0], [254.0, 2.0, -254.0, 0.0]]> : tensor<2x4xf16>
  %small = coreai.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]]> : tensor<1x7xf16>
  %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>
  %wt = coreai.transpose %w, %perm : (tensor<2x4xf16>, tensor<2xui32>) -> tensor<4x2xf16>
  %y = coreai.batch_matmul %x, %wt : (tensor<1x4xf16>, tensor<4x2xf16>) -> tensor<1x2xf16>
  %st = coreai.transpose %small, %perm : (tensor<1x7xf16>, tensor<2xui32>) -> tensor<7x1xf16>
  %z = coreai.batch_matmul %x7, %st : (tensor<1x7xf16>, tensor<7x1xf16>) -> tensor<1x1xf16>
  coreai.output %y, %z : tensor<1x2xf16>, tensor<1x1xf16>
}

// -----

// matmul y operand [K, N]: the output axis is the last one.
// CHECK-LABEL: coreai.graph @matmul_y
// CHECK:         %w_scale = coreai.constant {{.*}} : tensor<1x4xf16>
// CHECK:         coreai.batch_matmul %x, %w
coreai.graph @matmul_y(%x: tensor<1x2xf16>) -> tensor<1x4xf16> {
  %w = coreai.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf16>
  %y = coreai.batch_matmul %x, %w : (tensor<1x2xf16>, tensor<2x4xf16>) -> tensor<1x4xf16>
  coreai.output %y : tensor<1x4xf16>
}

// -----

// matmul x operand [M, K]: the output axis is the second to last.
// CHECK-LABEL: coreai.graph @matmul_x
// CHECK:         %w_scale = coreai.constant {{.*}} : tensor<2x1xf16>
// CHECK:         coreai.batch_matmul %w, %x
coreai.graph @matmul_x(%x: tensor<4x3xf16>) -> tensor<2x3xf16> {
  %w = coreai.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf16>
  %y = coreai.batch_matmul %w, %x : (tensor<2x4xf16>, tensor<4x3xf16>) -> tensor<2x3xf16>
  coreai.output %y : tensor<2x3xf16>
}

// -----

// A PyTorch-layout weight [N, K] transposed into matmul y: the output axis is the first.
// The broadcasting matmul is a consumer too.
// CHECK-LABEL: coreai.graph @transpose
// CHECK:         %w_scale = coreai.constant {{.*}} : tensor<4x1xf16>
// CHECK:         coreai.transpose %w, %perm
coreai.graph @transpose(%x: tensor<1x2xf16>) -> tensor<1x4xf16> {
  %w = coreai.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf16>
  %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>
  %wt = coreai.transpose %w, %perm : (tensor<4x2xf16>, tensor<2xui32>) -> tensor<2x4xf16>
  %y = coreai.decomposable.broadcasting_batch_matmul %x, %wt : (tensor<1x2xf16>, tensor<2x4xf16>) -> tensor<1x4xf16>
  coreai.output %y : tensor<1x4xf16>
}

// -----

// conv2d weight [C_out, C_in, kH, kW]: output axis 0.
// CHECK-LABEL: coreai.graph @conv2d
// CHECK:         %w_scale = coreai.constant {{.*}} : tensor<2x1x1x1xf16>
// CHECK:         coreai.conv2d %x, %w, %strides, %dilations, %groups
coreai.graph @conv2d(%x: tensor<1x1x3x3xf16>) -> tensor<1x2x1x1xf16> {
  %w = coreai.constant dense<[[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]], [[[9.0, 8.0, 7.0], [6.0, 5.0, 4.0], [3.0, 2.0, 1.0]]]]> : tensor<2x1x3x3xf16>
  %strides = coreai.constant dense<1> : tensor<2xui32>
  %dilations = coreai.constant dense<1> : tensor<2xui32>
  %groups = coreai.constant dense<1> : tensor<ui32>
  %y = coreai.conv2d %x, %w, %strides, %dilations, %groups : (tensor<1x1x3x3xf16>, tensor<2x1x3x3xf16>, tensor<2xui32>, tensor<2xui32>, tensor<ui32>) -> tensor<1x2x1x1xf16>
  coreai.output %y : tensor<1x2x1x1xf16>
}

// -----

// A transposed convolution's weight is [C_in, C_out, kH, kW]: output axis 1.
// CHECK-LABEL: coreai.graph @conv_transpose2d
// CHECK:         %w_scale = coreai.constant {{.*}} : tensor<1x4x1x1xf16>
// CHECK:         coreai.conv_transpose2d %x, %w,
coreai.graph @conv_transpose2d(%x: tensor<1x2x1x1xf16>) -> tensor<1x4x1x1xf16> {
  %w = coreai.constant dense<[[[[1.0]], [[2.0]], [[3.0]], [[4.0]]], [[[5.0]], [[6.0]], [[7.0]], [[8.0]]]]> : tensor<2x4x1x1xf16>
  %one = coreai.constant dense<1> : tensor<2xui32>
  %zero = coreai.constant dense<0> : tensor<2xui32>
  %groups = coreai.constant dense<1> : tensor<ui32>
  %y = coreai.conv_transpose2d %x, %w, %one, %one, %zero, %zero, %groups : (tensor<1x2x1x1xf16>, tensor<2x4x1x1xf16>, tensor<2xui32>, tensor<2xui32>, tensor<2xui32>, tensor<2xui32>, tensor<ui32>) -> tensor<1x4x1x1xf16>
  coreai.output %y : tensor<1x4x1x1xf16>
}

// -----

// The table of gather_nd (operand 0) is a weight, output axis 0; its indices are not.
// CHECK-LABEL: coreai.graph @gather_nd
// CHECK:         %table_scale = coreai.constant {{.*}} : tensor<4x1xf16>
// CHECK:         coreai.gather_nd %table at %ids
coreai.graph @gather_nd(%ids: tensor<3x1xsi32>) -> tensor<3x2xf16> {
  %table = coreai.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf16>
  %e = coreai.gather_nd %table at %ids : (tensor<4x2xf16>, tensor<3x1xsi32>) to tensor<3x2xf16>
  coreai.output %e : tensor<3x2xf16>
}

// -----

// A weight-sized constant feeding anything else stays dense, with a warning naming the use.
// CHECK-LABEL: coreai.graph @not_a_consumer
// CHECK-NEXT:    %b = coreai.constant dense<{{.*}}> : tensor<2x4xf16>
// CHECK-NEXT:    coreai.add %x, %b
// WARN: eligibility.mlir:{{[0-9]+}}:3: warning: constant 'b' (tensor<2x4xf16>) is left dense: it feeds coreai.add (operand 1), not a weight consumer
coreai.graph @not_a_consumer(%x: tensor<2x4xf16>) -> tensor<2x4xf16> {
  %b = coreai.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf16>
  %y = coreai.add %x, %b : (tensor<2x4xf16>, tensor<2x4xf16>) -> tensor<2x4xf16>
  coreai.output %y : tensor<2x4xf16>
}

// -----

// Uses that disagree on the axes (x of one matmul, y of another): a warning, then output
// axis 0 and input axis 1.
// CHECK-LABEL: coreai.graph @disagree
// CHECK:         %w_scale = coreai.constant {{.*}} : tensor<2x1xf16>
// WARN: warning: constant 'w' (tensor<2x4xf16>) has uses that disagree on its channel axes; using output axis 0, input axis 1
coreai.graph @disagree(%x: tensor<4x3xf16>, %v: tensor<1x2xf16>) -> (tensor<2x3xf16>, tensor<1x4xf16>) {
  %w = coreai.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf16>
  %y = coreai.batch_matmul %w, %x : (tensor<2x4xf16>, tensor<4x3xf16>) -> tensor<2x3xf16>
  %z = coreai.batch_matmul %v, %w : (tensor<1x2xf16>, tensor<2x4xf16>) -> tensor<1x4xf16>
  coreai.output %y, %z : tensor<2x3xf16>, tensor<1x4xf16>
}

// -----

// A weight passed to a graph is judged by the callee's use of the parameter (here matmul y:
// output axis 1).
// CHECK-LABEL: coreai.graph private noinline @layer
// CHECK-LABEL: coreai.graph @invoke
// CHECK:         %w_scale = coreai.constant {{.*}} : tensor<1x4xf16>
// CHECK:         coreai.invoke @layer(%w, %x)
coreai.graph private noinline @layer(%w: tensor<2x4xf16>, %x: tensor<1x2xf16>) -> tensor<1x4xf16> {
  %y = coreai.batch_matmul %x, %w : (tensor<1x2xf16>, tensor<2x4xf16>) -> tensor<1x4xf16>
  coreai.output %y : tensor<1x4xf16>
}
coreai.graph @invoke(%x: tensor<1x2xf16>) -> tensor<1x4xf16> {
  %w = coreai.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf16>
  %y = coreai.invoke @layer(%w, %x) : (tensor<2x4xf16>, tensor<1x2xf16>) -> tensor<1x4xf16>
  coreai.output %y : tensor<1x4xf16>
}

// -----

// An unused constant qualifies whatever it is (nothing consumes it the wrong way).
// CHECK-LABEL: coreai.graph @unused
// CHECK:         %u = coreai.blockwise_shift_scale %u_data, %u_scale, %u_zero_point, %u_offset
coreai.graph @unused(%x: tensor<2xf16>) -> tensor<2xf16> {
  %u = coreai.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf16>
  coreai.output %x : tensor<2xf16>
}

// -----

// The parts of a compressed weight are not weights: a weight-sized scale is left alone,
// without a warning.
// CHECK-LABEL: coreai.graph @already_compressed
// CHECK-NEXT:    %d = coreai.constant dense<1> : tensor<2x4xsi8>
// CHECK-NEXT:    %s = coreai.constant dense<{{.*}}> : tensor<2x4xf16>
// CHECK-NOT:     _data
// WARN-NOT:      warning: constant 's'
coreai.graph @already_compressed(%x: tensor<1x2xf16>) -> tensor<1x4xf16> {
  %d = coreai.constant dense<1> : tensor<2x4xsi8>
  %s = coreai.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf16>
  %o1 = coreai.constant dense<0> : tensor<2x4xsi8>
  %o2 = coreai.constant dense<0.0> : tensor<2x4xf16>
  %w = coreai.blockwise_shift_scale %d, %s, %o1, %o2 : (tensor<2x4xsi8>, tensor<2x4xf16>, tensor<2x4xsi8>, tensor<2x4xf16>) -> tensor<2x4xf16>
  %y = coreai.batch_matmul %x, %w : (tensor<1x2xf16>, tensor<2x4xf16>) -> tensor<1x4xf16>
  coreai.output %y : tensor<1x4xf16>
}

// -----

// A constant of 1e8 elements or more is compressed whatever consumes it; one element fewer
// and it is judged by its uses. (Elided weights: the rule shows in which warning each gets,
// without holding 200 MB.)
// CHECK-LABEL: coreai.graph @huge
// CHECK-NEXT:    %big = coreai.constant dense_resource<__elided__> : tensor<10000x10000xf16>
// CHECK-NEXT:    %below = coreai.constant dense_resource<__elided__> : tensor<9999x10001xf16>
// WARN: warning: skipping constant '__elided__' (tensor<10000x10000xf16>): the bytes of dense_resource<__elided__> are not available
// WARN: warning: constant '__elided__' (tensor<9999x10001xf16>) is left dense: it feeds coreai.add (operand 1), not a weight consumer
coreai.graph @huge(%x: tensor<10000x10000xf16>, %v: tensor<9999x10001xf16>) -> (tensor<10000x10000xf16>, tensor<9999x10001xf16>) {
  %big = coreai.constant dense_resource<__elided__> : tensor<10000x10000xf16>
  %below = coreai.constant dense_resource<__elided__> : tensor<9999x10001xf16>
  %y = coreai.add %x, %big : (tensor<10000x10000xf16>, tensor<10000x10000xf16>) -> tensor<10000x10000xf16>
  %z = coreai.add %v, %below : (tensor<9999x10001xf16>, tensor<9999x10001xf16>) -> tensor<9999x10001xf16>
  coreai.output %y, %z : tensor<10000x10000xf16>, tensor<9999x10001xf16>
}
