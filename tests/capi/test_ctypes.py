"""The C API from Python through ctypes: list, a run checked against math, an error code."""
import ctypes
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attend_ctypes import Params, Tensor, load  # noqa: E402

lib = load(sys.argv[1])
lib.attend_tensor_contiguous.restype = Tensor
lib.attend_tensor_contiguous.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32,
                                         ctypes.POINTER(ctypes.c_int64)]

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAILED:", what, file=sys.stderr)


buf = ctypes.create_string_buffer(4096)
check(lib.attend_list_backends(buf, len(buf), None) == 0, "list")
check(b"math" in buf.value, "math is listed")

B, S, H, D = 1, 11, 2, 8
n = B * S * H * D
arrays = {name: (ctypes.c_float * n)() for name in ("q", "k", "v", "out", "ref")}
for i in range(n):
    arrays["q"][i] = math.sin(0.3 * i)
    arrays["k"][i] = math.cos(0.2 * i)
    arrays["v"][i] = math.sin(0.1 * i + 1)
shape = (ctypes.c_int64 * 4)(B, S, H, D)


def params(out):
    p = Params()
    lib.attend_params_init(ctypes.byref(p))
    for name in ("q", "k", "v"):
        setattr(p, name, lib.attend_tensor_contiguous(ctypes.cast(arrays[name], ctypes.c_void_p), 0, 0, 4, shape))
    p.out = lib.attend_tensor_contiguous(ctypes.cast(arrays[out], ctypes.c_void_p), 0, 0, 4, shape)
    return p


check(lib.attend_attention(ctypes.byref(params("out")), None) == 0, "auto runs")
check(lib.attend_attention(ctypes.byref(params("ref")), b"math") == 0, "math runs")
err = max(abs(a - b) for a, b in zip(arrays["out"], arrays["ref"]))
check(err < 1e-5, "auto matches math (max abs %g)" % err)

bad = params("out")
bad.k.shape[1] = 5
code = lib.attend_attention(ctypes.byref(bad), None)
check(lib.attend_code_name(code) == b"shape", "shape error code")
check(b"keys" in lib.attend_last_error(), "message says what: %s" % lib.attend_last_error())
check(len(lib.attend_version()) > 0, "version")

print("ctypes: %d passed, %d failed" % (passed, failed))
sys.exit(0 if failed == 0 else 1)
