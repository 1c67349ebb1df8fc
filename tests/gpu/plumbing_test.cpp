// The CUDA contract of every GPU backend: work goes on the caller's stream and the host never
// waits for it, a call can be captured into a CUDA graph after a warm-up run and replayed, a
// capture that would need more workspace is an attend::Error rather than a crash, a tensor on a
// device that does not exist is refused, and CUDA failures surface as attend::Error.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "gpu_fixture.hpp"

#ifdef ATTEND_TEST_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace attend {
namespace {

using support::ProblemSpec;

ProblemSpec small_problem() {
  ProblemSpec s;
  s.dtype = DType::bf16;
  s.B = 2, s.Hq = 4, s.Hkv = 2, s.Sq = 200, s.Sk = 256, s.D = 64;
  s.causal = true, s.align = Align::bottom_right, s.lse = true;
  return s;
}

// Held to the dtype's tolerance, or a quantized backend to its own bounds.
void expect_matches_reference(const support::HostProblem& host, const support::Output& got,
                              const std::string& backend) {
  const support::Comparison cmp = support::compare(host, got, gpu_testing::reference(host));
  EXPECT_TRUE(gpu_testing::accurate(backend, cmp, host.spec())) << gpu_testing::describe(cmp);
}

// A tensor on cuda:99 (no such device) is refused by every GPU backend with Code::device.
TEST(GpuPlumbing, NonexistentDeviceIsRefused) {
  ATTEND_REQUIRE_GPU();
  support::HostProblem host(small_problem());
  support::Output o = host.make_output();
  Params p = host.params(o);  // host pointers: a refused problem is never read
  for (TensorView* t : {&p.q, &p.k, &p.v, &p.out, &p.lse}) t->device = Device::cuda(99);
  for (const std::string& backend : gpu_testing::gpu_backends()) {
    if (gpu_testing::availability_of(backend).score <= 0) continue;
    SCOPED_TRACE(backend);
    try {
      attention(p, backend);
      ADD_FAILURE() << "cuda:99 was accepted";
    } catch (const NoBackendError& e) {
      EXPECT_EQ(e.code(), Code::device) << e.what();
    }
  }
}

#ifdef ATTEND_TEST_WITH_CUDA

#define CUDA_OK(call) ASSERT_EQ((call), cudaSuccess) << #call

// A non-blocking stream that lives as long as the process: the workspace cache is keyed by
// stream handle, and a destroyed stream's handle can come back for the next stream created.
cudaStream_t lasting_stream() {
  cudaStream_t s = nullptr;
  EXPECT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  return s;
}

// Holds a stream at a host function until opened (or until a timeout, which is then recorded):
// work enqueued behind it cannot have run while it is closed.
struct Gate {
  std::mutex m;
  std::condition_variable cv;
  bool open = false;
  bool timed_out = false;

  static void CUDART_CB wait(void* self) {
    auto* g = static_cast<Gate*>(self);
    std::unique_lock<std::mutex> lock(g->m);
    if (!g->cv.wait_for(lock, std::chrono::seconds(20), [g] { return g->open; })) {
      g->timed_out = true;
    }
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(m);
      open = true;
    }
    cv.notify_all();
  }
};

class GpuStreams : public gpu_testing::BackendTest {};

// The call only enqueues on the caller's stream: while that stream is held at a gate the output
// stays poisoned (seen through another stream), and attention() returns without waiting.
TEST_P(GpuStreams, WorkGoesOnTheCallersStream) {
  const std::string& backend = GetParam();
  support::HostProblem host(small_problem());
  const cudaStream_t stream = lasting_stream();
  support::DeviceProblem dev(host, 0, stream);
  if (auto why = gpu_testing::refusal(dev.params(), backend)) GTEST_SKIP() << *why;
  attention(dev.params(), backend);  // warm-up: library handles, workspace
  dev.poison_outputs();
  CUDA_OK(cudaStreamSynchronize(stream));

  const std::size_t bytes =
      static_cast<std::size_t>(host.out_elements()) * size_of(host.spec().dtype);
  unsigned char* seen = nullptr;
  CUDA_OK(cudaMallocHost(&seen, bytes));
  const cudaStream_t probe = lasting_stream();
  Gate gate;
  CUDA_OK(cudaLaunchHostFunc(stream, &Gate::wait, &gate));
  attention(dev.params(), backend);
  CUDA_OK(cudaMemcpyAsync(seen, dev.params().out.data, bytes, cudaMemcpyDeviceToHost, probe));
  CUDA_OK(cudaStreamSynchronize(probe));
  gate.release();
  CUDA_OK(cudaStreamSynchronize(stream));
  EXPECT_FALSE(gate.timed_out) << "attention() waited for its stream";
  std::vector<unsigned char> poison(bytes, 0xFF);
  EXPECT_EQ(std::memcmp(seen, poison.data(), bytes), 0)
      << "the output was written before the caller's stream reached the work";
  CUDA_OK(cudaFreeHost(seen));
  expect_matches_reference(host, dev.download(), backend);
}

