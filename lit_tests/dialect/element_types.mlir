// Every element type Core AI uses, in types, dense literals and (packed) resources.
// RUN: coreai-opt %s --split-input-file | filecheck %s
// RUN: coreai-opt %s --split-input-file | coreai-opt --split-input-file | filecheck %s
// RUN: coreai-opt %s --split-input-file --print-op-generic | coreai-opt --split-input-file | filecheck %s

// CHECK-LABEL: coreai.graph @types(
// CHECK-SAME:    %si2: tensor<2xsi2>, %si4: tensor<2xsi4>, %si8: tensor<2xsi8>, %si16: tensor<2xsi16>, %si32: tensor<2xsi32>,
// CHECK-SAME:    %ui1: tensor<2xui1>, %ui2: tensor<2xui2>, %ui3: tensor<2xui3>, %ui4: tensor<2xui4>, %ui6: tensor<2xui6>, %ui8: tensor<2xui8>, %ui32: tensor<2xui32>,
// CHECK-SAME:    %f16: tensor<2xf16>, %bf16: tensor<2xbf16>, %f32: tensor<2xf32>,
// CHECK-SAME:    %e4m3: tensor<2xf8E4M3FN>, %e5m2: tensor<2xf8E5M2>, %e8m0: tensor<2xf8E8M0FNU>, %e2m1: tensor<2xf4E2M1FN>) {
coreai.graph @types(%si2: tensor<2xsi2>, %si4: tensor<2xsi4>, %si8: tensor<2xsi8>, %si16: tensor<2xsi16>, %si32: tensor<2xsi32>, %ui1: tensor<2xui1>, %ui2: tensor<2xui2>, %ui3: tensor<2xui3>, %ui4: tensor<2xui4>, %ui6: tensor<2xui6>, %ui8: tensor<2xui8>, %ui32: tensor<2xui32>, %f16: tensor<2xf16>, %bf16: tensor<2xbf16>, %f32: tensor<2xf32>, %e4m3: tensor<2xf8E4M3FN>, %e5m2: tensor<2xf8E5M2>, %e8m0: tensor<2xf8E8M0FNU>, %e2m1: tensor<2xf4E2M1FN>) {
  coreai.output
}

// -----

// Dense literals at the ends of each type's range.
// CHECK-LABEL: coreai.graph @literals
// CHECK-NEXT:    %si2 = coreai.constant dense<[-2, 1]> : tensor<2xsi2>
// CHECK-NEXT:    %si4 = coreai.constant dense<[-8, 7]> : tensor<2xsi4>
// CHECK-NEXT:    %si8 = coreai.constant dense<[-128, 127]> : tensor<2xsi8>
// CHECK-NEXT:    %ui1 = coreai.constant dense<[false, true]> : tensor<2xui1>
// CHECK-NEXT:    %ui2 = coreai.constant dense<[0, 3]> : tensor<2xui2>
// CHECK-NEXT:    %ui3 = coreai.constant dense<[0, 7]> : tensor<2xui3>
// CHECK-NEXT:    %ui4 = coreai.constant dense<[0, 15]> : tensor<2xui4>
// CHECK-NEXT:    %ui6 = coreai.constant dense<[0, 63]> : tensor<2xui6>
// CHECK-NEXT:    %ui8 = coreai.constant dense<[0, 255]> : tensor<2xui8>
// CHECK-NEXT:    %e4m3 = coreai.constant dense<[4.480000e+02, -1.953130e-03]> : tensor<2xf8E4M3FN>
// CHECK-NEXT:    %e5m2 = coreai.constant dense<[5.734400e+04, -1.525880e-05]> : tensor<2xf8E5M2>
// CHECK-NEXT:    %e8m0 = coreai.constant dense<[5.877470e-39, 1.701410e+38]> : tensor<2xf8E8M0FNU>
// CHECK-NEXT:    %e2m1 = coreai.constant dense<[6.000000e+00, -5.000000e-01]> : tensor<2xf4E2M1FN>
// CHECK-NEXT:    %bf16 = coreai.constant dense<[3.389530e+38, -1.000000e+00]> : tensor<2xbf16>
coreai.graph @literals() {
  %si2 = coreai.constant dense<[-2, 1]> : tensor<2xsi2>
  %si4 = coreai.constant dense<[-8, 7]> : tensor<2xsi4>
  %si8 = coreai.constant dense<[-128, 127]> : tensor<2xsi8>
  %ui1 = coreai.constant dense<[0, 1]> : tensor<2xui1>
  %ui2 = coreai.constant dense<[0, 3]> : tensor<2xui2>
  %ui3 = coreai.constant dense<[0, 7]> : tensor<2xui3>
  %ui4 = coreai.constant dense<[0, 15]> : tensor<2xui4>
  %ui6 = coreai.constant dense<[0, 63]> : tensor<2xui6>
  %ui8 = coreai.constant dense<[0, 255]> : tensor<2xui8>
  %e4m3 = coreai.constant dense<[448.0, -0.001953125]> : tensor<2xf8E4M3FN>
  %e5m2 = coreai.constant dense<[57344.0, -1.52587890625e-05]> : tensor<2xf8E5M2>
  %e8m0 = coreai.constant dense<[5.877471754111438e-39, 1.7014118346046923e+38]> : tensor<2xf8E8M0FNU>
  %e2m1 = coreai.constant dense<[6.0, -0.5]> : tensor<2xf4E2M1FN>
  %bf16 = coreai.constant dense<[3.3895313892515355e+38, -1.0]> : tensor<2xbf16>
  coreai.output
}

