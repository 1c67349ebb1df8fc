// The dispatcher's entry used by attention(), explain() and layers: one request (an id and where
// it came from) and one problem.
#pragma once

#include <string_view>

#include "attend/registry.hpp"

namespace attend::core {

struct Request {
  std::string_view id;  // resolved id or alias, or "auto"
  Source source;
};

// Without an explicit argument: innermost scope > layer setting (if any) > process default.
Request pick(const std::string* layer_id);

void dispatch(const Params& params, Request request);
Explanation explain(const Params& params, Request request);

}  // namespace attend::core
