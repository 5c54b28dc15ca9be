"""Reads a .pkl that `mnist-mlp export --format pkl` wrote with the standard library only
(zipfile, pickle, struct): a restricted unpickler that allows only the names of a PyTorch
checkpoint of tensors. Prints JSON: the record names in order, and per tensor (in the dict's
order) its shape and its float32 values as their bit patterns.

usage: python3 read_pkl.py FILE.pkl
"""

import collections
import json
import pickle
import struct
import sys
import zipfile


class FloatStorage:
    pass


def rebuild_tensor(storage, offset, size, stride, requires_grad, hooks, metadata=None):
    """The values of the tensor in C order, as uint32 bit patterns."""
    bits, numel = storage
    assert requires_grad is False and isinstance(hooks, collections.OrderedDict) and not hooks
    size, stride = list(size), list(stride)
    count = 1
    for d in size:
        count *= d
    out = []
    for flat in range(count):
        index, rest = offset, flat
        for d in range(len(size) - 1, -1, -1):
            index += (rest % size[d]) * stride[d]
            rest //= size[d]
        out.append(bits[index])
    return {"shape": size, "bits": out}


ALLOWED = {
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
    ("torch", "FloatStorage"): FloatStorage,
    ("collections", "OrderedDict"): collections.OrderedDict,
}


def main(path):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        for info in archive.infolist():
            assert info.compress_type == zipfile.ZIP_STORED, info.filename
        prefix = names[0][: names[0].index("/") + 1]
        assert archive.read(prefix + "byteorder") == b"little"

        class Unpickler(pickle.Unpickler):
            def find_class(self, module, name):
                if (module, name) not in ALLOWED:
                    raise pickle.UnpicklingError(f"{module}.{name} is not allowed")
                return ALLOWED[(module, name)]

            def persistent_load(self, pid):
                kind, storage_type, key, location, numel = pid
                assert (kind, storage_type, location) == ("storage", FloatStorage, "cpu"), pid
                data = archive.read(f"{prefix}data/{key}")
                assert len(data) == 4 * numel, (key, len(data), numel)
                return list(struct.unpack(f"<{numel}I", data)), numel

        tensors = Unpickler(archive.open(prefix + "data.pkl")).load()
    assert type(tensors) is dict, type(tensors)
    json.dump({"records": names, "tensors": [[k, v] for k, v in tensors.items()]}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
