// The backend's entry points: the library check, cuDNN's verdict on a problem (its cached
// plan), and one call: attend's own preparations in the workspace (bias, ragged tables, dropout
// state), the variant pack in the plan's order, and the execution.
#include "backends/cudnn/sdpa.hpp"

#include <cstdint>
#include <optional>

#include "backends/cudnn/graph.hpp"
#include "backends/cudnn/library.hpp"
#include "backends/cudnn/prep.hpp"
#include "core/text.hpp"
#include "cuda/runtime.hpp"

namespace attend::cudnn {
namespace {

bool empty(const Problem& p) {
  return p.B == 0 || p.Hq == 0 || p.Sq == 0 || (p.varlen && p.total_q == 0);
}
bool keyless(const Problem& p) {
  return p.Sk == 0 || (p.varlen && p.total_k == 0);
}

}  // namespace

Availability library_availability() {
  return loaded_library();
}

void check_graph(const Problem& p, ReasonSink& sink) {
  if (empty(p) || keyless(p)) return;  // run() answers these without cuDNN
  const Lowered l = lower(p);
  if (sink.detailed() && l.bias_source == BiasSource::converted) {
    sink.note(core::str("the masks become one additive bias of ", l.bias.dim[0], "x", l.bias.dim[1],
                        "x", l.bias.dim[2], "x", l.bias.dim[3], " (",
                        (l.bias_bytes + (1 << 20) - 1) >> 20, " MiB of workspace)"));
  }
  const std::shared_ptr<const CompiledGraph> g = graph_for(p, l);
  if (!g->error.empty()) {
    sink.refuse(Code::unsupported, "cuDNN's verdict", "a supported problem", g->error);
  }
}

void run(const Problem& p) {
  if (empty(p)) return;
  cuda::DeviceGuard guard(p.device.index);
  const cudaStream_t stream = cuda::stream_of(p);
  if (keyless(p)) {
    fill_keyless(p, stream);
    return;
  }
  const Lowered l = lower(p);
  const std::shared_ptr<const CompiledGraph> g = graph_for(p, l);
  if (!g->error.empty()) throw Error(Code::unsupported, "attend: " + g->error);

  // Workspace: cuDNN's own, the converted bias, the ragged tables, the dropout state.
  const std::size_t cudnn_bytes = cuda::align_up(static_cast<std::size_t>(g->workspace_bytes));
  const std::size_t bias_bytes = cuda::align_up(l.bias_bytes);
  const std::size_t ragged_bytes = cuda::align_up(l.ragged_bytes);
  const std::size_t rng_bytes = l.dropout_p > 0.f ? cuda::align_up(2 * sizeof(std::int64_t)) : 0;
  const std::size_t total = cudnn_bytes + bias_bytes + ragged_bytes + rng_bytes;
  std::optional<cuda::WorkspaceLease> lease;
  if (total > 0) lease.emplace(p.device.index, stream, total);
  char* const base = lease ? lease->as<char>() : nullptr;
  void* const bias = base + cudnn_bytes;
  void* const ragged = base + cudnn_bytes + bias_bytes;
  auto* const rng = reinterpret_cast<std::int64_t*>(base + cudnn_bytes + bias_bytes + ragged_bytes);

  if (l.bias_source == BiasSource::converted) convert_bias(p, l, bias, stream);
  RaggedTables tables{};
  if (l.ragged) tables = ragged_tables(p, ragged, stream);
  if (l.dropout_p > 0.f) store_rng_state(p, rng, stream);

  void* pointers[kUidOffset + 1];
  const std::size_t n = g->uids.size();
  for (std::size_t i = 0; i < n; ++i) {
    void*& ptr = pointers[i];
    switch (g->uids[i]) {
      case kUidQ:
        ptr = p.q.data;
        break;
      case kUidK:
        ptr = p.k.data;
        break;
      case kUidV:
        ptr = p.v.data;
        break;
      case kUidO:
        ptr = p.out.data;
        break;
      case kUidStats:
        ptr = p.lse.data;
        break;
      case kUidBias:
        ptr = l.bias_source == BiasSource::in_place ? const_cast<void*>(p.mask.data) : bias;
        break;
      case kUidSeqQ:
        ptr = tables.seq_q;
        break;
      case kUidSeqKv:
        ptr = tables.seq_k;
        break;
      case kUidRaggedQ:
        ptr = tables.offset_q;
        break;
      case kUidRaggedK:
        ptr = tables.offset_k;
        break;
      case kUidRaggedV:
        ptr = tables.offset_v;
        break;
      case kUidRaggedO:
        ptr = tables.offset_o;
        break;
      case kUidSeed:
        ptr = rng;
        break;
      case kUidOffset:
        ptr = rng + 1;
        break;
    }
  }
  execute(*g, p.device.index, stream, pointers, base);
}

}  // namespace attend::cudnn
