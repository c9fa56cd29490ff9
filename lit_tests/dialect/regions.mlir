// Region ops: regions before the signature (`if`, `scatter_nd`), between keywords
// (`} else {`, `} do {`), with block arguments, and MLIR's assignment-list spelling.
// RUN: coreai-opt %s --split-input-file | filecheck %s
// RUN: coreai-opt %s --split-input-file | coreai-opt --split-input-file | filecheck %s
// RUN: %if mlir-opt %{ coreai-opt %s --split-input-file --print-op-generic | mlir-opt-22 --allow-unregistered-dialect --split-input-file %}

// `coreai.if` prints its regions before the signature, `} else {` between them.
// CHECK-LABEL: coreai.graph @if
// CHECK-SAME:  (%x: tensor<2x3xf32>, %c: tensor<i1>) -> tensor<2x3xf32> {
// CHECK-NEXT:  %one = coreai.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT:  %r = coreai.if %c {
// CHECK-NEXT:  %a = coreai.decomposable.broadcasting_add %x, %one : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
// CHECK-NEXT:  coreai.yield %a : tensor<2x3xf32>
// CHECK-NEXT:  } else {
// CHECK-NEXT:  coreai.yield %x : tensor<2x3xf32>
// CHECK-NEXT:  } : tensor<i1> -> tensor<2x3xf32>
// CHECK-NEXT:  coreai.output %r : tensor<2x3xf32>
// CHECK-NEXT:  }
coreai.graph @if(%x: tensor<2x3xf32>, %c: tensor<i1>) -> tensor<2x3xf32> {
  %one = coreai.constant dense<1.000000e+00> : tensor<f32>
  %r = coreai.if %c {
    %a = coreai.decomposable.broadcasting_add %x, %one : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
    coreai.yield %a : tensor<2x3xf32>
  } else {
    coreai.yield %x : tensor<2x3xf32>
  } : tensor<i1> -> tensor<2x3xf32>
  coreai.output %r : tensor<2x3xf32>
}

// -----

// A region with block arguments (the scatter combiner) sits between the operands and `:`.
// CHECK-LABEL: coreai.graph @scatter
// CHECK-SAME:  (%x: tensor<5x3xf32>, %u: tensor<2x3xf32>, %i: tensor<?x1xsi32>) -> tensor<5x3xf32> {
// CHECK-NEXT:  %r = coreai.scatter_nd %x with %u at %i {
// CHECK-NEXT:  ^bb0(%old: tensor<f32>, %new: tensor<f32>):
// CHECK-NEXT:  coreai.yield %new : tensor<f32>
// CHECK-NEXT:  } : (tensor<5x3xf32>, tensor<2x3xf32>, tensor<?x1xsi32>) to tensor<5x3xf32>
// CHECK-NEXT:  coreai.output %r : tensor<5x3xf32>
// CHECK-NEXT:  }
coreai.graph @scatter(%x: tensor<5x3xf32>, %u: tensor<2x3xf32>, %i: tensor<?x1xsi32>) -> tensor<5x3xf32> {
  %r = coreai.scatter_nd %x with %u at %i {
  ^bb0(%old: tensor<f32>, %new: tensor<f32>):
    coreai.yield %new : tensor<f32>
  } : (tensor<5x3xf32>, tensor<2x3xf32>, tensor<?x1xsi32>) to tensor<5x3xf32>
  coreai.output %r : tensor<5x3xf32>
}

// -----

// A loop: condition region, `} do {`, body region; `coreai.condition` forwards the values.
// CHECK-LABEL: coreai.graph @while
// CHECK-SAME:  (%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
// CHECK-NEXT:  %limit = coreai.constant dense<1.000000e+01> : tensor<f32>
// CHECK-NEXT:  %one = coreai.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT:  %r = coreai.while %x {
// CHECK-NEXT:  ^bb0(%v: tensor<2x3xf32>):
// CHECK-NEXT:  %m = coreai.reduce_max %v : (tensor<2x3xf32>) -> tensor<f32>
// CHECK-NEXT:  %go = coreai.decomposable.broadcasting_greater %limit, %m : (tensor<f32>, tensor<f32>) -> tensor<i1>
// CHECK-NEXT:  coreai.condition %go, %v : tensor<i1>, tensor<2x3xf32>
// CHECK-NEXT:  } do {
// CHECK-NEXT:  ^bb0(%v_1: tensor<2x3xf32>):
// CHECK-NEXT:  %n = coreai.decomposable.broadcasting_add %v_1, %one : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
// CHECK-NEXT:  coreai.yield %n : tensor<2x3xf32>
// CHECK-NEXT:  } : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:  coreai.output %r : tensor<2x3xf32>
// CHECK-NEXT:  }
coreai.graph @while(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %limit = coreai.constant dense<1.000000e+01> : tensor<f32>
  %one = coreai.constant dense<1.000000e+00> : tensor<f32>
  %r = coreai.while %x {
  ^bb0(%v: tensor<2x3xf32>):
    %m = coreai.reduce_max %v : (tensor<2x3xf32>) -> tensor<f32>
    %go = coreai.decomposable.broadcasting_greater %limit, %m : (tensor<f32>, tensor<f32>) -> tensor<i1>
    coreai.condition %go, %v : tensor<i1>, tensor<2x3xf32>
  } do {
  ^bb0(%v: tensor<2x3xf32>):
    %n = coreai.decomposable.broadcasting_add %v, %one : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
    coreai.yield %n : tensor<2x3xf32>
  } : (tensor<2x3xf32>) -> tensor<2x3xf32>
  coreai.output %r : tensor<2x3xf32>
}

// -----

// MLIR's `scf.while` spelling also reads: an assignment list names the first region's
// arguments, the regions follow the signature.
// CHECK-LABEL: coreai.graph @while_assigned
// CHECK-SAME:  (%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
// CHECK-NEXT:  %limit = coreai.constant dense<1.000000e+01> : tensor<f32>
// CHECK-NEXT:  %r = coreai.while (%v = %x) : (tensor<2x3xf32>) -> tensor<2x3xf32> {
// CHECK-NEXT:  %m = coreai.reduce_max %v : (tensor<2x3xf32>) -> tensor<f32>
// CHECK-NEXT:  %go = coreai.decomposable.broadcasting_greater %limit, %m : (tensor<f32>, tensor<f32>) -> tensor<i1>
// CHECK-NEXT:  coreai.condition(%go) %v : tensor<i1>, tensor<2x3xf32>
// CHECK-NEXT:  } do {
// CHECK-NEXT:  ^bb0(%w: tensor<2x3xf32>):
// CHECK-NEXT:  coreai.yield %w : tensor<2x3xf32>
// CHECK-NEXT:  }
// CHECK-NEXT:  coreai.output %r : tensor<2x3xf32>
// CHECK-NEXT:  }
coreai.graph @while_assigned(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %limit = coreai.constant dense<1.000000e+01> : tensor<f32>
  %r = coreai.while (%v = %x) : (tensor<2x3xf32>) -> tensor<2x3xf32> {
    %m = coreai.reduce_max %v : (tensor<2x3xf32>) -> tensor<f32>
    %go = coreai.decomposable.broadcasting_greater %limit, %m : (tensor<f32>, tensor<f32>) -> tensor<i1>
    coreai.condition(%go) %v : tensor<i1>, tensor<2x3xf32>
  } do {
  ^bb0(%w: tensor<2x3xf32>):
    coreai.yield %w : tensor<2x3xf32>
  }
  coreai.output %r : tensor<2x3xf32>
}
