// Key padding to packed sequences, on the device: each sequence keeps exactly the keys its mask
// marks, in order. Slots come from a prefix count over the mask row, not from a prefix slice of
// the row, so left padding, right padding and gaps are all right.
#include <cstdint>

#include "backends/flash/kernels.hpp"
#include "backends/flash/lower.hpp"
#include "cuda/check.hpp"
#include "cuda/runtime.hpp"

namespace attend::flash {
namespace {

constexpr int kScanThreads = 1024;

// Inclusive prefix sum of one int per thread across the block; `total` gets the block's sum.
__device__ int block_inclusive_scan(int x, int* warp_totals, int& total) {
  const int lane = static_cast<int>(threadIdx.x) % 32, warp = static_cast<int>(threadIdx.x) / 32;
#pragma unroll
  for (int d = 1; d < 32; d *= 2) {
    const int y = __shfl_up_sync(0xffffffffu, x, d);
    if (lane >= d) x += y;
  }
  if (lane == 31) warp_totals[warp] = x;
  __syncthreads();
  if (warp == 0) {
    int t = warp_totals[lane];
#pragma unroll
    for (int d = 1; d < 32; d *= 2) {
      const int y = __shfl_up_sync(0xffffffffu, t, d);
      if (lane >= d) t += y;
    }
    warp_totals[lane] = t;
  }
  __syncthreads();
  const int result = x + (warp > 0 ? warp_totals[warp - 1] : 0);
  total = warp_totals[31];
  __syncthreads();  // warp_totals is reused by the next call
  return result;
}

// One block per sequence: the slot of each kept key within its sequence (-1: dropped), and the
// number of kept keys.
__global__ void __launch_bounds__(kScanThreads) key_slots_kernel(KeyPacking kp) {
  __shared__ int warp_totals[32];
  const int b = static_cast<int>(blockIdx.x);
  int* slots = kp.scratch + static_cast<std::int64_t>(b) * kp.Sk;
  int carry = 0;
  for (int j0 = 0; j0 < kp.Sk; j0 += kScanThreads) {
    const int j = j0 + static_cast<int>(threadIdx.x);
    const int keep = j < kp.Sk && kp.mask[b * kp.mask_sb + j * kp.mask_sk] != 0;
    int total = 0;
    const int inclusive = block_inclusive_scan(keep, warp_totals, total);
    if (j < kp.Sk) slots[j] = keep ? carry + inclusive - 1 : -1;
    carry += total;
  }
  if (threadIdx.x == 0) kp.scratch[static_cast<std::int64_t>(kp.B) * kp.Sk + b] = carry;
}

// One block: cu_k = exclusive prefix sums of the counts.
__global__ void __launch_bounds__(kScanThreads) cu_seqlens_kernel(KeyPacking kp) {
  __shared__ int warp_totals[32];
  const int* counts = kp.scratch + static_cast<std::int64_t>(kp.B) * kp.Sk;
  int carry = 0;
  if (threadIdx.x == 0) kp.cu_k[0] = 0;
  for (int b0 = 0; b0 < kp.B; b0 += kScanThreads) {
    const int b = b0 + static_cast<int>(threadIdx.x);
    int total = 0;
    const int inclusive = block_inclusive_scan(b < kp.B ? counts[b] : 0, warp_totals, total);
    if (b < kp.B) kp.cu_k[b + 1] = carry + inclusive;
    carry += total;
  }
  // The rows after the last sequence: TMA-fed kernels (flash3) read whole key blocks, and a
  // block that runs past the end multiplies P = 0 by these rows of V. Zeros, not leftover
  // workspace bytes that could be NaN.
  constexpr std::int64_t kTailRows = 256;  // the widest key block of any kernel
  const int row_chunks = kp.Hkv * kp.D * kp.element_bytes / 16;
  const std::int64_t end = min(static_cast<std::int64_t>(kp.B) * kp.Sk, carry + kTailRows);
  for (std::int64_t i = carry * row_chunks + threadIdx.x; i < end * row_chunks; i += blockDim.x) {
    reinterpret_cast<uint4*>(kp.v_packed)[i] = make_uint4(0, 0, 0, 0);
  }
}

// Block (j, b): copies key j of sequence b, all heads of K and V, to its packed row.
__global__ void __launch_bounds__(128) pack_rows_kernel(KeyPacking kp) {
  const int j = static_cast<int>(blockIdx.x), b = static_cast<int>(blockIdx.y);
  const int slot = kp.scratch[static_cast<std::int64_t>(b) * kp.Sk + j];
  if (slot < 0) return;
  const std::int64_t row = kp.cu_k[b] + slot;
  const int chunks_per_head = kp.D * kp.element_bytes / 16;
  const int chunks = kp.Hkv * chunks_per_head;
  for (int c = static_cast<int>(threadIdx.x); c < chunks; c += blockDim.x) {
    const int h = c / chunks_per_head, part = c % chunks_per_head;
    const std::int64_t k_src =
        (b * kp.k_sb + static_cast<std::int64_t>(j) * kp.k_ss + h * kp.k_sh) * kp.element_bytes;
    const std::int64_t v_src =
        (b * kp.v_sb + static_cast<std::int64_t>(j) * kp.v_ss + h * kp.v_sh) * kp.element_bytes;
    const std::int64_t dst = (row * kp.Hkv + h) * kp.D * kp.element_bytes;
    reinterpret_cast<uint4*>(static_cast<char*>(kp.k_packed) + dst)[part] =
        reinterpret_cast<const uint4*>(static_cast<const char*>(kp.k) + k_src)[part];
    reinterpret_cast<uint4*>(static_cast<char*>(kp.v_packed) + dst)[part] =
        reinterpret_cast<const uint4*>(static_cast<const char*>(kp.v) + v_src)[part];
  }
}

}  // namespace

void launch_key_packing(const KeyPacking& kp, cudaStream_t stream) {
  key_slots_kernel<<<kp.B, kScanThreads, 0, stream>>>(kp);
  ATTEND_CUDA_CHECK_LAUNCH("key_slots_kernel");
  cu_seqlens_kernel<<<1, kScanThreads, 0, stream>>>(kp);
  ATTEND_CUDA_CHECK_LAUNCH("cu_seqlens_kernel");
  if (kp.Sk > 0) {
    pack_rows_kernel<<<dim3(kp.Sk, kp.B), 128, 0, stream>>>(kp);
    ATTEND_CUDA_CHECK_LAUNCH("pack_rows_kernel");
  }
}

namespace {
// Workspace pieces, in order: packed K, packed V, key slots (B·Sk + B ints), cu_k (B + 1).
struct PackingSizes {
  std::size_t packed, slots, cu_k;
  explicit PackingSizes(const Problem& pr) {
    const auto B = static_cast<std::size_t>(pr.B), Sk = static_cast<std::size_t>(pr.Sk);
    constexpr std::size_t kElementBytes = 2;  // fp16 and bf16
    packed = cuda::align_up(B * Sk * static_cast<std::size_t>(pr.Hkv * pr.D) * kElementBytes);
    slots = cuda::align_up((B * Sk + B) * 4);
    cu_k = cuda::align_up((B + 1) * 4);
  }
};
}  // namespace

std::size_t key_packing_bytes(const Problem& pr) {
  const PackingSizes z(pr);
  return 2 * z.packed + z.slots + z.cu_k;
}

void pack_padded_keys(const Problem& pr, FlashParams& p, void* workspace, cudaStream_t stream) {
  const PackingSizes z(pr);
  auto* at = static_cast<char*>(workspace);
  KeyPacking kp;
  kp.mask = static_cast<const std::uint8_t*>(pr.key_padding.data);
  kp.mask_sb = pr.key_padding.sb;
  kp.mask_sk = pr.key_padding.sk;
  kp.B = p.B, kp.Sk = p.Sk, kp.Hkv = p.Hkv, kp.D = p.D;
  kp.element_bytes = 2;
  kp.k = p.k, kp.v = p.v;
  kp.k_sb = p.k_sb, kp.k_ss = p.k_ss, kp.k_sh = p.k_sh;
  kp.v_sb = p.v_sb, kp.v_ss = p.v_ss, kp.v_sh = p.v_sh;
  kp.k_packed = at;
  kp.v_packed = at + z.packed;
  kp.scratch = reinterpret_cast<std::int32_t*>(at + 2 * z.packed);
  kp.cu_k = reinterpret_cast<std::int32_t*>(at + 2 * z.packed + z.slots);
  launch_key_packing(kp, stream);
  p.k = kp.k_packed;
  p.v = kp.v_packed;
  p.cu_k = kp.cu_k;
  p.k_sb = p.v_sb = 0;
  p.k_ss = p.v_ss = static_cast<std::int64_t>(p.Hkv) * p.D;
  p.k_sh = p.v_sh = p.D;
}

}  // namespace attend::flash
