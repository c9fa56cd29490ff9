// An op Apple adds tomorrow, in any of Core AI's forms, reads and prints back unchanged.
// RUN: coreai-opt %s --split-input-file | filecheck %s
// RUN: coreai-opt %s --split-input-file | coreai-opt --split-input-file | filecheck %s
// RUN: %if mlir-opt %{ coreai-opt %s --split-input-file --print-op-generic | mlir-opt-22 --allow-unregistered-dialect --split-input-file %}

// Forms of ops this tool has never seen are kept too: keywords, groups, inline and dict
// attributes; one type for all operands and results; no operands.
// CHECK-LABEL: coreai.graph @new_ops
// CHECK-SAME:  (%x: tensor<4xf32>, %y: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
// CHECK-NEXT:  %a = coreai.future_op %x by %y shift (%y, %x) rounding = <nearest> {level = 3 : si32} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) to tensor<4xf32>
// CHECK-NEXT:  %b = coreai.same_type %x, %y : tensor<4xf32>
// CHECK-NEXT:  %c = coreai.nothing_in : () -> tensor<4xf32>
// CHECK-NEXT:  coreai.output %a, %b, %c : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
// CHECK-NEXT:  }
coreai.graph @new_ops(%x: tensor<4xf32>, %y: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %a = coreai.future_op %x by %y shift (%y, %x) rounding = <nearest> {level = 3 : si32} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) to tensor<4xf32>
  %b = coreai.same_type %x, %y : tensor<4xf32>
  %c = coreai.nothing_in : () -> tensor<4xf32>
  coreai.output %a, %b, %c : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}
