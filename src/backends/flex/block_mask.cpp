#include "backends/flex/block_mask.hpp"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "attend/error.hpp"
#include "backends/flash3/launch.hpp"
#include "backends/flash3/tiles.hpp"
#include "backends/flex/codegen.hpp"
#include "backends/flex/launch.hpp"
#include "core/flex_names.hpp"
#include "core/text.hpp"
#include "cuda/check.hpp"
#include "cuda/runtime.hpp"

namespace attend::flex {
namespace {

using core::str;

// A block mask in its own device memory, with what it was built from: a later call may use it
// only for the same mask (source and tensors), sizes and device.
class DeviceBlockMask final : public FlexBlockMask {
 public:
  DeviceBlockMask(const Problem& p, const BlockMaskShape& shape)
      : shape_(shape), device_(p.device.index), mask_mod_(p.flex->mask_mod) {
    for (const FlexTensor& t : p.flex->tensors) tensors_.push_back(t.tensor.data);
    cuda::DeviceGuard guard(device_);
    ATTEND_CUDA_CHECK(cudaMalloc(&memory_, shape_.bytes()));
    buffers_ = shape_.place(memory_);
  }
  ~DeviceBlockMask() override {
    if (memory_ == nullptr) return;
    cudaSetDevice(device_);
    cudaFree(memory_);  // errors at exit (a torn-down context) leave nothing to do
  }

  std::int64_t batches() const noexcept override { return shape_.batches; }
  std::int64_t heads() const noexcept override { return shape_.heads; }
  std::int64_t query_tiles() const noexcept override { return shape_.m_blocks; }
  std::int64_t key_tiles() const noexcept override { return shape_.key_tiles; }
  std::int64_t visited_tiles() const override {
    std::vector<int> counts(static_cast<std::size_t>(2 * shape_.rows()));
    cuda::DeviceGuard guard(device_);
    ATTEND_CUDA_CHECK(cudaMemcpy(counts.data(), buffers_.counts, counts.size() * sizeof(int),
                                 cudaMemcpyDeviceToHost));
    return std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
  }

  const BlockMaskBuffers& buffers() const noexcept { return buffers_; }

  // Why this mask does not fit problem p (of the given shape), or empty when it does.
  std::string mismatch(const Problem& p, const BlockMaskShape& shape) const {
    if (p.device.index != device_) return str("it is on cuda:", device_);
    if (p.flex->mask_mod != mask_mod_) return "it was built from another mask_mod";
    const std::vector<FlexTensor>& tensors = p.flex->tensors;
    bool same = tensors.size() == tensors_.size();
    for (std::size_t i = 0; same && i < tensors.size(); ++i)
      same = tensors[i].tensor.data == tensors_[i];
    if (!same) return "it was built with other tensors";
    if (!(shape == shape_)) {
      return str("it has ", shape_.batches, "x", shape_.heads, "x", shape_.m_blocks, "x",
                 shape_.key_tiles, " tiles of 128x", shape_.block_n, ", the call needs ",
                 shape.batches, "x", shape.heads, "x", shape.m_blocks, "x", shape.key_tiles,
                 " of 128x", shape.block_n);
    }
    return {};
  }

