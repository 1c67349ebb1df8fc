// The note a backend gives when a head dim runs on a wider compiled kernel, zero-padded.
#pragma once

#include <cstdint>

#include "attend/backend.hpp"
#include "core/text.hpp"

namespace attend::backends {

// Notes (in detailed verdicts) that head dim `d` runs on the `kernel_dim`-wide kernel; nothing
// when the kernel is d's own or there is none (a refusal says that).
inline void note_padded_head_dim(ReasonSink& sink, std::int64_t d, int kernel_dim) {
  if (sink.detailed() && kernel_dim != 0 && kernel_dim != d) {
    sink.note(core::str("head dim ", d, " runs on the ", kernel_dim,
                        "-wide kernel, zero-padded: it costs as much as D = ", kernel_dim));
  }
}

}  // namespace attend::backends
