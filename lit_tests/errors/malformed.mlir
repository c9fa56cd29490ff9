// Malformed IR: each split reports one `file:line:col: error:` line.
// RUN: coreai-opt --split-input-file --verify-diagnostics %s | filecheck %s
// RUN: coreai-opt --split-input-file --verify-diagnostics %s | filecheck %s --check-prefix=NOMODULE
// RUN: not coreai-opt --split-input-file %s 2>&1 | filecheck %s --check-prefix=FIRST

// NOMODULE-NOT: module {
// NOMODULE-NOT: Traceback

// Without --verify-diagnostics: one line per failing split, each a located error.
// FIRST: malformed.mlir:{{[0-9]+}}:{{[0-9]+}}: error: values used but not defined: [%nope]
// FIRST-NOT: {{Traceback|internal error|module}}

// CHECK: malformed.mlir:{{[0-9]+}}:{{[0-9]+}}: error: values used but not defined: [%nope]
coreai.graph @undefined_value(%x: tensor<2xf16>) -> tensor<2xf16> {
  %y = coreai.add %x, %nope : (tensor<2xf16>, tensor<2xf16>) -> tensor<2xf16>
  coreai.output %y : tensor<2xf16>
}

// -----

// CHECK: malformed.mlir:22:41: error: Expected shape type.
coreai.graph @unknown_type(%x: tensor<2xf17>) {
  coreai.output
}

// -----

// CHECK: malformed.mlir:30:41: error: dense literal has shape [3], tensor<2xsi8> needs [2]
coreai.graph @literal_shape() {
  %c = coreai.constant dense<[1, 2, 3]> : tensor<2xsi8>
  coreai.output
}

// -----

// CHECK: malformed.mlir:38:24: error: expected 1 operand types, got 2
coreai.graph @operand_count(%x: tensor<2xf16>) -> tensor<2xf16> {
  %y = coreai.add %x : (tensor<2xf16>, tensor<2xf16>) -> tensor<2xf16>
  coreai.output %y : tensor<2xf16>
}

// -----

// CHECK: malformed.mlir:{{[0-9]+}}:20: error: operand is used with type tensor<2xf32>, but has been previously used or defined with type tensor<2xf16>
coreai.graph @operand_type(%x: tensor<2xf16>) -> tensor<2xf32> {
  %y = coreai.cast %x : tensor<2xf32> to tensor<2xf32>
  coreai.output %y : tensor<2xf32>
}

// -----

// CHECK: malformed.mlir:{{[0-9]+}}:3: error: SSA value %y is already defined
coreai.graph @redefined(%x: tensor<2xf16>) -> tensor<2xf16> {
  %y = coreai.cast %x : tensor<2xf16> to tensor<2xf16>
  %y = coreai.cast %x : tensor<2xf16> to tensor<2xf16>
  coreai.output %y : tensor<2xf16>
}

// -----

// CHECK: malformed.mlir:63:23: error: expected ':' before the types
coreai.graph @missing_colon(%x: tensor<2xf16>) -> tensor<2xf16> {
  %y = coreai.cast %x (tensor<2xf16>) -> tensor<2xf16>
  coreai.output %y : tensor<2xf16>
}

// -----

// CHECK: malformed.mlir:{{[0-9]+}}:3: error: 'coreai.cast' op Operation coreai.cast terminates block in single-block region but is not a terminator
coreai.graph @no_terminator(%x: tensor<2xf16>) -> tensor<2xf16> {
  %y = coreai.cast %x : tensor<2xf16> to tensor<2xf16>
}

// -----

// CHECK: malformed.mlir:{{[0-9]+}}:9: error: resource 'w' holds invalid hex
coreai.graph @bad_hex() {
  %c = coreai.constant dense_resource<w> : tensor<2xsi8>
  coreai.output
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x01000000ZZ01"
    }
  }
#-}

// -----

// CHECK: malformed.mlir:{{[0-9]+}}:9: error: resource 'w' holds invalid hex
coreai.graph @odd_hex() {
  %c = coreai.constant dense_resource<w> : tensor<2xsi8>
  coreai.output
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x01000000FF0"
    }
  }
#-}

// -----

// CHECK: malformed.mlir:{{[0-9]+}}:9: error: resource 'w' is too short or has an odd hex length
coreai.graph @short_blob() {
  %c = coreai.constant dense_resource<w> : tensor<0xsi8>
  coreai.output
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x0100"
    }
  }
#-}

// -----

// CHECK: malformed.mlir:{{[0-9]+}}:9: error: resource 'w' is not a hex blob ("0x...")
coreai.graph @not_hex() {
  %c = coreai.constant dense_resource<w> : tensor<2xsi8>
  coreai.output
}
{-#
  dialect_resources: {
    builtin: {
      w: "abcd"
    }
  }
#-}

// -----

// CHECK: malformed.mlir:145:7: error: duplicate resource 'w'
coreai.graph @duplicate_key() {
  %c = coreai.constant dense_resource<w> : tensor<2xsi8>
  coreai.output
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x01000000FF01",
      w: "0x01000000FF01"
    }
  }
#-}

// -----

// CHECK: malformed.mlir:161:14: error: unknown file metadata section 'my_section'
coreai.graph @unknown_section() {
  coreai.output
}
{-#
  dialect_resources: {
    builtin: {
    }
  },
  my_section: {}
#-}

// -----

// CHECK: malformed.mlir:{{[0-9]+}}:9: error: unterminated resource 'w'
coreai.graph @unterminated_blob() {
  %c = coreai.constant dense_resource<w> : tensor<2xsi8>
  coreai.output
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x01000000FF01
