// Malformed pipeline text: one line with the column of the problem.
// RUN: not coreai-opt %s -p "optimize decompress" 2>&1 | filecheck %s --check-prefix=SEPARATOR
// RUN: not coreai-opt %s -p "optimize,,decompress" 2>&1 | filecheck %s --check-prefix=EMPTY
// RUN: not coreai-opt %s -p "builtin.module(optimize" 2>&1 | filecheck %s --check-prefix=ANCHOR
// RUN: not coreai-opt %s -p "optimize<key>" 2>&1 | filecheck %s --check-prefix=EQUALS
// RUN: not coreai-opt %s -p "optimize<key=>" 2>&1 | filecheck %s --check-prefix=VALUE
// RUN: not coreai-opt %s -p "optimize," 2>&1 | filecheck %s --check-prefix=TRAILING
// RUN: not coreai-opt %s -p "palettize<n_bits=4,>" 2>&1 | filecheck %s --check-prefix=STRAY
// RUN: not coreai-opt %s -p "palettize<n_bits=4,n-bits=2>" 2>&1 | filecheck %s --check-prefix=TWICE

// SEPARATOR: error: expected ',' between passes at column 10 of 'optimize decompress'
// SEPARATOR-NOT: {{.}}
// EMPTY:     error: expected a pass name at column 10 of 'optimize,,decompress'
// ANCHOR:    error: expected ',' or ')' at column 24 of 'builtin.module(optimize'
// EQUALS:    error: expected '=' after option 'key' at column 13 of 'optimize<key>'
// VALUE:     error: expected an option value at column 14 of 'optimize<key=>'
// TRAILING:  error: expected a pass name after ',' at column 10 of 'optimize,'
// STRAY:     error: expected an option name after ',' at column 20 of 'palettize<n_bits=4,>'
// TWICE:     error: pass 'palettize': option 'n-bits' is given twice at column 20 of 'palettize<n_bits=4,n-bits=2>'
// TWICE-NOT: {{.}}

coreai.graph @main() {
  coreai.output
}

// An unclosed option list names the missing bracket.
// RUN: not coreai-opt %s -p "optimize<" 2>&1 | filecheck %s --check-prefix=UNCLOSED
// UNCLOSED: error: missing '>' at column 10 of 'optimize<'
