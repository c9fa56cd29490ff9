// The `{-# dialect_resources #-}` section: blobs, keys, alignment and other sections.
// RUN: coreai-opt %s --split-input-file | filecheck %s
// RUN: coreai-opt %s --split-input-file | coreai-opt --split-input-file | filecheck %s
// RUN: coreai-opt %s --split-input-file --print-op-generic | coreai-opt --split-input-file | filecheck %s

// The alignment word (here 16) is kept; two constants naming one key share one blob.
// CHECK-LABEL: coreai.graph @shared_key
// CHECK-NEXT:    %a = coreai.constant dense_resource<blob_a> : tensor<2xf16>
// CHECK-NEXT:    %b = coreai.constant dense_resource<blob_a> : tensor<2xf16>
// CHECK:       {-#
// CHECK-NEXT:    dialect_resources: {
// CHECK-NEXT:      builtin: {
// CHECK-NEXT:        blob_a: "0x10000000003C00BC"
// CHECK-NEXT:      }
// CHECK-NEXT:    }
// CHECK-NEXT:  #-}
coreai.graph @shared_key() -> (tensor<2xf16>, tensor<2xf16>) {
  %a = coreai.constant dense_resource<blob_a> : tensor<2xf16>
  %b = coreai.constant dense_resource<blob_a> : tensor<2xf16>
  coreai.output %a, %b : tensor<2xf16>, tensor<2xf16>
}
{-#
  dialect_resources: {
    builtin: {
      blob_a: "0x10000000003C00BC"
    }
  }
#-}

// -----

// Resources of other dialects and external resources are carried verbatim; builtin blobs
// no constant uses are dropped.
// CHECK-LABEL: coreai.graph @other_sections
// CHECK:       {-#
// CHECK-NEXT:    dialect_resources: {
// CHECK-NEXT:      builtin: {
// CHECK-NEXT:        used: "0x04000000AABBCCDD"
// CHECK-NEXT:      },
// CHECK-NEXT:      other: {
// CHECK-NEXT:        thing: "0xDEAD"
// CHECK-NEXT:      }
// CHECK-NEXT:    },
// CHECK-NEXT:    external_resources: {
// CHECK-NEXT:      mlir_reproducer: {
// CHECK-NEXT:        pipeline: "builtin.module(optimize)"
// CHECK-NEXT:      }
// CHECK-NEXT:    }
// CHECK-NEXT:  #-}
// CHECK-NOT:   unused
coreai.graph @other_sections() -> tensor<4xui8> {
  %c = coreai.constant dense_resource<used> : tensor<4xui8>
  coreai.output %c : tensor<4xui8>
}
{-#
  dialect_resources: {
    builtin: {
      unused: "0x0400000001020304",
      used: "0x04000000AABBCCDD"
    },
    other: {
      thing: "0xDEAD"
    }
  },
  external_resources: {
    mlir_reproducer: {
      pipeline: "builtin.module(optimize)"
    }
  }
#-}

// -----

// A key with no blob (MLIR's elided resources) is kept as is, without a section.
// CHECK-LABEL: coreai.graph @elided
// CHECK-NEXT:    %w = coreai.constant dense_resource<__elided__> : tensor<4x4xf16>
// CHECK-NOT:   dialect_resources
coreai.graph @elided() -> tensor<4x4xf16> {
  %w = coreai.constant dense_resource<__elided__> : tensor<4x4xf16>
  coreai.output %w : tensor<4x4xf16>
}

// -----

// Keys may contain dots, underscores and dollars.
// CHECK-LABEL: coreai.graph @key_spelling
// CHECK-NEXT:    %w = coreai.constant dense_resource<model.layer_1$w> : tensor<2xsi8>
// CHECK:           model.layer_1$w: "0x01000000FF01"
coreai.graph @key_spelling() -> tensor<2xsi8> {
  %w = coreai.constant dense_resource<model.layer_1$w> : tensor<2xsi8>
  coreai.output %w : tensor<2xsi8>
}
{-#
  dialect_resources: {
    builtin: {
      model.layer_1$w: "0x01000000FF01"
    }
  }
#-}

// -----

// An empty tensor has an empty blob.
// CHECK-LABEL: coreai.graph @empty_blob
// CHECK-NEXT:    %w = coreai.constant dense_resource<nothing> : tensor<0x4xf16>
// CHECK:           nothing: "0x02000000"
coreai.graph @empty_blob() -> tensor<0x4xf16> {
  %w = coreai.constant dense_resource<nothing> : tensor<0x4xf16>
  coreai.output %w : tensor<0x4xf16>
}
{-#
  dialect_resources: {
    builtin: {
      nothing: "0x02000000"
    }
  }
#-}
