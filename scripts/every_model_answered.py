#!/usr/bin/python3
"""Checks that `facectl analyze --embeddings` output holds every configured model's answer.

    every_model_answered.py CONFIG.yaml ANALYZE.jsonl

CONFIG.yaml is the configuration as the server read it (`faceserve --config
F --print-config`: the file merged over its base: files).

For every face of every image: the detector's box, score and 5 landmarks,
one prediction per configured predictor coming from that predictor's model
(its card name is the model file's stem) with a non-empty output, and the
head poses the configuration's utilizers ask for. Prints one line per model
with its answer for the first face, and exits 1 naming whatever is missing.
"""
import json
import os
import sys

import yaml


def summary(prediction):
    """A short human-readable form of one prediction's output ("" when it has none)."""
    def one(value):
        if isinstance(value, dict) and "label" in value:
            return "%s (%.2f)" % (value["label"], value.get("score", float("nan")))
        if isinstance(value, list):
            return "%d %s" % (len(value), "points" if value and isinstance(value[0], list) else "values")
        if isinstance(value, dict):
            return ", ".join("%s %s" % (k, one(v)) for k, v in value.items())
        return "%.3g" % value if isinstance(value, float) else str(value)

    if "label" in prediction:
        return one(prediction)
    return "; ".join("%s: %s" % (k, one(v)) for k, v in prediction.items()
                     if k not in ("model", "model_version"))[:110]


def main(config_path, analyze_path):
    with open(config_path) as f:
        config = yaml.safe_load(f)
    predictors = {p["name"]: os.path.splitext(os.path.basename(p["model"]))[0]
                  for p in config.get("predictors", [])}
    utilizers = config.get("utilizers") or {}
    with open(analyze_path) as f:
        images = [json.loads(line) for line in f if line.strip()]
    problems = []
    if not images:
        problems.append("no analyze output")
    for image in images:
        if not image.get("faces"):
            problems.append("%s: no face found" % image.get("image"))
        for i, face in enumerate(image.get("faces", [])):
            where = "%s face %d" % (image["image"], i)
            if len(face.get("landmarks", [])) != 5 or "box" not in face or "score" not in face:
                problems.append("%s: detector output incomplete" % where)
            got = face.get("predictions", {})
            for name, model in predictors.items():
                p = got.get(name)
                if p is None:
                    problems.append("%s: no %s prediction" % (where, name))
                elif p.get("model") != model:
                    problems.append("%s: %s answered by %r, configured %r" % (where, name, p.get("model"), model))
                elif not summary(p):
                    problems.append("%s: %s has no output" % (where, name))
            if utilizers.get("head_pose", True) and "head_pose" not in face:
                problems.append("%s: no head_pose" % where)
            if "facemesh" in predictors and "mesh_head_pose" not in face:
                problems.append("%s: no mesh_head_pose" % where)
    if images and images[0].get("faces"):
        face = images[0]["faces"][0]
        print("%s: %d faces; face 0:" % (images[0]["image"], len(images[0]["faces"])))
        print("  %-16s box %s, score %.3f, 5 landmarks" % (config["detector"]["name"], face["box"], face["score"]))
        for name in predictors:
            if name in face.get("predictions", {}):
                p = face["predictions"][name]
                print("  %-16s %-20s %s" % (name, p["model"], summary(p)))
        for pose in ("head_pose", "mesh_head_pose"):
            if pose in face:
                print("  %-16s %s" % (pose, face[pose]))
    if problems:
        print("MISSING:\n  " + "\n  ".join(problems[:20]), file=sys.stderr)
        return 1
    print("every configured model answered for all %d faces" % sum(len(i["faces"]) for i in images))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
