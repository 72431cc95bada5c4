"""Export a checkpoint to ONNX (and optionally its int8 form), metadata included.

    alphago-export-onnx data/policy_sl.pt                 # -> data/policy_sl.onnx
    alphago-export-onnx data/policy_sl.pt --int8          # also policy_sl.int8.onnx
    alphago-export-onnx runs/sl/best.pt --out /tmp/net.onnx

The engine does this by itself when ``--device`` is auto, onnx or onnx-int8; this script is
for doing it ahead of time or elsewhere. Prints the metadata of what it wrote.
"""

from __future__ import annotations

import argparse
import json
import sys



def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--out", help="ONNX file (default: beside the checkpoint)")
    ap.add_argument("--int8", action="store_true", help="also write the int8-quantized model")
    ap.add_argument("--opset", type=int, default=17)
    args = ap.parse_args(argv)
    from alphago import checkpoint
    from alphago.evaluator import onnx_available

    if not onnx_available():
        ap.error("onnx and onnxruntime are not installed (pip install .[onnx])")
    from alphago import onnx_export

    try:
        out = onnx_export.export(args.checkpoint, args.out, args.opset)
        written = [out]
        if args.int8:
            written.append(onnx_export.quantize(out, out.with_name(out.stem + ".int8.onnx")))
    except checkpoint.CheckpointError as exc:
        ap.error(str(exc))
    for path in written:
        meta = onnx_export.read_metadata(path)
        meta["file"] = str(path)
        print(json.dumps(meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
