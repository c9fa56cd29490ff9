// An unknown option: one line naming the pass, the option and the valid options.
// RUN: not coreai-opt %s -p "optimize<no_such_option=1>" 2>&1 | filecheck %s
// RUN: not coreai-opt %s -p "cast-to-fp16,optimize{no-such-option=1}" 2>&1 | filecheck %s --check-prefix=KEBAB

// CHECK:      error: pass 'optimize' has no option 'no_such_option' (valid options: none)
// CHECK-NOT:  {{.}}
// KEBAB:      error: pass 'optimize' has no option 'no-such-option' (valid options: none)
// KEBAB-NOT:  {{.}}

coreai.graph @main() {
  coreai.output
}