// -----

// Sub-byte resources are packed LSB first (coreai-ir.md §5); their bytes print back unchanged.
// CHECK-LABEL: coreai.graph @packed_resources
// CHECK-NEXT:    %si2 = coreai.constant dense_resource<r_si2> : tensor<5xsi2>
// CHECK-NEXT:    %si4 = coreai.constant dense_resource<r_si4> : tensor<3xsi4>
// CHECK-NEXT:    %ui1 = coreai.constant dense_resource<r_ui1> : tensor<9xui1>
// CHECK-NEXT:    %ui2 = coreai.constant dense_resource<r_ui2> : tensor<5xui2>
// CHECK-NEXT:    %ui3 = coreai.constant dense_resource<r_ui3> : tensor<8xui3>
// CHECK-NEXT:    %ui4 = coreai.constant dense_resource<r_ui4> : tensor<3xui4>
// CHECK-NEXT:    %ui6 = coreai.constant dense_resource<r_ui6> : tensor<3xui6>
// CHECK-NEXT:    %e2m1 = coreai.constant dense_resource<r_e2m1> : tensor<3xf4E2M1FN>
// CHECK:         builtin: {
// CHECK-NEXT:      r_si2: "0x01000000E403",
// CHECK-NEXT:      r_si4: "0x01000000F10A",
// CHECK-NEXT:      r_ui1: "0x010000000D01",
// CHECK-NEXT:      r_ui2: "0x010000003903",
// CHECK-NEXT:      r_ui3: "0x01000000D1581F",
// CHECK-NEXT:      r_ui4: "0x010000002103",
// CHECK-NEXT:      r_ui6: "0x01000000C15F00",
// CHECK-NEXT:      r_e2m1: "0x010000002107"
// CHECK-NEXT:    }
coreai.graph @packed_resources() -> (tensor<5xsi2>, tensor<3xsi4>, tensor<9xui1>, tensor<5xui2>, tensor<8xui3>, tensor<3xui4>, tensor<3xui6>, tensor<3xf4E2M1FN>) {
  %si2 = coreai.constant dense_resource<r_si2> : tensor<5xsi2>
  %si4 = coreai.constant dense_resource<r_si4> : tensor<3xsi4>
  %ui1 = coreai.constant dense_resource<r_ui1> : tensor<9xui1>
  %ui2 = coreai.constant dense_resource<r_ui2> : tensor<5xui2>
  %ui3 = coreai.constant dense_resource<r_ui3> : tensor<8xui3>
  %ui4 = coreai.constant dense_resource<r_ui4> : tensor<3xui4>
  %ui6 = coreai.constant dense_resource<r_ui6> : tensor<3xui6>
  %e2m1 = coreai.constant dense_resource<r_e2m1> : tensor<3xf4E2M1FN>
  coreai.output %si2, %si4, %ui1, %ui2, %ui3, %ui4, %ui6, %e2m1 : tensor<5xsi2>, tensor<3xsi4>, tensor<9xui1>, tensor<5xui2>, tensor<8xui3>, tensor<3xui4>, tensor<3xui6>, tensor<3xf4E2M1FN>
}
{-#
  dialect_resources: {
    builtin: {
      r_si2: "0x01000000E403",
      r_si4: "0x01000000F10A",
      r_ui1: "0x010000000D01",
      r_ui2: "0x010000003903",
      r_ui3: "0x01000000D1581F",
      r_ui4: "0x010000002103",
      r_ui6: "0x01000000C15F00",
      r_e2m1: "0x010000002107"
    }
  }
#-}

// -----

// Byte-sized types in resources; lowercase hex is accepted and printed uppercase.
// CHECK-LABEL: coreai.graph @byte_resources
// CHECK:         builtin: {
// CHECK-NEXT:      r_si8: "0x0100000080FF7F",
// CHECK-NEXT:      r_ui8: "0x0100000000FF",
// CHECK-NEXT:      r_e4m3: "0x010000003840",
// CHECK-NEXT:      r_e5m2: "0x010000003C40",
// CHECK-NEXT:      r_e8m0: "0x010000007F80",
// CHECK-NEXT:      r_bf16: "0x02000000803F00C0"
// CHECK-NEXT:    }
coreai.graph @byte_resources() -> (tensor<3xsi8>, tensor<2xui8>, tensor<2xf8E4M3FN>, tensor<2xf8E5M2>, tensor<2xf8E8M0FNU>, tensor<2xbf16>) {
  %si8 = coreai.constant dense_resource<r_si8> : tensor<3xsi8>
  %ui8 = coreai.constant dense_resource<r_ui8> : tensor<2xui8>
  %e4m3 = coreai.constant dense_resource<r_e4m3> : tensor<2xf8E4M3FN>
  %e5m2 = coreai.constant dense_resource<r_e5m2> : tensor<2xf8E5M2>
  %e8m0 = coreai.constant dense_resource<r_e8m0> : tensor<2xf8E8M0FNU>
  %bf16 = coreai.constant dense_resource<r_bf16> : tensor<2xbf16>
  coreai.output %si8, %ui8, %e4m3, %e5m2, %e8m0, %bf16 : tensor<3xsi8>, tensor<2xui8>, tensor<2xf8E4M3FN>, tensor<2xf8E5M2>, tensor<2xf8E8M0FNU>, tensor<2xbf16>
}
{-#
  dialect_resources: {
    builtin: {
      r_si8: "0x0100000080ff7f",
      r_ui8: "0x0100000000ff",
      r_e4m3: "0x010000003840",
      r_e5m2: "0x010000003c40",
      r_e8m0: "0x010000007f80",
      r_bf16: "0x02000000803f00c0"
    }
  }
#-}

// -----

// 64-bit integer literals at both ends of their ranges (ui64 past int64).
// CHECK-LABEL: coreai.graph @wide_literals
// CHECK-NEXT:    %ui64 = coreai.constant dense<[0, 18446744073709551615]> : tensor<2xui64>
// CHECK-NEXT:    %si64 = coreai.constant dense<[-9223372036854775808, 9223372036854775807]> : tensor<2xsi64>
// CHECK-NEXT:    %i64 = coreai.constant dense<[-1, 9223372036854775807]> : tensor<2xi64>
coreai.graph @wide_literals() -> (tensor<2xui64>, tensor<2xsi64>, tensor<2xi64>) {
  %ui64 = coreai.constant dense<[0, 18446744073709551615]> : tensor<2xui64>
  %si64 = coreai.constant dense<[-9223372036854775808, 9223372036854775807]> : tensor<2xsi64>
  %i64 = coreai.constant dense<[-1, 9223372036854775807]> : tensor<2xi64>
  coreai.output %ui64, %si64, %i64 : tensor<2xui64>, tensor<2xsi64>, tensor<2xi64>
}
