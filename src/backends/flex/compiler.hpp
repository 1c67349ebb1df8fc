// Compiled flex modules, cached in memory (per process) and on disk (ATTEND_CACHE_DIR, else
// $XDG_CACHE_HOME/attend, else ~/.cache/attend; files under flex/), keyed by a hash of the
// generated source, attend's kernel headers, the architecture, NVRTC's version and attend's.
// A source that does not compile is remembered too, with the compiler's log.
#pragma once

#include <memory>
#include <string>

#include "attend/backend.hpp"
#include "attend/flex.hpp"
#include "backends/flex/codegen.hpp"

namespace attend::flex {

struct CompiledModule {
  std::string error;  // non-empty: the source does not compile; NVRTC's log, snippet lines
  std::string cubin;
  std::string kernel_name, block_mask_name;  // mangled names of the two kernels
  enum class From { memory, disk, compiler } from = From::compiler;
  double compile_ms = 0;  // time to produce it (compile, or read from disk)
};

// The module for spec and variant on an sm_90a device. Throws attend::Error when NVRTC or the
// CUDA headers are missing.
std::shared_ptr<const CompiledModule> compiled_module(const FlexSpec& spec, const Variant& v);

// Drops the modules held in memory (loaded ones stay loaded): the next request reads the disk
// cache or compiles. For tests and the compile benchmark.
void forget_compiled_modules();

// Where run-time compilation stands on this machine: NVRTC and the CUDA headers it needs.
const Availability& compiler_availability();

// The disk cache's folder (empty when there is none).
std::string cache_dir();

}  // namespace attend::flex
