"""Checkpoint -> ONNX, with the checkpoint's config and feature set in the metadata.

The exported graph takes ``planes`` float32 [B, C, n, n] (n = the model's board size)
and returns ``priors`` [B, n*n+1] (softmax already applied) and ``value`` [B]
(zeros for a policy-only net). ``cached_onnx(ckpt)`` keeps the export next to the
checkpoint (``name.onnx``) and exports again when the checkpoint's SHA-256 differs
from the one recorded in the file; when that folder is read-only the export goes
to ``~/.cache/alphago``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np

log = logging.getLogger("alphago.onnx")

OPSET = 17
META_KEYS = ("model_config", "feature_set", "checkpoint_sha256", "board_size", "format")
FORMAT = "alphago-onnx-1"


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _export_module(model):
    import torch

    class ForInference(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, planes):
            logits, value = self.net(planes)
            b = planes.shape[0]
            if logits is None:
                n1 = planes.shape[2] * planes.shape[3] + 1
                priors = planes.new_ones((b, n1)) / n1
            else:
                priors = torch.softmax(logits.float(), dim=1)
            if value is None:
                value = planes.sum(dim=(1, 2, 3)) * 0.0
            return priors, value.float()

    return ForInference(model).eval()


def export(checkpoint_path: str | os.PathLike, out_path: str | os.PathLike | None = None,
           opset: int = OPSET) -> Path:
    """Export a checkpoint to ONNX (written atomically); returns the file's path."""
    import onnx
    import torch

    from alphago import checkpoint
    from alphago.config import to_dict
    from alphago.features import get_feature_set

    checkpoint_path = Path(checkpoint_path)
    out = Path(out_path) if out_path else checkpoint_path.with_suffix(".onnx")
    model, _ = checkpoint.load_model(checkpoint_path, "cpu")
    cfg = model.cfg
    n = cfg.board_size
    x = torch.zeros(1, get_feature_set(cfg.feature_set).planes, n, n)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")  # concurrent exports do not collide
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(_export_module(model), (x,), str(tmp), input_names=["planes"],
                          output_names=["priors", "value"], opset_version=opset,
                          dynamic_axes={"planes": {0: "batch"}, "priors": {0: "batch"},
                                        "value": {0: "batch"}}, dynamo=False)
    proto = onnx.load(str(tmp))
    meta = {"model_config": json.dumps(to_dict(cfg)), "feature_set": cfg.feature_set,
            "checkpoint_sha256": file_sha256(checkpoint_path), "board_size": str(n),
            "format": FORMAT}
    del proto.metadata_props[:]
    for k, v in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(proto, str(tmp))
    os.replace(tmp, out)
    return out


def calibration_planes(onnx_path: str | os.PathLike, count: int = 512, games: int = 16,
                       seed: int = 0) -> np.ndarray:
    """Planes of positions from games the float network plays against itself (moves
    sampled from its policy), for int8 calibration without any dataset."""
    import onnxruntime as ort

    from alphago import features
    from alphago.board import Position

    meta = read_metadata(onnx_path)
    fs = features.get_feature_set(meta["feature_set"])
    n = meta["board_size"]
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    positions = [Position(n) for _ in range(games)]
    out: list[np.ndarray] = []
    every = max(1, (games * 2 * n * n // 3) // count)
    step = 0
    while len(out) < count and positions:
        planes = np.stack([features.position_planes(p, fs, 0) for p in positions])
        if step % every == 0:
            out.extend(planes)
        priors, _ = sess.run(None, {"planes": planes.astype(np.float32)})
        alive = []
        for p, pr in zip(positions, priors):
            legal = pr * p.legal_moves()
            if legal.sum() <= 0 or len(p.moves) > 2 * n * n // 3 or p.passes >= 2:
                continue
            p.play(int(rng.choice(len(legal), p=legal / legal.sum())))
            alive.append(p)
        positions = alive
        step += 1
    return np.stack(out[:count]).astype(np.float32)


def quantize(onnx_path: str | os.PathLike, out_path: str | os.PathLike,
             planes: np.ndarray | None = None) -> Path:
    """Static int8 quantization of the convolutions (QDQ, per-channel weights, uint8
    activations) calibrated on ``planes`` (default: ``calibration_planes``); the heads'
    softmax and tanh stay in float, so small priors do not round to zero. Metadata is
    carried over."""
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    planes = calibration_planes(onnx_path) if planes is None else planes

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"planes": planes[i:i + 16]} for i in range(0, len(planes), 16)])

        def get_next(self):
            return next(self.it, None)

    out = Path(out_path)
    pre = out.with_name(f"{out.name}.{os.getpid()}.pre.tmp")
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")  # concurrent exports do not collide
    quant_pre_process(str(onnx_path), str(pre))
    quantize_static(str(pre), str(tmp), Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8, op_types_to_quantize=["Conv"])
    pre.unlink(missing_ok=True)
    src = onnx.load(str(onnx_path))
    proto = onnx.load(str(tmp))
    del proto.metadata_props[:]
    for entry in src.metadata_props:
        new = proto.metadata_props.add()
        new.key, new.value = entry.key, entry.value
    new = proto.metadata_props.add()
    new.key, new.value = "precision", "int8"
    onnx.save(proto, str(tmp))
    os.replace(tmp, out)
    return out


def read_metadata(onnx_path: str | os.PathLike) -> dict:
    """The metadata written by ``export`` (model_config decoded to a dict)."""
    import onnx

    proto = onnx.load(str(onnx_path), load_external_data=False)
    meta = {p.key: p.value for p in proto.metadata_props}
    if meta.get("format") != FORMAT:
        raise ValueError(f"{onnx_path} was not exported by alphago (no {FORMAT} metadata)")
    meta["model_config"] = json.loads(meta["model_config"])
    meta["board_size"] = int(meta["board_size"])
    return meta


def _up_to_date(onnx_path: Path, sha: str) -> bool:
    if not onnx_path.is_file():
        return False
    try:
        return read_metadata(onnx_path)["checkpoint_sha256"] == sha
    except Exception:  # unreadable or foreign file: export again
        return False


def cached_onnx(checkpoint_path: str | os.PathLike, int8: bool = False) -> Path:
    """The ONNX export of a checkpoint (``int8``: its quantized form), made or refreshed
    when the checkpoint changed."""
    ckpt = Path(checkpoint_path)
    sha = file_sha256(ckpt)
    suffix = ".int8.onnx" if int8 else ".onnx"
    beside = ckpt.with_name(ckpt.stem + suffix)
    fallback = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "alphago" / \
        f"{ckpt.stem}-{sha[:16]}{suffix}"
    for candidate in (beside, fallback):
        if _up_to_date(candidate, sha):
            return candidate
    for candidate in (beside, fallback):
        try:
            if int8:
                source = cached_onnx(ckpt)
                log.info("quantizing %s to %s", source, candidate)
                return quantize(source, candidate)
            log.info("exporting %s to %s", ckpt, candidate)
            return export(ckpt, candidate)
        except OSError as exc:  # read-only folder: try the user cache
            log.info("cannot write %s: %s", candidate, exc)
    raise OSError(f"cannot write an ONNX export of {ckpt} beside it or in {fallback.parent}")
