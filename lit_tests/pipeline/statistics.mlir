// --mlir-pass-statistics and --mlir-timing reports (on stderr, after the output).
// RUN: coreai-opt %s -p "cast-to-fp16,optimize,decompress" --mlir-pass-statistics 2>&1 | filecheck %s --check-prefix=STATS
// RUN: coreai-opt %s -p "cast-to-fp16,optimize" --mlir-timing 2>&1 | filecheck %s --check-prefix=TIMING
// RUN: coreai-opt %s -p "optimize" --mlir-timing --mlir-pass-statistics -o /dev/null 2>&1 | filecheck %s --check-prefix=BOTH
// RUN: coreai-opt %s -p "optimize" 2>&1 | filecheck %s --check-prefix=NONE

// STATS:       coreai.graph @main
// STATS:       ... Pass statistics report ...
// STATS:       'builtin.module' Pipeline
// STATS-NEXT:    cast-to-fp16
// STATS-NEXT:      (S) {{ *}}4 constants-converted - f32 constants converted to f16
// STATS-NEXT:      (S) {{ *}}32 bytes-before
// STATS-NEXT:      (S) {{ *}}16 bytes-after
// STATS:         optimize
// STATS-NEXT:      (S) {{ *}}1 constants-removed - Dead constants removed
// STATS-NEXT:      (S) {{ *}}8 bytes-removed
// STATS-NEXT:      (S) {{ *}}1 ops-removed - Dead pure ops removed
// STATS:         decompress
// STATS-NEXT:      (S) {{ *}}1 ops-folded - Decompression ops folded into constants
// STATS-NEXT:      (S) {{ *}}7 bytes-before
// STATS-NEXT:      (S) {{ *}}4 bytes-after

// TIMING:       coreai.graph @main
// TIMING:       ... Execution time report ...
// TIMING:         Total Execution Time: {{[0-9]+\.[0-9]+}} seconds
// TIMING:         ----Wall Time----  ----Name----
// TIMING-NEXT:    {{[0-9]+\.[0-9]+}} ({{ *[0-9]+\.[0-9]}}%)  Parser
// TIMING-NEXT:    {{[0-9]+\.[0-9]+}} ({{ *[0-9]+\.[0-9]}}%)  cast-to-fp16
// TIMING-NEXT:    {{[0-9]+\.[0-9]+}} ({{ *[0-9]+\.[0-9]}}%)  optimize
// TIMING-NEXT:    {{[0-9]+\.[0-9]+}} ({{ *[0-9]+\.[0-9]}}%)  Output
// TIMING-NEXT:    {{[0-9]+\.[0-9]+}} (100.0%)  Total

// BOTH-NOT:    coreai.graph
// BOTH:        ... Pass statistics report ...
// BOTH:        ... Execution time report ...

// NONE-NOT:    report

coreai.graph @main(%x: tensor<2xf32>) -> tensor<2xf32> {
  %w = coreai.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %dead = coreai.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %d = coreai.constant dense<[1, 2]> : tensor<2xsi8>
  %s = coreai.constant dense<[0.5]> : tensor<1xf32>
  %z = coreai.constant dense<[0]> : tensor<1xsi8>
  %b = coreai.constant dense<[0.0]> : tensor<1xf32>
  %q = coreai.blockwise_shift_scale %d, %s, %z, %b : (tensor<2xsi8>, tensor<1xf32>, tensor<1xsi8>, tensor<1xf32>) -> tensor<2xf32>
  %y = coreai.add %x, %w : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %r = coreai.add %y, %q : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  coreai.output %r : tensor<2xf32>
}
