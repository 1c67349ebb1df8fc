// Lets small shared helpers compile for the host and, under nvcc, for the device too.
#pragma once

#if defined(__CUDACC__)
#define ATTEND_HD __host__ __device__ __forceinline__
#else
#define ATTEND_HD inline
#endif
