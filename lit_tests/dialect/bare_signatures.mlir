// A bare operand type before the arrow (`: T -> R`, `: T to R`) with any number of
// results: several print parenthesised, in the op's own form (never MLIR's generic form).
// RUN: coreai-opt %s --split-input-file | filecheck %s
// RUN: coreai-opt %s --split-input-file | coreai-opt --split-input-file | filecheck %s
// RUN: %if mlir-opt %{ coreai-opt %s --split-input-file --print-op-generic | mlir-opt-22 --allow-unregistered-dialect --split-input-file %}

// CHECK-LABEL: coreai.graph @if_with_two_results
// CHECK:         %[[R:.+]]:2 = coreai.if %arg1 {
// CHECK:         } else {
// CHECK:         } : tensor<i1> -> (tensor<2xf32>, tensor<2xf32>)
// CHECK-NEXT:    coreai.output %[[R]]#1, %[[R]]#0
module {
  coreai.graph @if_with_two_results(%arg0: tensor<2xf32>, %arg1: tensor<i1>) -> (tensor<2xf32>, tensor<2xf32>) {
    %0:2 = coreai.if %arg1 {
      coreai.yield %arg0, %arg0 : tensor<2xf32>, tensor<2xf32>
    } else {
      %e = coreai.exp %arg0 : tensor<2xf32> -> tensor<2xf32>
      coreai.yield %e, %arg0 : tensor<2xf32>, tensor<2xf32>
    } : tensor<i1> -> (tensor<2xf32>, tensor<2xf32>)
    coreai.output %0#1, %0#0 : tensor<2xf32>, tensor<2xf32>
  }
}

// -----

// A new unary op with two results in the `to` form.
// CHECK-LABEL: coreai.graph @unary_with_two_results
// CHECK:         %{{.+}}:2 = coreai.frexp %arg0 : tensor<3xf32> to (tensor<3xf32>, tensor<3xsi32>)
module {
  coreai.graph @unary_with_two_results(%arg0: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xsi32>) {
    %0:2 = coreai.frexp %arg0 : tensor<3xf32> to (tensor<3xf32>, tensor<3xsi32>)
    coreai.output %0#0, %0#1 : tensor<3xf32>, tensor<3xsi32>
  }
}

// -----

// A result list in parentheses with one result keeps them.
// CHECK-LABEL: coreai.graph @paren_single_result
// CHECK:         coreai.exp %arg0 : tensor<3xf32> -> (tensor<3xf32>)
module {
  coreai.graph @paren_single_result(%arg0: tensor<3xf32>) -> (tensor<3xf32>) {
    %0 = coreai.exp %arg0 : tensor<3xf32> -> (tensor<3xf32>)
    coreai.output %0 : tensor<3xf32>
  }
}
