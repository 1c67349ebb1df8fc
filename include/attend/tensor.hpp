// Non-owning tensor views: a data pointer, an element type, a device, a shape and int64 strides
// counted in elements. attend never assumes contiguity; every kernel reads the strides.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace attend {

enum class DType : std::uint8_t { f32, f16, bf16, f64, boolean, i32, i64 };

inline constexpr DType f32 = DType::f32;
inline constexpr DType f16 = DType::f16;
inline constexpr DType bf16 = DType::bf16;
inline constexpr DType f64 = DType::f64;
inline constexpr DType boolean = DType::boolean;
inline constexpr DType i32 = DType::i32;
inline constexpr DType i64 = DType::i64;

std::string_view name(DType t) noexcept;
std::size_t size_of(DType t) noexcept;
bool is_floating(DType t) noexcept;
// Parses "fp32"/"f32"/"float32", "bf16", "fp16"/"f16"/"half", "fp64", "bool", "int32", "int64".
bool parse_dtype(std::string_view text, DType& out) noexcept;

enum class DeviceKind : std::uint8_t { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;

  static constexpr Device host() noexcept { return {DeviceKind::cpu, 0}; }
  static constexpr Device cuda(int i = 0) noexcept { return {DeviceKind::cuda, i}; }
  friend constexpr bool operator==(Device, Device) = default;
};

inline constexpr Device cpu = Device::host();
std::string to_string(Device d);

inline constexpr int kMaxRank = 4;

// A view is "absent" when its rank is 0: optional tensors (mask, lse, cu_seqlens) default to that.
struct TensorView {
  void* data = nullptr;
  DType dtype = DType::f32;
  Device device{};
  int rank = 0;
  std::array<std::int64_t, kMaxRank> shape{};
  std::array<std::int64_t, kMaxRank> strides{};  // in elements, not bytes

  bool present() const noexcept { return rank > 0; }
  // Number of elements, or -1 when a size is negative or the product overflows int64.
  std::int64_t numel() const noexcept;
  bool is_contiguous() const noexcept;
};

// A view with row-major (contiguous) strides.
TensorView view(void* data, DType dtype, Device device, std::initializer_list<std::int64_t> shape);
// A view with explicit strides (in elements).
TensorView view(void* data, DType dtype, Device device, std::initializer_list<std::int64_t> shape,
                std::initializer_list<std::int64_t> strides);

std::string describe(const TensorView& t);  // "bf16[2, 128, 8, 64] on cpu"

}  // namespace attend
