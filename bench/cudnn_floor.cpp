// cuDNN's own host cost per SDPA call, without attend: one graph for the host-overhead problem
// (bf16, B1 H2 S128 D64), built once with cudnn-frontend, then only executed, with the same
// handle, stream and variant pack each time. attend's `cudnn` call minus this is attend's part.
#include "cudnn_floor.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#define NV_CUDNN_FRONTEND_USE_DYNAMIC_LOADING
#define CUDNN_FRONTEND_SKIP_JSON_LIB
#include <cuda_runtime.h>
#include <cudnn_frontend.h>

// The frontend resolves cuDNN through this handle. libattend names the same symbol, so both
// see one variable; each sets it to the same opened library.
namespace cudnn_frontend {
void* cudnn_dlhandle = nullptr;
}  // namespace cudnn_frontend

namespace {

namespace fe = cudnn_frontend;

void require(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

}  // namespace

struct CudnnFloor::State {
  std::shared_ptr<fe::graph::Graph> graph;
  cudnnHandle_t handle = nullptr;
  std::vector<void*> buffers, pack;
  void* workspace = nullptr;
};

CudnnFloor::CudnnFloor() : state_(std::make_unique<State>()) {
  const char* env = std::getenv("ATTEND_CUDNN_LIBRARY");
  void* lib = dlopen(env != nullptr && *env != '\0' ? env : "libcudnn.so.9", RTLD_NOW | RTLD_LOCAL);
  require(lib != nullptr, "cuDNN not found");
  fe::cudnn_dlhandle = lib;

  constexpr std::int64_t B = 1, H = 2, S = 128, D = 64;
  const std::vector<std::int64_t> dim{B, H, S, D}, stride{H * S * D, D, H * D, 1};  // BSHD
  auto& graph = state_->graph;
  graph = std::make_shared<fe::graph::Graph>();
  graph->set_io_data_type(fe::DataType_t::BFLOAT16)
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  auto tensor = [&](const char* name, std::int64_t uid) {
    return graph->tensor(
        fe::graph::Tensor_attributes().set_name(name).set_uid(uid).set_dim(dim).set_stride(stride));
  };
  auto q = tensor("Q", 1), k = tensor("K", 2), v = tensor("V", 3);
  fe::graph::SDPA_attributes sdpa;
  sdpa.set_name("sdpa").set_generate_stats(false).set_attn_scale(0.125f);
  auto [o, stats] = graph->sdpa(q, k, v, std::move(sdpa));
  o->set_output(true).set_uid(4).set_dim(dim).set_stride(stride);

  cudnnHandle_t& handle = state_->handle;
  require(fe::detail::create_handle(&handle) == CUDNN_STATUS_SUCCESS, "cudnnCreate failed");
  require(graph->validate().is_good(), "validate failed");
  require(graph->build_operation_graph(handle).is_good(), "graph failed");
  require(graph->create_execution_plans({fe::HeurMode_t::A}).is_good(), "heuristics failed");
  require(graph->check_support().is_good(), "support failed");
  require(graph->build_plans().is_good(), "plan failed");
  std::int64_t workspace_bytes = 0;
  require(graph->get_workspace_size(workspace_bytes).is_good(), "workspace failed");
  require(fe::detail::set_stream(handle, nullptr) == CUDNN_STATUS_SUCCESS, "set stream failed");

  const std::size_t bytes = B * H * S * D * 2;
  state_->buffers.assign(4, nullptr);
  for (void*& b : state_->buffers)
    require(cudaMalloc(&b, bytes) == cudaSuccess, "cudaMalloc failed");
  if (workspace_bytes > 0) {
    require(
        cudaMalloc(&state_->workspace, static_cast<std::size_t>(workspace_bytes)) == cudaSuccess,
        "cudaMalloc failed");
  }
  // The variant pack in the frontend's sorted order of uids (1 Q, 2 K, 3 V, 4 O).
  for (std::int64_t uid : graph->get_variant_pack_uids_sorted())
    state_->pack.push_back(state_->buffers[uid - 1]);
}

CudnnFloor::~CudnnFloor() {
  cudaDeviceSynchronize();
  for (void* b : state_->buffers) cudaFree(b);
  cudaFree(state_->workspace);
}

void CudnnFloor::call() {
  State& s = *state_;
  require(s.graph->execute(s.handle, s.pack.data(), static_cast<int>(s.pack.size()), s.workspace)
              .is_good(),
          "execute failed");
}
