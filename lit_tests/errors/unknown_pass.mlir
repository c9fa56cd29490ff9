// An unknown pass: one line naming it and the available passes; no output, exit code 1.
// RUN: not coreai-opt %s -p "optimize,no-such-pass" 2>&1 | filecheck %s
// RUN: not coreai-opt %s -p "builtin.module(no-such-pass)" 2>&1 | filecheck %s
// RUN: not coreai-opt %s -p "no-such-pass<n_bits=4>" 2>&1 | filecheck %s

// CHECK:      error: unknown pass 'no-such-pass' (available passes: {{.*}}cast-to-fp16, decompress, {{.*}}optimize{{.*}})
// CHECK-NOT:  {{.}}

coreai.graph @main() {
  coreai.output
}
