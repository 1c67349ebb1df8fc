// One fuzz input through the public entry point: the bytes choose a problem (shapes, strides,
// dtype, layout, masks, cu_seqlens, flags, values) and a backend. The call must either throw
// attend::Error or agree with `math`. Anything else aborts: a crash, a sanitizer report, NaN
// where the reference has none, or a result out of tolerance.
#pragma once

#include <cstddef>
#include <cstdint>

namespace attend::fuzz {

// Returns normally when the input was handled as promised; calls std::abort() otherwise.
void run_case(const std::uint8_t* data, std::size_t size);

}  // namespace attend::fuzz
