#include "backends/cudnn/graph.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "backends/cudnn/frontend.hpp"
#include "backends/cudnn/library.hpp"
#include "core/text.hpp"
#include "cuda/runtime.hpp"

namespace attend::cudnn {
namespace {

namespace fe = cudnn_frontend;
using core::str;
using TensorPtr = std::shared_ptr<fe::graph::Tensor_attributes>;

// Everything a plan depends on, as words: equal keys may share a plan. A fixed array, so
// building one on every call allocates nothing.
constexpr std::size_t kKeyWords = 2 + 6 * 8 + 6;
struct Key {
  std::array<std::int64_t, kKeyWords> words{};
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  std::size_t operator()(const Key& k) const noexcept {
    std::uint64_t h = 1469598103934665603ull;
    for (std::int64_t w : k.words) h = (h ^ static_cast<std::uint64_t>(w)) * 1099511628211ull;
    return static_cast<std::size_t>(h);
  }
};

Key key_of(const Problem& p, const Lowered& l) {
  Key k;
  std::size_t n = 0;
  auto push = [&](std::int64_t x) { k.words[n++] = x; };
  push(p.device.index);
  push(static_cast<std::int64_t>(p.dtype));
  for (const Dims* d : {&l.q, &l.k, &l.v, &l.o, &l.stats, &l.bias}) {
    for (std::int64_t x : d->dim) push(x);
    for (std::int64_t x : d->stride) push(x);
  }
  push(static_cast<std::int64_t>(l.bias_source));
  push(l.lse | l.ragged << 1 | l.causal << 2 | l.bottom_right << 3);
  push(l.left);
  push(l.right);
  push(std::bit_cast<std::int32_t>(l.scale));
  push(std::bit_cast<std::int32_t>(l.dropout_p));
  return k;
}

std::vector<std::int64_t> vec(const std::array<std::int64_t, 4>& a) {
  return {a.begin(), a.end()};
}

// Builds the SDPA graph of `l` and its execution plan; returns cuDNN's message on failure.
CompiledGraph build(const Problem& p, const Lowered& l, cudnnHandle_t handle) {
  CompiledGraph out;
  auto graph = std::make_shared<fe::graph::Graph>();
  graph->set_io_data_type(p.dtype == DType::bf16 ? fe::DataType_t::BFLOAT16 : fe::DataType_t::HALF)
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);

  auto tensor = [&](const char* name, Uid uid, const Dims& d) {
    out.uids.push_back(uid);
    return graph->tensor(fe::graph::Tensor_attributes()
                             .set_name(name)
                             .set_uid(uid)
                             .set_dim(vec(d.dim))
                             .set_stride(vec(d.stride)));
  };
  auto int_tensor = [&](const char* name, Uid uid, std::int64_t n, fe::DataType_t type) {
    out.uids.push_back(uid);
    return graph->tensor(fe::graph::Tensor_attributes()
                             .set_name(name)
                             .set_uid(uid)
                             .set_dim({n, 1, 1, 1})
                             .set_stride({1, 1, 1, 1})
                             .set_data_type(type));
  };

  TensorPtr q = tensor("Q", kUidQ, l.q), k = tensor("K", kUidK, l.k), v = tensor("V", kUidV, l.v);
  fe::graph::SDPA_attributes sdpa;
  sdpa.set_name("sdpa").set_generate_stats(l.lse).set_attn_scale(l.scale);
  if (l.bias_source != BiasSource::none) sdpa.set_bias(tensor("bias", kUidBias, l.bias));
  TensorPtr ragged_o;
  if (l.ragged) {
    sdpa.set_padding_mask(true)
        .set_seq_len_q(int_tensor("seq_q", kUidSeqQ, p.B, fe::DataType_t::INT32))
        .set_seq_len_kv(int_tensor("seq_kv", kUidSeqKv, p.B, fe::DataType_t::INT32));
    q->set_ragged_offset(int_tensor("ragged_q", kUidRaggedQ, p.B + 1, fe::DataType_t::INT32));
    k->set_ragged_offset(int_tensor("ragged_k", kUidRaggedK, p.B + 1, fe::DataType_t::INT32));
    v->set_ragged_offset(int_tensor("ragged_v", kUidRaggedV, p.B + 1, fe::DataType_t::INT32));
    ragged_o = int_tensor("ragged_o", kUidRaggedO, p.B + 1, fe::DataType_t::INT32);
  }
  if (l.left >= 0 || l.right >= 0) {
    sdpa.set_diagonal_alignment(l.bottom_right ? fe::DiagonalAlignment_t::BOTTOM_RIGHT
                                               : fe::DiagonalAlignment_t::TOP_LEFT);
    if (l.right >= 0) sdpa.set_diagonal_band_right_bound(static_cast<int>(l.right));
    if (l.left >= 0) sdpa.set_diagonal_band_left_bound(static_cast<int>(l.left));
  }
  if (l.dropout_p > 0.f) {
    sdpa.set_dropout(l.dropout_p, int_tensor("seed", kUidSeed, 1, fe::DataType_t::INT64),
                     int_tensor("offset", kUidOffset, 1, fe::DataType_t::INT64));
  }

