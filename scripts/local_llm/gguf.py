"""Minimal GGUF header reader: the key/value metadata, nothing of the tensors.

Layout (v2/v3, little-endian): magic b"GGUF", uint32 version, uint64 tensor_count,
uint64 kv_count, then kv_count entries of (string key, uint32 type, value).
A string is uint64 length + UTF-8 bytes; an array is uint32 element type, uint64 count,
then the elements. v1 used uint32 for the counts and string lengths.
"""

import struct

_SCALARS = {
    0: "<B",  # uint8
    1: "<b",  # int8
    2: "<H",  # uint16
    3: "<h",  # int16
    4: "<I",  # uint32
    5: "<i",  # int32
    6: "<f",  # float32
    7: "<?",  # bool
    10: "<Q",  # uint64
    11: "<q",  # int64
    12: "<d",  # float64
}
_STRING, _ARRAY = 8, 9


class GGUFError(ValueError):
    pass


class _Reader:
    def __init__(self, f, version):
        self.f = f
        self.len_fmt = "<I" if version == 1 else "<Q"

    def unpack(self, fmt):
        size = struct.calcsize(fmt)
        data = self.f.read(size)
        if len(data) != size:
            raise GGUFError("truncated GGUF header")
        return struct.unpack(fmt, data)[0]

    def string(self):
        n = self.unpack(self.len_fmt)
        data = self.f.read(n)
        if len(data) != n:
            raise GGUFError("truncated GGUF string")
        return data.decode("utf-8", errors="replace")

    def value(self, vtype, keep_array):
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype = self.unpack("<I")
            count = self.unpack(self.len_fmt)
            if etype in _SCALARS and not keep_array(count):
                # fixed-size elements: skip without decoding
                self.f.seek(struct.calcsize(_SCALARS[etype]) * count, 1)
                return None
            items = [self.value(etype, keep_array) for _ in range(count)]
            return items if keep_array(count) else None
        raise GGUFError(f"unknown GGUF value type {vtype}")


def read_metadata(path, max_array=None):
    """Return (version, tensor_count, parameter_count, dict of key -> value in file order).

    parameter_count is the sum of the tensors' element counts (Ollama reports it as
    general.parameter_count), read from the tensor infos that follow the key/values.

    Arrays longer than max_array (None: keep all) come back as None, the way Ollama's
    /api/show reports tokenizer.ggml.tokens & co. unless asked for verbose output.
    """

    def keep_array(count):
        return max_array is None or count <= max_array

    with open(path, "rb") as raw:
        import io

        f = io.BufferedReader(raw, buffer_size=1 << 20)
        if f.read(4) != b"GGUF":
            raise GGUFError(f"{path}: not a GGUF file")
        version = struct.unpack("<I", f.read(4))[0]
        if version not in (1, 2, 3):
            raise GGUFError(f"{path}: unsupported GGUF version {version}")
        r = _Reader(f, version)
        tensor_count = r.unpack(r.len_fmt)
        kv_count = r.unpack(r.len_fmt)
        kv = {}
        for _ in range(kv_count):
            key = r.string()
            vtype = r.unpack("<I")
            kv[key] = r.value(vtype, keep_array)
        parameter_count = 0
        for _ in range(tensor_count):
            r.string()  # name
            n_dims = r.unpack("<I")
            count = 1
            for _ in range(n_dims):
                count *= r.unpack(r.len_fmt)
            r.unpack("<I")  # ggml type
            r.unpack("<Q")  # data offset
            parameter_count += count
        return version, tensor_count, parameter_count, kv


# llama.cpp's enum llama_ftype (general.file_type) -> Ollama's quantization_level
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
    10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
    16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S",
    22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M",
    28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0",
    37: "TQ2_0", 38: "MXFP4",
}


def human_number(n):
    """Human-readable parameter count (134515008 -> 135M, 8190735360 -> 8.2B)."""
    for unit, scale in (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= scale:
            x = n / scale
            s = f"{x:.0f}" if x >= 100 or x == int(x) else f"{x:.1f}"
            return s + unit
    return str(n)


if __name__ == "__main__":
    import json
    import sys

    v, tc, pc, kv = read_metadata(sys.argv[1], max_array=16)
    kv.pop("tokenizer.chat_template", None)
    out = {"version": v, "tensor_count": tc, "parameter_count": pc, "kv": kv}
    print(json.dumps(out, indent=2, default=str))
