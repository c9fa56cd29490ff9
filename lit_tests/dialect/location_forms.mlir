// Location forms MLIR prints beyond file:line:col: fused locations carrying metadata of
// any attribute kind, and file ranges (`to line:col`, `to :col`), which keep their start
// as the bytecode reader does (xDSL has no range location).
// RUN: coreai-opt %s --split-input-file --mlir-print-debuginfo | filecheck %s
// RUN: coreai-opt %s --split-input-file --mlir-print-debuginfo | coreai-opt --split-input-file --mlir-print-debuginfo | filecheck %s
// RUN: %if mlir-opt %{ coreai-opt %s --split-input-file --mlir-print-debuginfo --print-op-generic | mlir-opt-22 --allow-unregistered-dialect --split-input-file --mlir-print-debuginfo %}

// CHECK-LABEL: coreai.graph @fused_string_metadata
// CHECK: coreai.exp {{.*}} loc(fused<"torch.cond">["model.py":1:0, "relu"])
module {
  coreai.graph @fused_string_metadata(%arg0: tensor<2xf32>) -> (tensor<2xf32>) {
    %0 = coreai.exp %arg0 : tensor<2xf32> -> tensor<2xf32> loc(fused<"torch.cond">["model.py":1:0, "relu"])
    coreai.output %0 : tensor<2xf32>
  }
}

// -----

// CHECK-LABEL: coreai.graph @fused_dict_metadata_via_alias
// CHECK: coreai.exp {{.*}} loc(fused<{kind = "scatter", line = 3 : i64}>["model.py":9:0])
module {
  coreai.graph @fused_dict_metadata_via_alias(%arg0: tensor<2xf32>) -> (tensor<2xf32>) {
    %0 = coreai.exp %arg0 : tensor<2xf32> -> tensor<2xf32> loc(#loc1)
    coreai.output %0 : tensor<2xf32>
  }
}
#loc1 = loc(fused<{kind = "scatter", line = 3 : i64}>["model.py":9:0])

// -----

// CHECK-LABEL: coreai.graph @fused_location_metadata_on_block_argument
// CHECK-SAME:    loc(fused<"arg">[unknown])
module {
  coreai.graph @fused_location_metadata_on_block_argument(%arg0: tensor<2xf32> loc(fused<"arg">[unknown])) -> (tensor<2xf32>) {
    coreai.output %arg0 : tensor<2xf32>
  }
}

// -----

// CHECK-LABEL: coreai.graph @ranges
// CHECK: coreai.exp {{.*}} loc("model.py":3:4)
// CHECK: coreai.abs {{.*}} loc("model.py":5:1)
module {
  coreai.graph @ranges(%arg0: tensor<2xf32>) -> (tensor<2xf32>) {
    %0 = coreai.exp %arg0 : tensor<2xf32> -> tensor<2xf32> loc("model.py":3:4 to 7:2)
    %1 = coreai.abs %0 : tensor<2xf32> -> tensor<2xf32> loc("model.py":5:1 to :9)
    coreai.output %1 : tensor<2xf32>
  }
}
