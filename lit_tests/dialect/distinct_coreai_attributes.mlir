// `#coreai.<name><...>` attributes and `!coreai.<name><...>` types of one mnemonic but
// different bodies stay distinct: through bytecode and bundles each graph keeps its own
// composite declaration (equal attributes are stored once, unequal ones never merge).
// RUN: coreai-opt %s --emit-bytecode -o %t.mlirb && coreai-opt %t.mlirb | filecheck %s
// RUN: rm -rf %t.aimodel && coreai-opt %s -o %t.aimodel && coreai-opt %t.aimodel | filecheck %s

// CHECK-LABEL: coreai.graph private noinline @norm
// CHECK-SAME:    composite_declaration<"rms_norm" = {input_names = ["input"]
// CHECK-LABEL: coreai.graph private noinline @rope
// CHECK-SAME:    composite_declaration<"rope" = {input_names = ["input"]
// CHECK-LABEL: coreai.graph @main
// CHECK-SAME:    %{{.+}}: !coreai.opaque<a>, %{{.+}}: !coreai.opaque<b>
// CHECK:         coreai.pad {{.*}} mode = <constant>
// CHECK:         coreai.pad {{.*}} mode = <reflect>
module {
  coreai.graph private noinline @norm(%arg0: tensor<4xf32> {coreai.name = "input"}) -> tensor<4xf32> attributes {composite_decl = #coreai.composite_declaration<"rms_norm" = {input_names = ["input"], op_attrs = {version = 1 : si64}, output_names = ["output"]}>, template_op = "rms_norm"} {
    coreai.output %arg0 : tensor<4xf32>
  }
  coreai.graph private noinline @rope(%arg0: tensor<4xf32> {coreai.name = "input"}) -> tensor<4xf32> attributes {composite_decl = #coreai.composite_declaration<"rope" = {input_names = ["input"], op_attrs = {version = 1 : si64}, output_names = ["output"]}>, template_op = "rope"} {
    coreai.output %arg0 : tensor<4xf32>
  }
  coreai.graph @main(%arg0: tensor<4xf32>, %arg1: !coreai.opaque<a>, %arg2: !coreai.opaque<b>) -> (tensor<4xf32>, tensor<8xf32>, tensor<8xf32>) {
    %0 = coreai.invoke @norm(%arg0)  : (tensor<4xf32>) -> tensor<4xf32>
    %1 = coreai.invoke @rope(%0)  : (tensor<4xf32>) -> tensor<4xf32>
    %2 = coreai.constant dense<[2, 2]> : tensor<2xui32>
    %3 = coreai.constant dense<0.000000e+00> : tensor<f32>
    %4 = coreai.pad %1, %2, %3 mode = <constant> : (tensor<4xf32>, tensor<2xui32>, tensor<f32>) -> tensor<8xf32>
    %5 = coreai.pad %1, %2, %3 mode = <reflect> : (tensor<4xf32>, tensor<2xui32>, tensor<f32>) -> tensor<8xf32>
    coreai.output %1, %4, %5 : tensor<4xf32>, tensor<8xf32>, tensor<8xf32>
  }
}
