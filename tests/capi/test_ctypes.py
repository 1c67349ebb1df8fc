"""The C API from Python through ctypes: list, a run checked against math, an error code."""
import ctypes
import math
import sys

lib = ctypes.CDLL(sys.argv[1])


class Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int32), ("device_kind", ctypes.c_int32),
                ("device_index", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("shape", ctypes.c_int64 * 4), ("strides", ctypes.c_int64 * 4)]


class Params(ctypes.Structure):
    _fields_ = [("q", Tensor), ("k", Tensor), ("v", Tensor), ("out", Tensor), ("layout", ctypes.c_int32),
                ("attn_mask", Tensor), ("key_padding_mask", Tensor), ("is_causal", ctypes.c_int32),
                ("align", ctypes.c_int32), ("window_left", ctypes.c_int64), ("window_right", ctypes.c_int64),
                ("has_scale", ctypes.c_int32), ("scale", ctypes.c_double), ("softcap", ctypes.c_double),
                ("enable_gqa", ctypes.c_int32), ("dropout_p", ctypes.c_double),
                ("dropout_seed", ctypes.c_uint64), ("dropout_offset", ctypes.c_uint64), ("lse", Tensor),
                ("cu_seqlens_q", Tensor), ("cu_seqlens_k", Tensor), ("max_seqlen_q", ctypes.c_int64),
                ("max_seqlen_k", ctypes.c_int64), ("stream", ctypes.c_void_p)]


lib.attend_code_name.restype = ctypes.c_char_p
lib.attend_last_error.restype = ctypes.c_char_p
lib.attend_version.restype = ctypes.c_char_p
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
