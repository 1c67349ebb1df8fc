// Names in flex specs: which tensor names a source may use, and whether a source mentions an
// identifier (a mask that never names `b` is the same for every batch).
#pragma once

#include <cstddef>
#include <string_view>

namespace attend::core {

constexpr std::size_t kMaxFlexTensors = 8;

// A C++ identifier that is not a keyword nor one of the functions' own names (score, b, h,
// q_idx, kv_idx) nor reserved (a leading underscore).
bool is_flex_identifier(std::string_view name) noexcept;

// Whether `identifier` appears in `source` as a whole token (outside comments and literals).
bool mentions(std::string_view source, std::string_view identifier) noexcept;

}  // namespace attend::core
