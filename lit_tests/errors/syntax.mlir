// Malformed Core AI forms: each split reports one located `file:line:col: error:` line,
// never a traceback; without --verify-diagnostics every failing split is reported.
// RUN: coreai-opt --split-input-file --verify-diagnostics %s | filecheck %s
// RUN: not coreai-opt --split-input-file %s 2>&1 | filecheck %s --check-prefix=EVERY
// EVERY-NOT: {{Traceback|internal error}}

// CHECK: syntax.mlir:9:29: error: expected ')' to close the operand group
coreai.graph @unclosed_group(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  %a = coreai.foo %x at (%y : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  coreai.output %a : tensor<4xf32>
}

// -----

// CHECK: syntax.mlir:18:3: error: type expected
coreai.graph @no_result_type(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = coreai.foo %x : (tensor<4xf32>) ->
  coreai.output %a : tensor<4xf32>
}

// -----

// CHECK: syntax.mlir:25:57: error: several operand types before the arrow must be in parentheses
coreai.graph @bare_list_arrow(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = coreai.foo %x, %x : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  coreai.output %a : tensor<4xf32>
}

// -----

// CHECK: syntax.mlir:33:28: error: expected 2 operand types, got 1
coreai.graph @type_count(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = coreai.foo %x, %x : (tensor<4xf32>) -> tensor<4xf32>
  coreai.output %a : tensor<4xf32>
}

// -----

// CHECK: syntax.mlir:41:55: error: Expected '>' to close the handle type
coreai.graph @stripped_unclosed(%h: !coreai.handle<tensor<4xf32>>, %t: !coreai.token) -> !coreai.token {
  %v, %u = coreai.read_handle %h, %t : (<tensor<4xf32>, !coreai.token) -> (tensor<4xf32>, !coreai.token)
  coreai.output %u : !coreai.token
}

// -----

// CHECK: syntax.mlir:49:40: error: attribute 'mode' is given twice
coreai.graph @inline_twice(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = coreai.foo %x mode = <a> mode = <b> : tensor<4xf32> -> tensor<4xf32>
  coreai.output %a : tensor<4xf32>
}

// -----

// CHECK: syntax.mlir:57:51: error: attribute 'mode' is given twice
coreai.graph @inline_and_dict(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = coreai.foo %x mode = <a> {mode = 1 : si32} : tensor<4xf32> -> tensor<4xf32>
  coreai.output %a : tensor<4xf32>
}

// -----

// CHECK: syntax.mlir:66:3: error: expected ':' before the types
coreai.graph @no_colon(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = coreai.foo %x
  coreai.output %a : tensor<4xf32>
}

// -----

// CHECK: syntax.mlir:74:3: error: an assignment list needs a region after the signature
coreai.graph @assigned_without_region(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = coreai.while (%v = %x) : (tensor<4xf32>) -> tensor<4xf32>
  coreai.output %a : tensor<4xf32>
}

// -----

// CHECK: syntax.mlir:83:1: error: Unbalanced '}' in dialect symbol body
coreai.graph @unterminated_enum(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = coreai.foo %x mode = <constant : tensor<4xf32> -> tensor<4xf32>
  coreai.output %a : tensor<4xf32>
}

// -----

// CHECK: syntax.mlir:89:28: error: expected '->' between the operand and result types
coreai.graph @two_results_one_type(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a, %b = coreai.foo %x : tensor<4xf32>, tensor<4xf32>
  coreai.output %a : tensor<4xf32>
}

// -----

// CHECK: syntax.mlir:97:3: error: Operation has 1 results, but was given 2 to bind.
coreai.graph @results_not_bound(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a, %b = coreai.foo %x : (tensor<4xf32>) -> tensor<4xf32>
  coreai.output %a : tensor<4xf32>
}

// -----

// CHECK: syntax.mlir:104:22: error: expect symbol name
coreai.graph private private @visibility_twice() {
  coreai.output
}

// -----

// CHECK: syntax.mlir:112:22: error: expected the callee graph (@name)
coreai.graph @invoke_not_symbol(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = coreai.invoke %x(%x)  : (tensor<4xf32>) -> tensor<4xf32>
  coreai.output %a : tensor<4xf32>
}

// -----

// CHECK: syntax.mlir:120:3: error: 'coreai.cast' op Expected 1 operand, but got 2
coreai.graph @cast_two_operands(%x: tensor<4xf32>) -> tensor<4xf16> {
  %a = coreai.cast %x, %x : (tensor<4xf32>, tensor<4xf32>) to tensor<4xf16>
  coreai.output %a : tensor<4xf16>
}

// -----

// CHECK: syntax.mlir:128:40: error: undefined location alias '#nowhere'
coreai.graph @undefined_alias(%x: tensor<4xf32>) -> tensor<4xf32> {
  coreai.output %x : tensor<4xf32> loc(#nowhere)
}

// -----

// CHECK: syntax.mlir:136:3: error: Expected ')' to close the type list
coreai.graph @results_paren_unclosed(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = coreai.foo %x : (tensor<4xf32>) to (tensor<4xf32>
  coreai.output %a : tensor<4xf32>
}