 private:
  BlockMaskShape shape_;
  int device_;
  std::string mask_mod_;
  std::vector<const void*> tensors_;
  void* memory_ = nullptr;
  BlockMaskBuffers buffers_;
};

}  // namespace

std::int64_t BlockMaskShape::bit_slot_bytes() const noexcept {
  return std::int64_t{flash3::mask_words(block_n)} * 256 * sizeof(unsigned);
}

std::int64_t BlockMaskShape::bit_slots() const noexcept {
  if (block_n <= 0 || !keep_bits) return 0;
  return std::min(
      {rows() * key_tiles, rows() * kMaskBitSlotsPerRow, kMaxMaskBitBytes / bit_slot_bytes()});
}

std::size_t BlockMaskShape::bytes() const noexcept {
  const std::size_t n = static_cast<std::size_t>(rows());
  const std::size_t list = cuda::align_up(n * static_cast<std::size_t>(key_tiles) * sizeof(int));
  return cuda::align_up(2 * n * sizeof(int)) + 3 * list + cuda::align_up(n * sizeof(int)) +
         cuda::align_up(static_cast<std::size_t>(bit_slots() * bit_slot_bytes())) +
         cuda::align_up(sizeof(unsigned));
}

BlockMaskBuffers BlockMaskShape::place(void* base) const noexcept {
  const std::size_t n = static_cast<std::size_t>(rows());
  const std::size_t list = cuda::align_up(n * static_cast<std::size_t>(key_tiles) * sizeof(int));
  char* at = static_cast<char*>(base);
  BlockMaskBuffers b;
  b.counts = reinterpret_cast<int*>(at);
  at += cuda::align_up(2 * n * sizeof(int));
  b.partial = reinterpret_cast<int*>(at);
  at += list;
  b.full = reinterpret_cast<int*>(at);
  at += list;
  b.slots = reinterpret_cast<int*>(at);
  at += list;
  b.order = reinterpret_cast<int*>(at);
  at += cuda::align_up(n * sizeof(int));
  b.bits = reinterpret_cast<unsigned*>(at);
  at += cuda::align_up(static_cast<std::size_t>(bit_slots() * bit_slot_bytes()));
  b.bits_used = reinterpret_cast<unsigned*>(at);
  return b;
}

flash3::FlexBlockList BlockMaskShape::list(const BlockMaskBuffers& b) const noexcept {
  flash3::FlexBlockList l;
  l.counts = b.counts;
  l.partial = b.partial;
  l.full = b.full;
  l.order = b.order;
  if (bit_slots() > 0) {  // else the kernel reads no slots
    l.slots = b.slots;
    l.bits = b.bits;
  }
  l.batches = static_cast<int>(batches);
  l.heads = static_cast<int>(heads);
  l.key_tiles = static_cast<int>(key_tiles);
  return l;
}

BlockMaskShape block_mask_shape(const Problem& p) {
  BlockMaskShape s;
  const std::string& mask = p.flex->mask_mod;
  s.batches = core::mentions(mask, "b") ? p.B : 1;
  s.heads = core::mentions(mask, "h") ? p.Hq : 1;
  s.m_blocks = (p.Sq + flash3::kBlockM - 1) / flash3::kBlockM;
  s.block_n = flash3::key_tile(flash3::kernel_head_dim(p.D));
  s.key_tiles = (p.Sk + s.block_n - 1) / s.block_n;
  // A mask that reads no tensor is arithmetic on the indices: evaluating it again in the kernel
  // costs less than loading its bits (a window mask ran 2% slower with them).
  for (const FlexTensor& t : p.flex->tensors) s.keep_bits |= core::mentions(mask, t.name);
  return s;
}

flash3::FlexArgs flex_args(const Problem& p) {
  flash3::FlexArgs a;
  const std::vector<FlexTensor>& tensors = p.flex->tensors;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorView& t = tensors[i].tensor;
    a.tensors[i].data = t.data;
    for (int d = 0; d < t.rank; ++d) a.tensors[i].stride[d] = t.strides[d];
  }
  return a;
}

flash3::FlexBlockList block_list_of(const FlexBlockMask& mask, const Problem& p,
                                    const BlockMaskShape& shape) {
  const auto* ours = dynamic_cast<const DeviceBlockMask*>(&mask);
  if (ours == nullptr) throw Error(Code::flex, "attend: flex: the block mask is not attend's");
  if (std::string why = ours->mismatch(p, shape); !why.empty()) {
    throw Error(Code::flex, "attend: flex: the spec's block mask does not fit this call: " + why +
                                "; build it again with attend::flex_block_mask");
  }
  return shape.list(ours->buffers());
}

std::shared_ptr<const FlexBlockMask> build_block_mask(const Problem& p) {
  if (p.flex->mask_mod.empty()) {
    throw Error(Code::flex, "attend: flex_block_mask needs a spec with a mask_mod");
  }
  const BlockMaskShape shape = block_mask_shape(p);
  auto mask = std::make_shared<DeviceBlockMask>(p, shape);
  cuda::DeviceGuard guard(p.device.index);
  if (shape.rows() > 0) launch_block_mask(p, shape, mask->buffers(), cuda::stream_of(p));
  return mask;
}

}  // namespace attend::flex
