// One flex call: the compiled module loaded on the device, the problem lowered to flash3's
// parameter block with the spec's tensors, the block mask (the spec's, or one built now in the
// workspace) and one persistent launch of the generated kernel.
#include <cuda.h>
#include <cudaTypedefs.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "attend/error.hpp"
#include "backends/flash/lower.hpp"
#include "backends/flash3/launch.hpp"
#include "backends/flash3/maps.hpp"
#include "backends/flash3/tiles.hpp"
#include "backends/flex/block_mask.hpp"
#include "backends/flex/block_mask_params.hpp"
#include "backends/flex/compiler.hpp"
#include "backends/flex/launch.hpp"
#include "core/cuda_devices.hpp"
#include "core/flex_names.hpp"
#include "core/text.hpp"
#include "cuda/check.hpp"
#include "cuda/runtime.hpp"

namespace attend::flex {
namespace {

using core::str;

// The driver calls a module needs, looked up once through the runtime (no link to libcuda).
struct Driver {
  PFN_cuModuleLoadData_v2000 load;
  PFN_cuModuleGetFunction_v2000 function;
  PFN_cuFuncSetAttribute_v9000 set_attribute;
  PFN_cuLaunchKernel_v4000 launch;
};

const Driver& driver() {
  static const Driver d = [] {
    Driver d{};
    auto get = [](const char* name, int version, auto& fn) {
      void* p = nullptr;
      cudaDriverEntryPointQueryResult found{};
      ATTEND_CUDA_CHECK(
          cudaGetDriverEntryPointByVersion(name, &p, version, cudaEnableDefault, &found));
      if (found != cudaDriverEntryPointSuccess || p == nullptr) {
        throw Error(Code::unavailable, str("attend: flex needs ", name, " from the CUDA driver"));
      }
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
    };
    get("cuModuleLoadData", 2000, d.load);
    get("cuModuleGetFunction", 2000, d.function);
    get("cuFuncSetAttribute", 9000, d.set_attribute);
    get("cuLaunchKernel", 4000, d.launch);
    return d;
  }();
  return d;
}

void check(CUresult r, const char* what) {
  if (r != CUDA_SUCCESS) {
    throw Error(Code::runtime,
                str("attend: flex: ", what, " failed (CUresult ", static_cast<int>(r), ")"));
  }
}

struct Loaded {
  CUfunction kernel = nullptr, block_mask = nullptr;
  std::shared_ptr<const CompiledModule> module;  // kept: its address names the entry
};

// Modules stay loaded for the life of the process, one per (module, device); the attention
// kernel is allowed its `smem` bytes of dynamic shared memory once, when loaded.
const Loaded& load(const std::shared_ptr<const CompiledModule>& shared, int device, int smem) {
  static std::mutex mutex;
  static auto* loaded = new std::map<std::pair<const CompiledModule*, int>, Loaded>;
  std::lock_guard<std::mutex> lock(mutex);
  const CompiledModule& m = *shared;
  const auto key = std::make_pair(&m, device);
  if (auto it = loaded->find(key); it != loaded->end()) return it->second;
  const Driver& d = driver();
  CUmodule module = nullptr;
  check(d.load(&module, m.cubin.data()), "loading the compiled module");
  Loaded l;
  l.module = shared;
  check(d.function(&l.kernel, module, m.kernel_name.c_str()), "finding the attention kernel");
  check(d.function(&l.block_mask, module, m.block_mask_name.c_str()), "finding the mask kernel");
  check(d.set_attribute(l.kernel, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem),
        "allowing the kernel its shared memory");
  return loaded->emplace(key, std::move(l)).first->second;
}

std::shared_ptr<const CompiledModule> module_for(const Problem& p, const Variant& v) {
  std::shared_ptr<const CompiledModule> m = compiled_module(*p.flex, v);
  if (!m->error.empty()) {
    throw Error(Code::flex, "attend: flex: the spec's source does not compile:\n" + m->error);
  }
  return m;
}

}  // namespace

Variant variant_of(const Problem& p) {
  Variant v;
  v.dtype = p.dtype;
  v.kernel_dim = flash3::kernel_head_dim(p.D);
  v.general = !p.flex->score_mod.empty() || !(p.scale > 0);
  return v;
}

namespace {

// The block-mask kernel of p's loaded module, then the ordering of its rows.
void launch_block_mask(const Loaded& l, const Problem& p, const BlockMaskShape& shape,
                       const BlockMaskBuffers& out, cudaStream_t stream) {
  if (shape.bit_slots() > 0) {
    ATTEND_CUDA_CHECK(cudaMemsetAsync(out.bits_used, 0, sizeof(unsigned), stream));
  }
  flex_device::BlockMaskParams bp{out.counts,
                                  out.partial,
                                  out.full,
                                  out.slots,
                                  out.bits,
                                  out.bits_used,
                                  static_cast<int>(shape.bit_slots()),
                                  static_cast<int>(shape.batches),
                                  static_cast<int>(shape.heads),
                                  static_cast<int>(shape.m_blocks),
                                  static_cast<int>(shape.key_tiles),
                                  flash3::kBlockM,
                                  shape.block_n,
                                  static_cast<int>(p.Sq),
                                  static_cast<int>(p.Sk)};
  flash3::FlexArgs args = flex_args(p);
  void* params[] = {&bp, &args};
  check(driver().launch(l.block_mask, static_cast<unsigned>(shape.m_blocks),
                        static_cast<unsigned>(shape.heads), static_cast<unsigned>(shape.batches),
                        256, 1, 1, 0, stream, params, nullptr),
        "launching the block-mask kernel");
  launch_block_order(shape, out, stream);
}

}  // namespace

void launch_block_mask(const Problem& p, const BlockMaskShape& shape, const BlockMaskBuffers& out,
                       cudaStream_t stream) {
  const Variant v = variant_of(p);
  launch_block_mask(
      load(module_for(p, v), p.device.index, flash3::shared_memory_bytes(v.kernel_dim)), p, shape,
      out, stream);
}

void run(const Problem& pr) {
  if (pr.B == 0 || pr.Hq == 0 || pr.Sq == 0) return;
  cuda::DeviceGuard guard(pr.device.index);
  const cudaStream_t stream = cuda::stream_of(pr);
  const Variant v = variant_of(pr);
  const int smem = flash3::shared_memory_bytes(v.kernel_dim);
  const Loaded& l = load(module_for(pr, v), pr.device.index, smem);

  flash3::Flash3Params p;
  flash::FlashParams& f = p.f;
  f = flash::lower(pr);
  // A score_mod takes the scaled score in natural units; the kernel turns its result to log2.
  if (!pr.flex->score_mod.empty()) f.score_scale = static_cast<float>(pr.scale);
  const int grid = flash3::schedule_grid(pr, p);
  p.flex = flex_args(pr);

  std::optional<cuda::WorkspaceLease> lease;
  if (!pr.flex->mask_mod.empty()) {
    const BlockMaskShape shape = block_mask_shape(pr);
    if (const FlexBlockMask* given = pr.flex->block_mask.get()) {
      p.flex.blocks = block_list_of(*given, pr, shape);
    } else {
      lease.emplace(pr.device.index, stream, shape.bytes());
      const BlockMaskBuffers buffers = shape.place(lease->data());
      launch_block_mask(l, pr, shape, buffers, stream);
      p.flex.blocks = shape.list(buffers);
    }
  }

  const flash3::TensorMaps maps = flash3::tensor_maps(pr, f, v.kernel_dim);
  void* params[] = {const_cast<CUtensorMap*>(&maps.q), const_cast<CUtensorMap*>(&maps.k),
                    const_cast<CUtensorMap*>(&maps.v), const_cast<CUtensorMap*>(&maps.o), &p};
  check(driver().launch(l.kernel, static_cast<unsigned>(grid), 1, 1, flash3::kThreads, 1, 1,
                        static_cast<unsigned>(smem), stream, params, nullptr),
        "launching the flex kernel");
}

}  // namespace attend::flex
