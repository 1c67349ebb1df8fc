// cuDNN's own host cost per SDPA call, measured without attend (see cudnn_floor.cpp).
#pragma once

#include <memory>

class CudnnFloor {
 public:
  CudnnFloor();  // throws std::runtime_error when cuDNN or the plan is not there
  ~CudnnFloor();
  void call();  // enqueues one execution of the plan on the default stream

 private:
  struct State;
  std::unique_ptr<State> state_;
};
