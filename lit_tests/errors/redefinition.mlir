// A symbol defined twice is reported where the second definition starts.
// RUN: not coreai-opt %s 2>&1 | filecheck %s
// CHECK: redefinition.mlir:7:1: error: 'builtin.module' op Redefinition of symbol "twice"
coreai.graph @twice() {
  coreai.output
}
coreai.graph @twice() {
  coreai.output
}
