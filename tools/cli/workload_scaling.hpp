// Named workloads as problems, and the two ways `attend bench` shrinks them on a machine too
// small for the named sizes: scaled to a FLOP budget for timing, reduced for the reference.
#pragma once

#include "support/host_problem.hpp"
#include "support/workloads.hpp"

namespace attend::cli {

// One timed run of a scaled workload costs about this much (a second or so on a few CPU cores).
inline constexpr double kBenchFlopTarget = 3e10;
// Up to this size `attend bench` compares with `math` on the timed problem itself.
inline constexpr double kBenchReferenceFlops = 2e9;

support::ProblemSpec workload_spec(const support::Workload& w, DType dtype);

// Shrinks S (Sq and Sk by the same factor, to a multiple of 64, never below 256), then the head
// count (keeping Hq/Hkv), until the problem is at most `target` FLOPs. D, B, causal and the
// dtype stay. A problem already within the target is returned unchanged.
support::ProblemSpec scale_to_flops(support::ProblemSpec spec, double target);

// A problem of the same family small enough for `math`: B 1, at most 2 KV heads (same group
// size), S at most 256; D, causal and dtype kept.
support::ProblemSpec reduced_for_reference(const support::ProblemSpec& spec);

}  // namespace attend::cli
