#include "backends/flex/compiler.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <vector>

#include "attend/version.hpp"
#include "backends/flex/embedded.hpp"
#include "backends/flex/nvrtc.hpp"
#include "core/text.hpp"

namespace attend::flex {
namespace {

namespace fs = std::filesystem;
using core::str;

constexpr const char* kArch = "sm_90a";

std::string cuda_include_dir() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("ATTEND_CUDA_INCLUDE_DIR"); env != nullptr && *env != '\0') {
    candidates.push_back(env);
  }
#ifdef ATTEND_CUDA_INCLUDE_DIR_DEFAULT
  candidates.push_back(ATTEND_CUDA_INCLUDE_DIR_DEFAULT);
#endif
  candidates.push_back("/usr/local/cuda/include");
  std::error_code ec;
  for (const std::string& c : candidates) {
    if (fs::exists(fs::path(c) / "cuda_bf16.h", ec)) return c;
  }
  return {};
}

Availability probe() {
  const Availability& nvrtc = nvrtc_library();
  if (nvrtc.score <= 0) return nvrtc;
  const std::string include = cuda_include_dir();
  if (include.empty()) {
    return {0, "the CUDA headers (cuda_bf16.h) were not found; set ATTEND_CUDA_INCLUDE_DIR"};
  }
  return {1, str(nvrtc.reason, ", CUDA headers in ", include)};
}

std::uint64_t fnv1a(std::string_view s, std::uint64_t h) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// What every module shares: the options, the compiler, attend's version and its headers.
const std::string& build_identity() {
  static const std::string id = [] {
    std::uint64_t h = 1469598103934665603ull;
    for (const EmbeddedFile& f : embedded_headers()) {
      h = fnv1a(f.include_name, h);
      h = fnv1a(f.text, h);
    }
    return str("attend ", ATTEND_VERSION_STRING, "\n", nvrtc_library().reason, "\narch ", kArch,
               "\nheaders ", h, "\n");
  }();
  return id;
}

std::vector<std::string> options() {
  return {str("--gpu-architecture=", kArch), "-std=c++20", "-default-device", "-DNDEBUG",
          str("-I", cuda_include_dir())};
}

std::string file_name(const std::string& key) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx",
                static_cast<unsigned long long>(fnv1a(key, 1469598103934665603ull)),
                static_cast<unsigned long long>(fnv1a(key, 0x9e3779b97f4a7c15ull)));
  return str(buf, ".cubin");
}

// Disk format: a magic line, the full key (length-prefixed; a file whose key differs is not
// this module), the two kernel names, then the cubin.
constexpr std::string_view kMagic = "attend-flex-module 1\n";

std::shared_ptr<CompiledModule> read_cached(const fs::path& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return nullptr;
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string data = buf.str();
  if (data.compare(0, kMagic.size(), kMagic) != 0) return nullptr;
  std::size_t at = kMagic.size();
  auto field = [&](std::string& out) {
    const std::size_t colon = data.find(':', at);
    if (colon == std::string::npos) return false;
    const std::size_t n = std::strtoull(data.c_str() + at, nullptr, 10);
    if (colon + 1 + n > data.size()) return false;
    out = data.substr(colon + 1, n);
    at = colon + 1 + n;
    return true;
  };
  auto m = std::make_shared<CompiledModule>();
  std::string stored_key;
  if (!field(stored_key) || stored_key != key || !field(m->kernel_name) ||
      !field(m->block_mask_name) || !field(m->cubin) || m->cubin.empty()) {
    return nullptr;
  }
  m->from = CompiledModule::From::disk;
  return m;
}

// Written to a temporary file and renamed, so a reader never sees half a module.
void write_cached(const fs::path& path, const std::string& key, const CompiledModule& m) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return;  // no disk cache: every process compiles
  const fs::path tmp = path.string() + str(".", ::getpid(), ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) return;
    out << kMagic;
    for (const std::string* f : {&key, &m.kernel_name, &m.block_mask_name, &m.cubin}) {
      out << f->size() << ':' << *f;
    }
    if (!out) {
      out.close();
      fs::remove(tmp, ec);
      return;
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) fs::remove(tmp, ec);
}

