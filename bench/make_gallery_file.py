#!/usr/bin/env python3
"""Writes a synthetic gallery file (facectl gallery import's format,
client/gallery_file.h) of random unit vectors: SUBJECTS subjects with FACES
faces each, for the gallery benchmarks. Standard library only.

  make_gallery_file.py OUT.jsonl NAME DESCRIPTOR_MODEL DIMENSION THRESHOLD SUBJECTS FACES
"""
import base64
import json
import math
import random
import struct
import sys


def main():
    out, name, model, dim, threshold, subjects, faces = sys.argv[1:8]
    dim, subjects, faces = int(dim), int(subjects), int(faces)
    rng = random.Random(27)
    with open(out, "w") as f:
        f.write(json.dumps({"format": "faceserve-gallery", "version": 1, "gallery": name,
                            "descriptor_model": model, "dimension": dim,
                            "threshold": float(threshold), "subjects": subjects,
                            "faces": subjects * faces}) + "\n")
        for s in range(subjects):
            encoded = []
            for _ in range(faces):
                v = [rng.gauss(0, 1) for _ in range(dim)]
                n = math.sqrt(sum(x * x for x in v))
                encoded.append(base64.b64encode(struct.pack("<%df" % dim, *(x / n for x in v))).decode())
            f.write(json.dumps({"subject": "synthetic_%07d" % s, "metadata": {}, "faces": encoded}) + "\n")


if __name__ == "__main__":
    main()
