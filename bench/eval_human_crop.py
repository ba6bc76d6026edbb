#!/usr/bin/env python3
"""Scores facectl analyze output (JSON Lines) of config/full.yaml for
bench/sweep_human_crop.sh: one markdown row per file (scale-<S>.jsonl)."""
import json
import math
import os
import re
import statistics
import sys

# MediaPipe mesh index of the iBUG 68 point at the same place: outer and inner
# eye corners, nose tip, mouth corners, chin.
MESH_OF_68 = [(36, 33), (39, 133), (42, 362), (45, 263), (30, 1), (48, 61), (54, 291), (8, 152)]
# human-models emotion label -> face-api expression label
EXPRESSION = {"angry": "angry", "disgust": "disgusted", "fear": "fearful", "happy": "happy",
              "sad": "sad", "surprise": "surprised", "neutral": "neutral"}


def score(path):
    mesh_err, yaw_gap, faces, low_conf = [], [], 0, 0
    agree = confident = real = live = 0
    for line in open(path):
        for f in json.loads(line)["faces"]:
            p = f["predictions"]
            faces += 1
            mesh = p["facemesh"]["mesh"]["points_3d"]
            low_conf += p["facemesh"]["face_confidence"]["face_confidence"] < 0.5
            lm = f.get("landmarks_68")
            if lm:
                iod = math.dist(lm[36], lm[45])
                mesh_err.append(statistics.mean(math.dist(lm[a], mesh[b][:2]) for a, b in MESH_OF_68) / iod)
            if "head_pose" in f and "mesh_head_pose" in f:
                yaw_gap.append(abs(f["mesh_head_pose"]["yaw_deg"] - f["head_pose"]["yaw_deg"]))
            if p["expression"]["score"] > 0.8:
                confident += 1
                agree += EXPRESSION[p["emotion"]["label"]] == p["expression"]["label"]
            real += p["antispoof_human"]["real_probability"] > 0.5
            live += p["liveness_human"]["scores"]["live"] > 0.5
    mesh_err.sort()
    scale = re.search(r"scale-(\d+(?:\.\d+)?)\.jsonl$", os.path.basename(path)).group(1)
    return "| %s | %d | %.3f | %.3f | %d | %.1f | %d/%d | %d/%d | %d/%d |" % (
        scale, faces, statistics.median(mesh_err), mesh_err[int(0.9 * len(mesh_err))], low_conf,
        statistics.median(yaw_gap), agree, confident, real, faces, live, faces)


def main():
    print("| scale | faces | mesh vs 68 landmarks, median / inter-ocular | p90 | mesh confidence < 0.5 "
          "| median abs(mesh yaw - 68-point yaw) deg | emotion = confident face-api expression "
          "| antispoof real > 0.5 | liveness live > 0.5 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for path in sorted(sys.argv[1:], key=lambda p: float(re.search(r"scale-(\d+(?:\.\d+)?)\.jsonl", p).group(1))):
        print(score(path))


if __name__ == "__main__":
    main()
