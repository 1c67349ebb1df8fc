// cuDNN SDPA graphs: built once per problem signature (shapes, strides, dtype, masks, band,
// scale, device) and kept in a bounded, thread-safe cache, so a steady-state call only looks its
// plan up and executes it. A signature cuDNN does not support is cached too, with cuDNN's reason.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attend/problem.hpp"
#include "backends/cudnn/lowered.hpp"

namespace attend::cudnn {

struct CompiledGraph {
  std::string error;                 // non-empty: cuDNN cannot run this signature, and why
  std::int64_t workspace_bytes = 0;  // cuDNN's own workspace
  std::vector<Uid> uids;             // the tensors execute() takes, in this order
  std::shared_ptr<const void> impl;  // the frontend graph
};

// The plan for `p` (lowered to `l`), from the cache or built now on p's device.
std::shared_ptr<const CompiledGraph> graph_for(const Problem& p, const Lowered& l);

// Enqueues the plan on `stream`; `pointers` follow `g.uids`.
void execute(const CompiledGraph& g, int device, cudaStream_t stream, void* const* pointers,
             void* workspace);

// Plans in the cache now, and the most it keeps.
std::size_t cached_graphs();
constexpr std::size_t kGraphCacheCapacity = 256;

}  // namespace attend::cudnn