  auto [o, stats] = graph->sdpa(q, k, v, std::move(sdpa));
  o->set_output(true).set_uid(kUidO).set_dim(vec(l.o.dim)).set_stride(vec(l.o.stride));
  out.uids.push_back(kUidO);
  if (ragged_o) o->set_ragged_offset(ragged_o);
  if (l.lse) {
    stats->set_output(true)
        .set_uid(kUidStats)
        .set_data_type(fe::DataType_t::FLOAT)
        .set_dim(vec(l.stats.dim))
        .set_stride(vec(l.stats.stride));
    out.uids.push_back(kUidStats);
  }

  auto failed = [&](const char* step, fe::error_t e) {
    out.error = str("cuDNN ", step, ": ", e.get_message());
    return out;
  };
  if (auto e = graph->validate(); e.is_bad()) return failed("validate", e);
  if (auto e = graph->build_operation_graph(handle); e.is_bad()) return failed("graph", e);
  if (auto e = graph->create_execution_plans({fe::HeurMode_t::A, fe::HeurMode_t::FALLBACK});
      e.is_bad()) {
    return failed("heuristics", e);
  }
  if (auto e = graph->check_support(); e.is_bad()) return failed("support", e);
  if (auto e = graph->build_plans(); e.is_bad()) return failed("plan", e);
  if (auto e = graph->get_workspace_size(out.workspace_bytes); e.is_bad()) {
    return failed("workspace", e);
  }
  // The tensors execute() takes, in the frontend's order; each must be one attend supplies.
  const std::vector<Uid> ours = out.uids;
  out.uids.clear();
  for (std::int64_t uid : graph->get_variant_pack_uids_sorted()) {
    if (std::find(ours.begin(), ours.end(), uid) == ours.end()) {
      out.error = str("cuDNN's plan asks for tensor ", uid, ", which attend does not supply");
      return out;
    }
    out.uids.push_back(static_cast<Uid>(uid));
  }
  out.impl = std::move(graph);
  return out;
}

// Least recently used plans leave first once the cache is full.
class GraphCache {
 public:
  std::shared_ptr<const CompiledGraph> find(const Key& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
  }

  void insert(Key key, std::shared_ptr<const CompiledGraph> g) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (index_.count(key) != 0) return;
    order_.emplace_front(key, std::move(g));
    index_.emplace(std::move(key), order_.begin());
    if (order_.size() > kGraphCacheCapacity) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
  }

  std::size_t size() {
    std::lock_guard<std::mutex> lock(mutex_);
    return order_.size();
  }

 private:
  using Entry = std::pair<Key, std::shared_ptr<const CompiledGraph>>;
  std::mutex mutex_;
  std::list<Entry> order_;
  std::unordered_map<Key, std::list<Entry>::iterator, KeyHash> index_;
};

GraphCache& cache() {
  static GraphCache* c = new GraphCache;  // outlives static destructors that may still run work
  return *c;
}

}  // namespace

std::shared_ptr<const CompiledGraph> graph_for(const Problem& p, const Lowered& l) {
  Key key = key_of(p, l);
  // check() and run() of one call ask for the same plan: the thread's last answer serves the
  // second without the cache's lock.
  thread_local Key last_key;
  thread_local std::shared_ptr<const CompiledGraph> last;
  if (last && key == last_key) return last;
  auto remember = [&](std::shared_ptr<const CompiledGraph> g) {
    last_key = key;
    last = g;
    return g;
  };
  if (auto hit = cache().find(key)) return remember(std::move(hit));
  // One build at a time: builds are rare and slow, and two threads asking for the same new
  // signature then share one plan.
  static std::mutex build_mutex;
  std::lock_guard<std::mutex> lock(build_mutex);
  if (auto hit = cache().find(key)) return remember(std::move(hit));
  cuda::DeviceGuard guard(p.device.index);
  std::shared_ptr<CompiledGraph> g;
  try {
    HandleLease handle(p.device.index, nullptr);
    g = std::make_shared<CompiledGraph>(build(p, l, handle.get()));
  } catch (const std::exception& e) {
    g = std::make_shared<CompiledGraph>();
    g->error = str("cuDNN: ", e.what());
  }
  cache().insert(key, g);
  return remember(std::move(g));
}

void execute(const CompiledGraph& g, int device, cudaStream_t stream, void* const* pointers,
             void* workspace) {
  HandleLease handle(device, stream);
  const auto* graph = static_cast<const fe::graph::Graph*>(g.impl.get());
  auto e = graph->execute(handle.get(), const_cast<void**>(pointers),
                          static_cast<int>(g.uids.size()), workspace);
  if (e.is_bad()) throw Error(Code::runtime, str("attend: cuDNN execute: ", e.get_message()));
}

std::size_t cached_graphs() {
  return cache().size();
}

}  // namespace attend::cudnn
