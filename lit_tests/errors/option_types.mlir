// Option values of the wrong type or outside their choices: one line naming the pass, the
// option, what it expects (and the valid choices); exit code 1.
// RUN: not coreai-opt %s -p "palettize<n_bits=four>" 2>&1 | filecheck %s --check-prefix=INT
// RUN: not coreai-opt %s -p "palettize{n-bits=5}" 2>&1 | filecheck %s --check-prefix=CHOICE
// RUN: not coreai-opt %s -p "palettize<enable_per_channel_scale=maybe>" 2>&1 | filecheck %s --check-prefix=BOOL
// RUN: not coreai-opt %s -p "palettize<enable_per_channel_scale=yes>" 2>&1 | filecheck %s --check-prefix=YES
// RUN: not coreai-opt %s -p "sparsify<target_sparsity=lots>" 2>&1 | filecheck %s --check-prefix=FLOAT
// RUN: not coreai-opt %s -p "sparsify<n_m_ratio=(2,4,8)>" 2>&1 | filecheck %s --check-prefix=TUPLE
// RUN: not coreai-opt %s -p "optimize,palettize<nbits=4>" 2>&1 | filecheck %s --check-prefix=UNKNOWN

// INT:       error: pass 'palettize': option 'n_bits' expects an integer, got 'four'
// INT-NOT:   {{.}}
// CHOICE:    error: pass 'palettize': option 'n_bits' must be one of [1, 2, 3, 4, 6, 8], got '5'
// BOOL:      error: pass 'palettize': option 'enable_per_channel_scale' expects a boolean (true/false), got 'maybe'
// YES:       error: pass 'palettize': option 'enable_per_channel_scale' expects a boolean (true/false), got 'yes'
// FLOAT:     error: pass 'sparsify': option 'target_sparsity' expects a number, got 'lots'
// TUPLE:     error: pass 'sparsify': option 'n_m_ratio' expects 2 values like (2,4), got '(2,4,8)'
// UNKNOWN:   error: pass 'palettize' has no option 'nbits' (valid options: n_bits, {{.*}}enable_per_channel_scale{{.*}})
// UNKNOWN-NOT: {{.}}

coreai.graph @main() {
  coreai.output
}
