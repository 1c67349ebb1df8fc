// attend: one attention call, many implementations, and a dispatcher that explains itself.
#pragma once

#include "attend/backend.hpp"
#include "attend/error.hpp"
#include "attend/flex.hpp"
#include "attend/layer.hpp"
#include "attend/params.hpp"
#include "attend/problem.hpp"
#include "attend/registry.hpp"
#include "attend/scope.hpp"
#include "attend/tensor.hpp"
#include "attend/version.hpp"
