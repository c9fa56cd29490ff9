// Missing or unreadable inputs and outputs: one line, exit code 1, and no output file.
// RUN: not coreai-opt %S/Inputs/does-not-exist.mlir 2>&1 | filecheck %s --check-prefix=MISSING
// RUN: not coreai-opt %S 2>&1 | filecheck %s --check-prefix=DIRECTORY
// RUN: not coreai-opt %s -o %S/no-such-directory/out.mlir 2>&1 | filecheck %s --check-prefix=OUTPUT
// RUN: not coreai-opt %s --no-such-flag 2>&1 | filecheck %s --check-prefix=FLAG

// MISSING:   does-not-exist.mlir: error: no such file
// MISSING-NOT: {{.}}
// DIRECTORY: errors: error: is a directory, expected a .mlir file
// OUTPUT:    no-such-directory/out.mlir: error: the output directory does not exist
// FLAG:      coreai-opt: error: unrecognized arguments: --no-such-flag

coreai.graph @main() {
  coreai.output
}
