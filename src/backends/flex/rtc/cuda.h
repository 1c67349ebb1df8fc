// <cuda.h> for run-time compilation: the kernels only name the tensor-map type (an opaque,
// 64-byte aligned 128-byte block, as the driver defines it).
#pragma once
typedef struct CUtensorMap_st {
  alignas(64) unsigned long long opaque[16];
} CUtensorMap;
