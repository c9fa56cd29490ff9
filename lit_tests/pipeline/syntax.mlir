// The pipeline text syntax: every spelling of the same two passes gives the same result.
// RUN: coreai-opt %s -p "cast-to-fp16,optimize" | filecheck %s
// RUN: coreai-opt %s --pass-pipeline="builtin.module(cast-to-fp16, optimize)" | filecheck %s
// RUN: coreai-opt %s -p "cast_to_fp16<>,optimize{}" | filecheck %s
// RUN: coreai-opt %s -p " builtin.module( builtin.module(cast-to-fp16) ) , optimize " | filecheck %s
// RUN: coreai-opt %s -p "optimize" | filecheck %s --check-prefix=OPTIMIZE
// RUN: coreai-opt %s -p "" | filecheck %s --check-prefix=NONE
// A pass may run twice.
// RUN: coreai-opt %s -p "optimize,cast-to-fp16,cast-to-fp16,optimize" | filecheck %s

// CHECK-LABEL: coreai.graph @main(%x: tensor<1x4xf16>) -> tensor<1x4xf16> {
// CHECK-NEXT:    %w = coreai.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf16>
// CHECK-NEXT:    %y = coreai.add %x, %w : (tensor<1x4xf16>, tensor<4xf16>) -> tensor<1x4xf16>
// CHECK-NEXT:    coreai.output %y : tensor<1x4xf16>
// CHECK-NEXT:  }

// OPTIMIZE-LABEL: coreai.graph @main(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
// OPTIMIZE-NEXT:    %w = coreai.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>
// OPTIMIZE-NEXT:    %y = coreai.add

// NONE-LABEL: coreai.graph @main(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
// NONE-NEXT:    %w = coreai.constant
// NONE-NEXT:    %dead = coreai.constant dense<5.000000e-01> : tensor<8xf32>
coreai.graph @main(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %w = coreai.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %dead = coreai.constant dense<0.5> : tensor<8xf32>
  %y = coreai.add %x, %w : (tensor<1x4xf32>, tensor<4xf32>) -> tensor<1x4xf32>
  coreai.output %y : tensor<1x4xf32>
}
