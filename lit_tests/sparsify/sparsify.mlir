// sparsify: non-zeros + ui1 mask -> build_sparse_with_bitmask -> sparse_with_bitmask_to_dense.
// RUN: python -m coreai_opt.synthetic --layer w0=32x2048 > %t.mlir

// RUN: coreai-opt %t.mlir -p "sparsify<target_sparsity=0.5>" | filecheck %s --check-prefix=UNSTRUCTURED
// UNSTRUCTURED:      %w0_values = coreai.constant dense_resource<w0_values> : tensor<32768xf16>
// UNSTRUCTURED-NEXT: %w0_mask = coreai.constant dense_resource<w0_mask> : tensor<32x2048xui1>
// UNSTRUCTURED-NEXT: %w0_sparse = coreai.build_sparse_with_bitmask %w0_values, %w0_mask : (tensor<32768xf16>, tensor<32x2048xui1>) -> !coreai.sparse<tensor<32x2048xf16>>
// UNSTRUCTURED-NEXT: %w0 = coreai.sparse_with_bitmask_to_dense %w0_sparse : (!coreai.sparse<tensor<32x2048xf16>>) -> tensor<32x2048xf16>
// UNSTRUCTURED-NEXT: %w0_t = coreai.transpose %w0, %perm

// 75% of 65536 values pruned leaves 16384 values.
// RUN: coreai-opt %t.mlir -p "sparsify<target-sparsity=0.75>" | filecheck %s --check-prefix=SEVENTYFIVE
// SEVENTYFIVE: tensor<16384xf16>

// n:m along the input axis and blocks of output channels.
// RUN: coreai-opt %t.mlir -p "sparsify<n_m_ratio=(1,4)>" | filecheck %s --check-prefix=NM
// NM: tensor<49152xf16>
// RUN: coreai-opt %t.mlir -p "sparsify<target_sparsity=0.25,block_size=8>" | filecheck %s --check-prefix=BLOCK
// BLOCK: tensor<49152xf16>

// Joint: the later pass compresses the values that feed build_sparse_with_bitmask.
// RUN: coreai-opt %t.mlir -p "sparsify,quantize<dtype=int8>" | filecheck %s --check-prefix=JOINT-Q
// JOINT-Q:      %w0_values = coreai.blockwise_shift_scale %w0_values_data, %w0_values_scale, %w0_values_zero_point, %w0_values_offset : (tensor<32768xsi8>, tensor<1xf16>, tensor<1xsi8>, tensor<1xf16>) -> tensor<32768xf16>
// JOINT-Q:      coreai.build_sparse_with_bitmask %w0_values, %w0_mask
// RUN: coreai-opt %t.mlir -p "sparsify,palettize<n_bits=4>" | filecheck %s --check-prefix=JOINT-P
// JOINT-P:      %w0_values = coreai.lut_to_dense %w0_values_indices, %w0_values_lut, %w0_values_axis : (tensor<32768xui4>, tensor<1x16x1xf16>, tensor<si16>) -> tensor<32768xf16>
// JOINT-P:      coreai.build_sparse_with_bitmask %w0_values, %w0_mask

// The Python API is defined as exactly these pipelines: identical IR.
// RUN: python -c "import sys; from coreai_opt import AIProgram; from coreai_opt.coreai_utils import sparsify_weights; sys.stdout.write(str(sparsify_weights(AIProgram.load('%t.mlir'), quantize_dtype='int8')))" > %t.function-q
// RUN: coreai-opt %t.mlir -p "sparsify<target_sparsity=0.5>,quantize<dtype=int8>" > %t.pipeline-q
// RUN: diff %t.function-q %t.pipeline-q
// RUN: python -c "import sys; from coreai_opt import AIProgram; from coreai_opt.coreai_utils import sparsify_weights; sys.stdout.write(str(sparsify_weights(AIProgram.load('%t.mlir'), palettize_nbits=4)))" > %t.function-p
// RUN: coreai-opt %t.mlir -p "sparsify<target_sparsity=0.5>,palettize<n_bits=4>" > %t.pipeline-p
// RUN: diff %t.function-p %t.pipeline-p

// Decompressing gives a dense weight with exactly half its entries zero.
// RUN: coreai-opt %t.mlir -p "sparsify,quantize<dtype=uint8>,decompress" | filecheck %s --check-prefix=DENSE
// DENSE: %w0 = coreai.constant dense_resource<w0> : tensor<32x2048xf16>
// DENSE-NOT: sparse
