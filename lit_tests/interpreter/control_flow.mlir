// coreai.while and coreai.if in Apple's syntax run through `coreai-opt run`.
// RUN: not coreai-opt run %s --split-input-file 2>&1 | filecheck %s --check-prefix=ERR
// RUN: coreai-opt run %s | filecheck %s

// ERR: coreai-opt run: error: unrecognized arguments: --split-input-file

// 1 -> 4 -> 7 -> 10: the loop stops when 10 > a fails; then if (10 > 5) picks a * 2.
// CHECK: y  scalar  int32  mean 20  std 0  min 20  max 20

module {
  coreai.graph @main() -> (tensor<si32> {coreai.name = "y"}) {
    %start = coreai.constant dense<1> : tensor<si32>
    %lim = coreai.constant dense<10> : tensor<si32>
    %step = coreai.constant dense<3> : tensor<si32>
    %two = coreai.constant dense<2> : tensor<si32>
    %five = coreai.constant dense<5> : tensor<si32>
    %r = coreai.while %start {
    ^bb0(%a: tensor<si32>):
      %p = coreai.decomposable.broadcasting_greater %lim, %a : (tensor<si32>, tensor<si32>) -> tensor<i1>
      coreai.condition %p, %a : tensor<i1>, tensor<si32>
    } do {
    ^bb0(%b: tensor<si32>):
      %n = coreai.decomposable.broadcasting_add %b, %step : (tensor<si32>, tensor<si32>) -> tensor<si32>
      coreai.yield %n : tensor<si32>
    } : (tensor<si32>) -> tensor<si32>
    %big = coreai.decomposable.broadcasting_greater %r, %five : (tensor<si32>, tensor<si32>) -> tensor<i1>
    %y = coreai.if %big {
      %d = coreai.decomposable.broadcasting_mul %r, %two : (tensor<si32>, tensor<si32>) -> tensor<si32>
      coreai.yield %d : tensor<si32>
    } else {
      coreai.yield %r : tensor<si32>
    } : tensor<i1> -> tensor<si32>
    coreai.output %y : tensor<si32>
  }
}
