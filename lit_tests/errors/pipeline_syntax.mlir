// Malformed pipeline text: one line with the column of the problem.
// RUN: not coreai-opt %s -p "optimize decompress" 2>&1 | filecheck %s --check-prefix=SEPARATOR
// RUN: not coreai-opt %s -p "optimize,,decompress" 2>&1 | filecheck %s --check-prefix=EMPTY
// RUN: not coreai-opt %s -p "builtin.module(optimize" 2>&1 | filecheck %s --check-prefix=ANCHOR
// RUN: not coreai-opt %s -p "optimize<key>" 2>&1 | filecheck %s --check-prefix=EQUALS
// RUN: not coreai-opt %s -p "optimize<key=>" 2>&1 | filecheck %s --check-prefix=VALUE

// SEPARATOR: error: expected ',' between passes at column 10 of 'optimize decompress'
// SEPARATOR-NOT: {{.}}
// EMPTY:     error: expected a pass name at column 10 of 'optimize,,decompress'
// ANCHOR:    error: expected ',' or ')' at column 24 of 'builtin.module(optimize'
// EQUALS:    error: expected '=' after option 'key' at column 13 of 'optimize<key>'
// VALUE:     error: expected an option value at column 14 of 'optimize<key=>'

coreai.graph @main() {
  coreai.output
}

// An unclosed option list names the missing bracket.
// RUN: not coreai-opt %s -p "optimize<" 2>&1 | filecheck %s --check-prefix=UNCLOSED
// UNCLOSED: error: missing '>' at column 10 of 'optimize<'