// Captured after a warm-up run, the call replays from the graph, every time.
TEST_P(GpuStreams, GraphCaptureReplays) {
  const std::string& backend = GetParam();
  support::HostProblem host(small_problem());
  const cudaStream_t stream = lasting_stream();
  support::DeviceProblem dev(host, 0, stream);
  if (auto why = gpu_testing::refusal(dev.params(), backend)) GTEST_SKIP() << *why;
  attention(dev.params(), backend);
  CUDA_OK(cudaStreamSynchronize(stream));

  cudaGraph_t graph = nullptr;
  CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  try {
    attention(dev.params(), backend);
  } catch (const std::exception& e) {
    (void)cudaStreamEndCapture(stream, &graph);
    if (graph) (void)cudaGraphDestroy(graph);
    FAIL() << "attention() during capture threw: " << e.what();
  }
  CUDA_OK(cudaStreamEndCapture(stream, &graph));
  cudaGraphExec_t exec = nullptr;
  CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
  for (int replay = 0; replay < 2; ++replay) {
    SCOPED_TRACE(replay);
    dev.poison_outputs();
    CUDA_OK(cudaGraphLaunch(exec, stream));
    expect_matches_reference(host, dev.download(), backend);
  }
  CUDA_OK(cudaGraphExecDestroy(exec));
  CUDA_OK(cudaGraphDestroy(graph));
}

INSTANTIATE_TEST_SUITE_P(Backends, GpuStreams, ::testing::ValuesIn(gpu_testing::gpu_backends()),
                         [](const auto& info) { return info.param; });

// Scratch is never allocated during capture: a problem bigger than the warm-up's is refused
// with Code::runtime, nothing is enqueued, and the stream works normally afterwards.
TEST(GpuPlumbing, CaptureNeedingMoreWorkspaceThrows) {
  ATTEND_REQUIRE_GPU();
  ProblemSpec small;
  small.B = 1, small.Hq = 1, small.Hkv = 1, small.Sq = 16, small.Sk = 16, small.D = 16;
  ProblemSpec big = small;
  big.Hq = big.Hkv = 4, big.Sq = big.Sk = 1024, big.D = 64;
  support::HostProblem small_host(small), big_host(big);
  const cudaStream_t stream = lasting_stream();
  support::DeviceProblem small_dev(small_host, 0, stream), big_dev(big_host, 0, stream);
  attention(small_dev.params(), "cuda_math");
  CUDA_OK(cudaStreamSynchronize(stream));

  CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  Code code = Code::ok;
  std::string message;
  try {
    attention(big_dev.params(), "cuda_math");
  } catch (const Error& e) {
    code = e.code();
    message = e.what();
  }
  cudaGraph_t graph = nullptr;
  CUDA_OK(cudaStreamEndCapture(stream, &graph));
  if (graph) CUDA_OK(cudaGraphDestroy(graph));
  EXPECT_EQ(code, Code::runtime) << message;
  EXPECT_NE(message.find("capture"), std::string::npos) << message;

  attention(big_dev.params(), "cuda_math");
  expect_matches_reference(big_host, big_dev.download(), "cuda_math");
}

// A CUDA failure inside a backend (here: workspace for keys far beyond the device's memory;
// the tensors are never read, since the allocation comes first) is an attend::Error with
// Code::runtime, and leaves nothing behind for the next call.
TEST(GpuPlumbing, CudaErrorsSurfaceAsAttendError) {
  ATTEND_REQUIRE_GPU();
  const std::int64_t keys = std::numeric_limits<std::int32_t>::max();
  auto fake = [](std::uintptr_t tib) { return reinterpret_cast<void*>(tib << 44); };
  Params p;
  p.q = view(fake(1), DType::bf16, Device::cuda(0), {1, 1, 1, 512});
  p.k = view(fake(2), DType::bf16, Device::cuda(0), {1, keys, 1, 512});
  p.v = view(fake(3), DType::bf16, Device::cuda(0), {1, keys, 1, 512});
  p.out = view(fake(4), DType::bf16, Device::cuda(0), {1, 1, 1, 512});
  try {
    attention(p, "cuda_math");
    ADD_FAILURE() << "an impossible allocation succeeded";
  } catch (const NoBackendError& e) {
    FAIL() << "refused instead of run: " << e.what();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::runtime) << e.what();
    EXPECT_NE(std::string(e.what()).find("CUDA error"), std::string::npos) << e.what();
  }
  support::HostProblem host(small_problem());
  support::DeviceProblem dev(host);
  attention(dev.params(), "cuda_math");
  expect_matches_reference(host, dev.download(), "cuda_math");
}

#else  // built without CUDA: nothing to drive

TEST(GpuPlumbing, NeedsCudaInTheBuild) {
  GTEST_SKIP() << "attend was built without CUDA";
}

#endif

}  // namespace
}  // namespace attend
