// xdsl-opt with --split-input-file: every chunk is its own program with its own resources
// (two chunks may use the same resource key), Core AI names the dialect has never heard of
// parse generically (ops, #coreai attributes, !coreai types), and a location alias may be
// defined after the op that uses it.
// RUN: xdsl-opt %s --split-input-file -t coreai | filecheck %s
// RUN: xdsl-opt %s --split-input-file -t 'coreai{debuginfo=true}' | filecheck %s --check-prefix=LOC

// CHECK-LABEL: coreai.graph @first
// CHECK:         %w = coreai.constant dense_resource<w> : tensor<2xf16>
// CHECK:         w: "0x02000000003C0040"
module {
  coreai.graph @first() -> tensor<2xf16> {
    %w = coreai.constant dense_resource<w> : tensor<2xf16>
    coreai.output %w : tensor<2xf16>
  }
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x02000000003C0040"
    }
  }
#-}

// -----

// The same key in the next chunk holds other bytes.
// CHECK-LABEL: coreai.graph @second
// CHECK:         %w = coreai.constant dense_resource<w> : tensor<3xf16>
// CHECK:         w: "0x02000000004200440045"
module {
  coreai.graph @second() -> tensor<3xf16> {
    %w = coreai.constant dense_resource<w> : tensor<3xf16>
    coreai.output %w : tensor<3xf16>
  }
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x02000000004200440045"
    }
  }
#-}

// -----

// CHECK-LABEL: coreai.graph @novel
// CHECK-SAME:    %s: !coreai.future_state<tensor<4xf32>, 2>)
// CHECK-SAME:    attributes {hint = #coreai.tiling<{rows = 8, cols = [1, 2]}>}
// CHECK-NEXT:    %y = coreai.frobnicate %x with %s side = <left> : (tensor<4xf32>, !coreai.future_state<tensor<4xf32>, 2>) to tensor<4xf32>
// CHECK-NEXT:    %z = coreai.resample %y {method = #coreai.resample_method<cubic>} : (tensor<4xf32>) -> tensor<4xf32>
module {
  coreai.graph @novel(%x: tensor<4xf32>, %s: !coreai.future_state<tensor<4xf32>, 2>) -> tensor<4xf32> attributes {hint = #coreai.tiling<{rows = 8, cols = [1, 2]}>} {
    %y = coreai.frobnicate %x with %s side = <left> : (tensor<4xf32>, !coreai.future_state<tensor<4xf32>, 2>) to tensor<4xf32>
    %z = coreai.resample %y {method = #coreai.resample_method<cubic>} : (tensor<4xf32>) -> tensor<4xf32>
    coreai.output %z : tensor<4xf32>
  }
}

// -----

// LOC-LABEL: coreai.graph @located
// LOC:         %r = coreai.relu %a : (tensor<2xf32>) -> tensor<2xf32> loc("model.py":7:3)
// LOC:         coreai.output %r : tensor<2xf32> loc("model.py":8:1)
module {
  coreai.graph @located(%a: tensor<2xf32>) -> tensor<2xf32> {
    %r = coreai.relu %a : (tensor<2xf32>) -> tensor<2xf32> loc(#relu)
    coreai.output %r : tensor<2xf32> loc(#out)
  } loc(unknown)
} loc(unknown)
#relu = loc("model.py":7:3)
#out = loc("model.py":8:1)
