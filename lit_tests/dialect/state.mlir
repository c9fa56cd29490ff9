// Stateful programs (KV caches): handles, tokens and the handle ops.
// RUN: coreai-opt %s --split-input-file | filecheck %s
// RUN: coreai-opt %s --split-input-file | coreai-opt --split-input-file | filecheck %s
// RUN: %if mlir-opt %{ coreai-opt %s --split-input-file --print-op-generic | mlir-opt-22 --allow-unregistered-dialect --split-input-file %}

// State: `!coreai.handle<T>` arguments, `!coreai.token` results, `create_token : T`, and the
// handle ops with Apple's stripped handle type `<T>` (the qualified spelling reads too).
// CHECK-LABEL: coreai.graph @main
// CHECK-SAME:  (%h: !coreai.handle<tensor<1x4xf32>> {MutableBuffers.buffer_mutation = "b_state", coreai.name = "b_state"}, %x: tensor<1x4xf32> {coreai.name = "x"}) -> (!coreai.token {coreai.name = "b_state"}) {
// CHECK-NEXT:  %t0 = coreai.create_token : !coreai.token
// CHECK-NEXT:  %v, %t1 = coreai.read_handle %h, %t0 : (<tensor<1x4xf32>>, !coreai.token) -> (tensor<1x4xf32>, !coreai.token)
// CHECK-NEXT:  %s = coreai.decomposable.broadcasting_add %v, %x : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
// CHECK-NEXT:  %t2 = coreai.write_handle %h, %s, %t1 : (<tensor<1x4xf32>>, tensor<1x4xf32>, !coreai.token) -> !coreai.token
// CHECK-NEXT:  coreai.output %t2 : !coreai.token
// CHECK-NEXT:  }
coreai.graph @main(%h: !coreai.handle<tensor<1x4xf32>> {MutableBuffers.buffer_mutation = "b_state", coreai.name = "b_state"}, %x: tensor<1x4xf32> {coreai.name = "x"}) -> (!coreai.token {coreai.name = "b_state"}) {
  %t0 = coreai.create_token : !coreai.token
  %v, %t1 = coreai.read_handle %h, %t0 : (<tensor<1x4xf32>>, !coreai.token) -> (tensor<1x4xf32>, !coreai.token)
  %s = coreai.decomposable.broadcasting_add %v, %x : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  %t2 = coreai.write_handle %h, %s, %t1 : (<tensor<1x4xf32>>, tensor<1x4xf32>, !coreai.token) -> !coreai.token
  coreai.output %t2 : !coreai.token
}

// -----

// CHECK-LABEL: coreai.graph @qualified
// CHECK-SAME:  (%h: !coreai.handle<tensor<1x4xf32>>, %t0: !coreai.token) -> (!coreai.token) {
// CHECK-NEXT:  %v, %t1 = coreai.read_handle %h, %t0 : (!coreai.handle<tensor<1x4xf32>>, !coreai.token) -> (tensor<1x4xf32>, !coreai.token)
// CHECK-NEXT:  %t2 = coreai.write_handle %h, %v, %t1 : (!coreai.handle<tensor<1x4xf32>>, tensor<1x4xf32>, !coreai.token) -> !coreai.token
// CHECK-NEXT:  coreai.output %t2 : !coreai.token
// CHECK-NEXT:  }
coreai.graph @qualified(%h: !coreai.handle<tensor<1x4xf32>>, %t0: !coreai.token) -> (!coreai.token) {
  %v, %t1 = coreai.read_handle %h, %t0 : (!coreai.handle<tensor<1x4xf32>>, !coreai.token) -> (tensor<1x4xf32>, !coreai.token)
  %t2 = coreai.write_handle %h, %v, %t1 : (!coreai.handle<tensor<1x4xf32>>, tensor<1x4xf32>, !coreai.token) -> !coreai.token
  coreai.output %t2 : !coreai.token
}
