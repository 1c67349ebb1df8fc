"""The C API's structs (include/attend/attend.h) for ctypes, shared by the Python tests."""
import ctypes


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


def load(path):
    """The library with the return types of its string functions set."""
    lib = ctypes.CDLL(path)
    lib.attend_code_name.restype = ctypes.c_char_p
    lib.attend_last_error.restype = ctypes.c_char_p
    lib.attend_version.restype = ctypes.c_char_p
    return lib
