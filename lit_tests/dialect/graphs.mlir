// Graphs as Apple's converter prints them: composite implementations, several public graphs,
// multi-line signatures, invoke with one or several results.
// RUN: coreai-opt %s --split-input-file | filecheck %s
// RUN: coreai-opt %s --split-input-file | coreai-opt --split-input-file | filecheck %s
// RUN: %if mlir-opt %{ coreai-opt %s --split-input-file --print-op-generic | mlir-opt-22 --allow-unregistered-dialect --split-input-file %}

// Composite graphs: `private noinline`, an unparenthesised result, and `attributes {...}`
// holding `#coreai.composite_declaration<...>` (written over several lines, printed on one);
// several public graphs; `invoke` with Apple's double space before `:`.
// CHECK-LABEL: coreai.graph private noinline @norm.rms_norm
// CHECK-SAME:  (%arg0: tensor<1x10xf32> {coreai.name = "input"}, %arg1: tensor<10xf32> {coreai.name = "scale"}) -> tensor<1x10xf32> attributes {composite_decl = #coreai.composite_declaration<"rms_norm" = {input_names = ["input", "scale"], op_attrs = {axes = -1 : si64, eps = 9.99999974E-6 : f32, version = 1 : si64}, output_names = ["output"]}>, template_op = "rms_norm"} {
// CHECK-NEXT:  %0 = coreai.decomposable.broadcasting_mul %arg0, %arg1 : (tensor<1x10xf32>, tensor<10xf32>) -> tensor<1x10xf32>
// CHECK-NEXT:  coreai.output %0 : tensor<1x10xf32>
// CHECK-NEXT:  }
// CHECK:       coreai.graph noinline @inner
// CHECK-SAME:  (%arg0: tensor<1x10xf32>) -> tensor<1x10xf32> {
// CHECK-NEXT:  coreai.output %arg0 : tensor<1x10xf32>
// CHECK-NEXT:  }
// CHECK:       coreai.graph @main
// CHECK-SAME:  (%arg0: tensor<1x10xf32> {coreai.name = "x"}) -> (tensor<1x10xf32> {coreai.name = "y"}) attributes {__coreai_pure__} {
// CHECK-NEXT:  %0 = coreai.constant dense<1.000000e+00> : tensor<10xf32>
// CHECK-NEXT:  %1 = coreai.invoke @norm.rms_norm(%arg0, %0)  : (tensor<1x10xf32>, tensor<10xf32>) -> tensor<1x10xf32>
// CHECK-NEXT:  %2 = coreai.invoke @inner(%1)  : (tensor<1x10xf32>) -> tensor<1x10xf32>
// CHECK-NEXT:  coreai.output %2 : tensor<1x10xf32>
// CHECK-NEXT:  }
// CHECK:       coreai.graph @second
// CHECK-SAME:  (%arg0: tensor<2xf32>) -> (tensor<2xf32>) {
// CHECK-NEXT:  coreai.output %arg0 : tensor<2xf32>
// CHECK-NEXT:  }
module {
  coreai.graph private noinline @norm.rms_norm(
      %arg0: tensor<1x10xf32> {coreai.name = "input"},
      %arg1: tensor<10xf32> {coreai.name = "scale"}
  ) -> tensor<1x10xf32> attributes {
      composite_decl = #coreai.composite_declaration<"rms_norm" = {
          input_names = ["input", "scale"],
          op_attrs = {axes = -1 : si64, eps = 9.99999974E-6 : f32, version = 1 : si64},
          output_names = ["output"]}>,
      template_op = "rms_norm"
  } {
    %0 = coreai.decomposable.broadcasting_mul %arg0, %arg1 : (tensor<1x10xf32>, tensor<10xf32>) -> tensor<1x10xf32>
    coreai.output %0 : tensor<1x10xf32>
  }
  coreai.graph noinline @inner(%arg0: tensor<1x10xf32>) -> tensor<1x10xf32> {
    coreai.output %arg0 : tensor<1x10xf32>
  }
  coreai.graph @main(%arg0: tensor<1x10xf32> {coreai.name = "x"}) -> (tensor<1x10xf32> {coreai.name = "y"}) attributes {__coreai_pure__} {
    %0 = coreai.constant dense<1.000000e+00> : tensor<10xf32>
    %1 = coreai.invoke @norm.rms_norm(%arg0, %0)
        : (tensor<1x10xf32>, tensor<10xf32>) -> tensor<1x10xf32>
    %2 = coreai.invoke @inner(%1)  : (tensor<1x10xf32>) -> tensor<1x10xf32>
    coreai.output %2 : tensor<1x10xf32>
  }
  coreai.graph @second(%arg0: tensor<2xf32>) -> (tensor<2xf32>) {
    coreai.output %arg0 : tensor<2xf32>
  }
}

// -----

// A graph with several results called by a multi-result invoke, used as `%r#1`.
// CHECK-LABEL: coreai.graph @pair
// CHECK-SAME:  (%arg0: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
// CHECK-NEXT:  coreai.output %arg0, %arg0 : tensor<2xf32>, tensor<2xf32>
// CHECK-NEXT:  }
// CHECK:       coreai.graph @caller
// CHECK-SAME:  (%arg0: tensor<2xf32>) -> (tensor<2xf32>) {
// CHECK-NEXT:  %0:2 = coreai.invoke @pair(%arg0)  : (tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>)
// CHECK-NEXT:  coreai.output %0#1 : tensor<2xf32>
// CHECK-NEXT:  }
module {
  coreai.graph @pair(%arg0: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
    coreai.output %arg0, %arg0 : tensor<2xf32>, tensor<2xf32>
  }
  coreai.graph @caller(%arg0: tensor<2xf32>) -> (tensor<2xf32>) {
    %0:2 = coreai.invoke @pair(%arg0)  : (tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>)
    coreai.output %0#1 : tensor<2xf32>
  }
}

// -----

// A top-level graph without `module {` (an implicit module) and an empty dense literal.
// CHECK-LABEL: coreai.graph @implicit_module
// CHECK-SAME:  (%arg0: tensor<1x1xi1>) -> (tensor<i1>) {
// CHECK-NEXT:  %0 = coreai.constant dense<> : tensor<0xui32>
// CHECK-NEXT:  %1 = coreai.reshape %arg0, %0 : (tensor<1x1xi1>, tensor<0xui32>) -> tensor<i1>
// CHECK-NEXT:  coreai.output %1 : tensor<i1>
// CHECK-NEXT:  }
coreai.graph @implicit_module(%arg0: tensor<1x1xi1>) -> (tensor<i1>) {
  %0 = coreai.constant dense<> : tensor<0xui32>
  %1 = coreai.reshape %arg0, %0 : (tensor<1x1xi1>, tensor<0xui32>) -> tensor<i1>
  coreai.output %1 : tensor<i1>
}
