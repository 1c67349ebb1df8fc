// Factories for the backends compiled into the library; the registry adds them at first use.
#pragma once

#include <memory>

#include "attend/backend.hpp"

namespace attend::backends {

std::shared_ptr<const Backend> make_math();
std::shared_ptr<const Backend> make_cpu_flash();
std::shared_ptr<const Backend> make_cuda_math();
std::shared_ptr<const Backend> make_flash();
std::shared_ptr<const Backend> make_flash_varlen();
std::shared_ptr<const Backend> make_flash3();
std::shared_ptr<const Backend> make_flash3_varlen();
std::shared_ptr<const Backend> make_cudnn();
std::shared_ptr<const Backend> make_efficient();
std::shared_ptr<const Backend> make_flex();
std::shared_ptr<const Backend> make_sage();
std::shared_ptr<const Backend> make_sage_varlen();
std::shared_ptr<const Backend> make_sage_fp8();

}  // namespace attend::backends