std::shared_ptr<CompiledModule> compile_module(const FlexSpec& spec, const Variant& v) {
  const Source src = generate(spec, v);
  std::vector<std::pair<std::string, std::string_view>> headers;
  for (const EmbeddedFile& f : embedded_headers()) headers.emplace_back(f.include_name, f.text);
  const Compiled c = compile(src.text, "flex_module.cu", headers, options(), src.name_expressions);
  auto m = std::make_shared<CompiledModule>();
  if (!c.ok) {
    m->error = c.log.empty() ? std::string("NVRTC failed without a message") : c.log;
    if (m->error.find("is undefined") != std::string::npos) {
      std::string names;
      for (const FlexTensor& t : spec.tensors) names += (names.empty() ? "" : ", ") + t.name;
      m->error +=
          str("\n(names a source may use: score, b, h, q_idx, kv_idx and the spec's tensors: ",
              names.empty() ? "none" : names, ")");
    }
    return m;
  }
  m->cubin = c.cubin;
  m->kernel_name = c.lowered_names.at(0);
  m->block_mask_name = c.lowered_names.at(1);
  return m;
}

struct MemoryCache {
  std::mutex mutex;
  std::unordered_map<std::string, std::shared_ptr<const CompiledModule>> modules;
};

MemoryCache& memory() {
  static MemoryCache* c = new MemoryCache;  // outlives static destructors that may still run work
  return *c;
}

// The thread's last answer, with what it was for: check() and run() of one call, and the calls
// of a model's loop, ask for the same module, and comparing the spec's strings costs less than
// building and hashing its key.
struct LastModule {
  std::string score_mod, mask_mod;
  std::vector<std::pair<std::string, DType>> tensors;
  Variant variant;
  std::shared_ptr<const CompiledModule> module;

  bool answers(const FlexSpec& spec, const Variant& v) const {
    if (module == nullptr || !(v == variant) || spec.score_mod != score_mod ||
        spec.mask_mod != mask_mod || spec.tensors.size() != tensors.size()) {
      return false;
    }
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      const FlexTensor& t = spec.tensors[i];
      if (t.name != tensors[i].first || t.tensor.dtype != tensors[i].second) return false;
    }
    return true;
  }
  void remember(const FlexSpec& spec, const Variant& v, std::shared_ptr<const CompiledModule> m) {
    score_mod = spec.score_mod;
    mask_mod = spec.mask_mod;
    tensors.clear();
    for (const FlexTensor& t : spec.tensors) tensors.emplace_back(t.name, t.tensor.dtype);
    variant = v;
    module = std::move(m);
  }
};

thread_local LastModule last_module;

std::shared_ptr<const CompiledModule> find_or_compile(const FlexSpec& spec, const Variant& v) {
  const std::string key = module_key(spec, v);
  MemoryCache& cache = memory();
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    if (auto it = cache.modules.find(key); it != cache.modules.end()) return it->second;
  }
  const Availability& a = compiler_availability();
  if (a.score <= 0) throw Error(Code::unavailable, "attend: flex: " + a.reason);
  // One compilation at a time: they are rare and slow, and two threads asking for the same new
  // spec then share one module.
  static std::mutex compile_mutex;
  std::lock_guard<std::mutex> compiling(compile_mutex);
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    if (auto it = cache.modules.find(key); it != cache.modules.end()) return it->second;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const std::string full_key = build_identity() + key;
  const std::string dir = cache_dir();
  const fs::path path = dir.empty() ? fs::path() : fs::path(dir) / "flex" / file_name(full_key);
  std::shared_ptr<CompiledModule> m = dir.empty() ? nullptr : read_cached(path, full_key);
  if (m == nullptr) {
    m = compile_module(spec, v);
    if (m->error.empty() && !dir.empty()) write_cached(path, full_key, *m);
  }
  m->compile_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.modules.emplace(key, m);
  return m;
}

}  // namespace

const Availability& compiler_availability() {
  static const Availability a = probe();
  return a;
}

std::string cache_dir() {
  auto from_env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : "";
  };
  if (std::string d = from_env("ATTEND_CACHE_DIR"); !d.empty()) return d;
  if (std::string d = from_env("XDG_CACHE_HOME"); !d.empty()) return d + "/attend";
  if (std::string d = from_env("HOME"); !d.empty()) return d + "/.cache/attend";
  return {};
}

std::shared_ptr<const CompiledModule> compiled_module(const FlexSpec& spec, const Variant& v) {
  if (last_module.answers(spec, v)) return last_module.module;
  std::shared_ptr<const CompiledModule> m = find_or_compile(spec, v);
  last_module.remember(spec, v, m);
  return m;
}

void forget_compiled_modules() {
  last_module = LastModule{};  // this thread's; other threads' last answers stay valid modules
  MemoryCache& cache = memory();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.modules.clear();
}

}  // namespace attend::flex
