// `optimize` removes dead constants and dead pure ops, and nothing else.
// RUN: coreai-opt %s --split-input-file -p optimize | filecheck %s
// RUN: coreai-opt %s --split-input-file -p optimize --mlir-pass-statistics 2>&1 | filecheck %s --check-prefix=STATS

// Dead constants (dense and resource-backed) and dead chains of modelled ops disappear, their
// blobs with them; the signature stays, unused arguments included.
// CHECK-LABEL: coreai.graph @dead_constants(%x: tensor<1x4xf16> {coreai.name = "x"}, %unused: tensor<3xf16>) -> (tensor<1x4xf16> {coreai.name = "y"}) {
// CHECK-NEXT:    %live = coreai.constant dense_resource<live> : tensor<4xf16>
// CHECK-NEXT:    %y = coreai.add %x, %live : (tensor<1x4xf16>, tensor<4xf16>) -> tensor<1x4xf16>
// CHECK-NEXT:    coreai.output %y : tensor<1x4xf16>
// CHECK-NEXT:  }
// CHECK:       builtin: {
// CHECK-NEXT:    live: "0x02000000003C004000420044"
// CHECK-NEXT:  }
// CHECK-NOT:   dead:
// STATS:         optimize
// STATS-DAG:     (S) {{ *}}2 constants-removed
// STATS-DAG:     (S) {{ *}}16 bytes-removed
// STATS-DAG:     (S) {{ *}}5 ops-removed
coreai.graph @dead_constants(%x: tensor<1x4xf16> {coreai.name = "x"}, %unused: tensor<3xf16>) -> (tensor<1x4xf16> {coreai.name = "y"}) {
  %live = coreai.constant dense_resource<live> : tensor<4xf16>
  %dead = coreai.constant dense_resource<dead> : tensor<4xf16>
  %perm = coreai.constant dense<[1, 0]> : tensor<2xui32>
  %wide = coreai.cast %dead : tensor<4xf16> to tensor<4xf32>
  %t = coreai.transpose %x, %perm : (tensor<1x4xf16>, tensor<2xui32>) -> tensor<4x1xf16>
  %m = coreai.batch_matmul %x, %t : (tensor<1x4xf16>, tensor<4x1xf16>) -> tensor<1x1xf16>
  %y = coreai.add %x, %live : (tensor<1x4xf16>, tensor<4xf16>) -> tensor<1x4xf16>
  coreai.output %y : tensor<1x4xf16>
}
{-#
  dialect_resources: {
    builtin: {
      live: "0x02000000003C004000420044",
      dead: "0x020000000000000000000000"
    }
  }
#-}

// -----

// Unknown ops may have side effects: kept with their operands even when nothing uses them.
// So are graph calls.
// CHECK-LABEL: coreai.graph @side_effects
// CHECK-NEXT:    %c = coreai.constant dense<1.000000e+00> : tensor<2xf16>
// CHECK-NEXT:    %r = coreai.random_normal {seed = 1 : ui32} : () -> tensor<2xf16>
// CHECK-NEXT:    coreai.debug_print %c : (tensor<2xf16>) -> ()
// CHECK-NEXT:    %s = coreai.softmax %c {axis = -1 : si32} : (tensor<2xf16>) -> tensor<2xf16>
// CHECK-NEXT:    %i = coreai.invoke @elsewhere() : () -> tensor<2xf16>
// CHECK-NEXT:    coreai.output
coreai.graph @side_effects() {
  %c = coreai.constant dense<1.0> : tensor<2xf16>
  %r = coreai.random_normal {seed = 1 : ui32} : () -> tensor<2xf16>
  coreai.debug_print %c : (tensor<2xf16>) -> ()
  %s = coreai.softmax %c {axis = -1 : si32} : (tensor<2xf16>) -> tensor<2xf16>
  %i = coreai.invoke @elsewhere() : () -> tensor<2xf16>
  coreai.output
}

// -----

// Compression chains that nothing uses go entirely; used ones stay intact.
// CHECK-LABEL: coreai.graph @chains
// CHECK-NEXT:    %v = coreai.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf16>
// CHECK-NEXT:    %m = coreai.constant dense<[true, false, false, true]> : tensor<4xui1>
// CHECK-NEXT:    %s = coreai.build_sparse_with_bitmask %v, %m
// CHECK-NEXT:    %d = coreai.sparse_with_bitmask_to_dense %s
// CHECK-NEXT:    coreai.output %d : tensor<4xf16>
// CHECK-NOT:     lut_to_dense
coreai.graph @chains() -> tensor<4xf16> {
  %i = coreai.constant dense<[0, 1, 1, 0]> : tensor<4xui1>
  %l = coreai.constant dense<[[[1.0], [2.0]]]> : tensor<1x2x1xf16>
  %a = coreai.constant dense<0> : tensor<si16>
  %p = coreai.lut_to_dense %i, %l, %a : (tensor<4xui1>, tensor<1x2x1xf16>, tensor<si16>) -> tensor<4xf16>
  %v = coreai.constant dense<[1.0, 2.0]> : tensor<2xf16>
  %m = coreai.constant dense<[1, 0, 0, 1]> : tensor<4xui1>
  %s = coreai.build_sparse_with_bitmask %v, %m : (tensor<2xf16>, tensor<4xui1>) -> !coreai.sparse<tensor<4xf16>>
  %d = coreai.sparse_with_bitmask_to_dense %s : (!coreai.sparse<tensor<4xf16>>) -> tensor<4xf16>
  coreai.output %d : tensor<4xf16>
}

// -----

// Ops of other dialects are never assumed dead.
// CHECK-LABEL: coreai.graph @other_dialect
// CHECK-NEXT:    %c = coreai.constant
// CHECK-NEXT:    "other.use"(%c) : (tensor<2xf16>) -> tensor<2xf16>
coreai.graph @other_dialect() {
  %c = coreai.constant dense<1.0> : tensor<2xf16>
  %u = "other.use"(%c) : (tensor<2xf16>) -> tensor<2xf16>
  coreai.output
}
