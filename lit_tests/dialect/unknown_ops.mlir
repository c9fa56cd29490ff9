// Ops this tool does not model parse, print back unchanged and survive re-parsing.
// RUN: coreai-opt %s --split-input-file | filecheck %s
// RUN: coreai-opt %s --split-input-file | coreai-opt --split-input-file | filecheck %s
// RUN: coreai-opt %s --split-input-file --print-op-generic | filecheck %s --check-prefix=GENERIC
// RUN: coreai-opt %s --split-input-file --print-op-generic | coreai-opt --split-input-file | filecheck %s

// CHECK-LABEL: coreai.graph @softmax
// CHECK-NEXT:    %z = coreai.softmax %y {axis = -1 : si32} : (tensor<1x2xf16>) -> tensor<1x2xf16>
// CHECK-NEXT:    coreai.output %z : tensor<1x2xf16>
// GENERIC:       %z = "coreai.softmax"(%y) {axis = -1 : si32} : (tensor<1x2xf16>) -> tensor<1x2xf16>
coreai.graph @softmax(%y: tensor<1x2xf16>) -> tensor<1x2xf16> {
  %z = coreai.softmax %y {axis = -1 : si32} : (tensor<1x2xf16>) -> tensor<1x2xf16>
  coreai.output %z : tensor<1x2xf16>
}

// -----

// CHECK-LABEL: coreai.graph @no_operands
// CHECK-NEXT:    %r = coreai.random_normal {seed = 7 : ui32} : () -> tensor<2x2xf16>
// CHECK-NEXT:    %s = coreai.zeros : () -> tensor<3xf32>
// GENERIC:       %r = "coreai.random_normal"() {seed = 7 : ui32} : () -> tensor<2x2xf16>
// GENERIC-NEXT:  %s = "coreai.zeros"() : () -> tensor<3xf32>
coreai.graph @no_operands() -> (tensor<2x2xf16>, tensor<3xf32>) {
  %r = coreai.random_normal {seed = 7 : ui32} : () -> tensor<2x2xf16>
  %s = coreai.zeros : () -> tensor<3xf32>
  coreai.output %r, %s : tensor<2x2xf16>, tensor<3xf32>
}

// -----

// Several results: a result group `%p:2` used as `%p#1` prints back as a group (MLIR's way).
// CHECK-LABEL: coreai.graph @multi_result
// CHECK-NEXT:    %[[P:[a-z0-9_]+]]:2 = coreai.split %x {axis = 0 : si32, sizes = [1, 3]} : (tensor<4x2xf16>) -> (tensor<1x2xf16>, tensor<3x2xf16>)
// CHECK-NEXT:    coreai.output %[[P]]#1, %[[P]]#0 : tensor<3x2xf16>, tensor<1x2xf16>
// GENERIC:       %[[G:[a-z0-9_]+]]:2 = "coreai.split"(%x) {axis = 0 : si32, sizes = [1, 3]} : (tensor<4x2xf16>) -> (tensor<1x2xf16>, tensor<3x2xf16>)
coreai.graph @multi_result(%x: tensor<4x2xf16>) -> (tensor<3x2xf16>, tensor<1x2xf16>) {
  %p:2 = coreai.split %x {axis = 0 : si32, sizes = [1, 3]} : (tensor<4x2xf16>) -> (tensor<1x2xf16>, tensor<3x2xf16>)
  coreai.output %p#1, %p#0 : tensor<3x2xf16>, tensor<1x2xf16>
}

// -----

// No results, several operands, the op is kept even though nothing uses it.
// CHECK-LABEL: coreai.graph @no_results
// CHECK-NEXT:    coreai.debug_print %x, %x {label = "x"} : (tensor<2xf16>, tensor<2xf16>) -> ()
// GENERIC:       "coreai.debug_print"(%x, %x) {label = "x"} : (tensor<2xf16>, tensor<2xf16>) -> ()
coreai.graph @no_results(%x: tensor<2xf16>) {
  coreai.debug_print %x, %x {label = "x"} : (tensor<2xf16>, tensor<2xf16>) -> ()
  coreai.output
}

// -----

// Attributes of every common kind survive.
// CHECK-LABEL: coreai.graph @attributes
// CHECK-NEXT:    %a = coreai.custom %x {b = true, d = {n = 1.500000e+00 : f32}, dn = dense<[1, 2]> : tensor<2xsi8>, s = "str", sym = @attributes, t = tensor<3xf16>, u} : (tensor<2xf16>) -> tensor<2xf16>
coreai.graph @attributes(%x: tensor<2xf16>) -> tensor<2xf16> {
  %a = coreai.custom %x {b = true, d = {n = 1.500000e+00 : f32}, dn = dense<[1, 2]> : tensor<2xsi8>, s = "str", sym = @attributes, t = tensor<3xf16>, u} : (tensor<2xf16>) -> tensor<2xf16>
  coreai.output %a : tensor<2xf16>
}

// -----

// Dotted names, and operand types the modelled ops never use.
// CHECK-LABEL: coreai.graph @odd_types
// CHECK-NEXT:    %a = coreai.decomposable.layer_norm %x, %d, %u : (tensor<2xf16>, tensor<?x2xf16>, tensor<*xf16>) -> tensor<2xf16>
coreai.graph @odd_types(%x: tensor<2xf16>, %d: tensor<?x2xf16>, %u: tensor<*xf16>) -> tensor<2xf16> {
  %a = coreai.decomposable.layer_norm %x, %d, %u : (tensor<2xf16>, tensor<?x2xf16>, tensor<*xf16>) -> tensor<2xf16>
  coreai.output %a : tensor<2xf16>
}

// -----

// Ops of other dialects are kept in generic form.
// CHECK-LABEL: coreai.graph @other_dialect
// CHECK-NEXT:    %a = "other.op"(%x) ({
// CHECK-NEXT:    ^bb0(%y: tensor<2xf16>):
// CHECK-NEXT:      "other.yield"(%y) : (tensor<2xf16>) -> ()
// CHECK-NEXT:    }) {k = 1 : i64} : (tensor<2xf16>) -> tensor<2xf16>
coreai.graph @other_dialect(%x: tensor<2xf16>) -> tensor<2xf16> {
  %a = "other.op"(%x) ({
  ^bb0(%y: tensor<2xf16>):
    "other.yield"(%y) : (tensor<2xf16>) -> ()
  }) {k = 1 : i64} : (tensor<2xf16>) -> tensor<2xf16>
  coreai.output %a : tensor<2xf16>
}
