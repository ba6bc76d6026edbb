#!/usr/bin/env python3
"""Synthetic face descriptors that look like real ones (issue 28), for the
approximate index's accuracy and speed at sizes no photo folder reaches.

Random unit vectors are no test of a nearest-neighbour index: in 128
dimensions every pair of them is nearly orthogonal, so every neighbour looks
alike. Real descriptors crowd into a narrow cone with a few dominant
directions. So:

  - gallery faces (one per enrolled subject) and strangers are drawn from a
    Gaussian with the mean and covariance of REAL descriptors (facectl embed
    on photos), then normalised;
  - a mated probe is an enrolled face plus noise with the real spread
    between two photos of one person (twice the within-person covariance),
    normalised.

Covariances are estimated from a few hundred photos, so both are shrunk
towards a multiple of the identity (10 %) to stay well conditioned.

  make_face_like_data.py DESCRIPTORS.jsonl OUT_DIR FACES PROBES [--seed S]
                         [--gallery-file NAME MODEL THRESHOLD] [--faces-per-subject K]

DESCRIPTORS.jsonl: one {"person": ..., "embedding": [...]} per line.
Writes OUT_DIR/gallery.f32 (FACES x D float32), probes.f32 (PROBES x D; the
first half mated, the rest strangers), probes_mated.i32 (the enrolled row a
probe was made from, -1 for a stranger) and meta.json (sizes, the fitted
spreads); with --gallery-file also gallery.jsonl and probes.jsonl in
facectl gallery import's format (client/gallery_file.h). --faces-per-subject
groups K consecutive gallery faces under one subject in gallery.jsonl only
(a quarter of the Enroll calls to import a million faces; for speed runs,
where who matches does not matter: accuracy is measured on the .f32 files).
"""
import argparse
import base64
import json
import os

import numpy as np


def shrink(cov, amount=0.1):
    d = cov.shape[0]
    return (1 - amount) * cov + amount * np.trace(cov) / d * np.eye(d)


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("descriptors")
    p.add_argument("out_dir")
    p.add_argument("faces", type=int)
    p.add_argument("probes", type=int)
    p.add_argument("--seed", type=int, default=28)
    p.add_argument("--gallery-file", nargs=3, metavar=("NAME", "MODEL", "THRESHOLD"))
    p.add_argument("--faces-per-subject", type=int, default=1)
    a = p.parse_args()

    rows = [json.loads(line) for line in open(a.descriptors) if line.strip()]
    x = unit(np.array([r["embedding"] for r in rows], dtype=np.float64))
    persons = [r["person"] for r in rows]
    mean = x.mean(axis=0)
    total = shrink(np.cov(x, rowvar=False))
    # Within a person: each photo minus its person's mean, for persons with
    # several photos (ddof: one mean per person is estimated).
    residuals, groups = [], {}
    for i, person in enumerate(persons):
        groups.setdefault(person, []).append(i)
    for members in groups.values():
        if len(members) >= 2:
            g = x[members]
            residuals.append((g - g.mean(axis=0)) * np.sqrt(len(members) / (len(members) - 1)))
    residuals = np.concatenate(residuals)
    within = shrink(residuals.T @ residuals / len(residuals))

    rng = np.random.default_rng(a.seed)
    dim = x.shape[1]
    os.makedirs(a.out_dir, exist_ok=True)
    # The gallery in chunks (a million faces is 512 MB of float32).
    gallery = np.empty((a.faces, dim), dtype=np.float32)
    chunk = 100_000
    for start in range(0, a.faces, chunk):
        n = min(chunk, a.faces - start)
        gallery[start:start + n] = unit(rng.multivariate_normal(mean, total, size=n))
    mated_count = a.probes // 2
    mated_rows = rng.choice(a.faces, size=mated_count, replace=False)
    # Two photos of one person differ by two independent deviations from
    # the person: twice the within-person covariance.
    mated = unit(gallery[mated_rows].astype(np.float64) +
                 rng.multivariate_normal(np.zeros(dim), 2 * within, size=mated_count))
    strangers = unit(rng.multivariate_normal(mean, total, size=a.probes - mated_count))
    probes = np.concatenate([mated, strangers]).astype(np.float32)
    mated_of = np.concatenate([mated_rows, -np.ones(a.probes - mated_count, dtype=np.int64)])

    gallery.tofile(os.path.join(a.out_dir, "gallery.f32"))
    probes.tofile(os.path.join(a.out_dir, "probes.f32"))
    mated_of.astype(np.int32).tofile(os.path.join(a.out_dir, "probes_mated.i32"))
    # What the fit says about real faces: similarity of two photos of one
    # person and of two people, on average.
    pair = unit(gallery[:2000:2].astype(np.float64)) @ unit(gallery[1:2000:2].astype(np.float64)).T
    meta = {"faces": a.faces, "probes": a.probes, "mated_probes": mated_count, "dimension": dim,
            "real_descriptors": len(rows), "real_persons": len(groups),
            "within_person_rms": float(np.sqrt(np.trace(within))),
            "total_rms": float(np.sqrt(np.trace(total))),
            "mated_similarity_mean": float(np.mean(np.sum(mated * gallery[mated_rows], axis=1))),
            "stranger_similarity_mean": float(np.mean(np.diag(pair))),
            "seed": a.seed}
    json.dump(meta, open(os.path.join(a.out_dir, "meta.json"), "w"), indent=1)

    if a.gallery_file:
        name, model, threshold = a.gallery_file
        def b64(v):
            return base64.b64encode(v.astype("<f4").tobytes()).decode()
        with open(os.path.join(a.out_dir, "gallery.jsonl"), "w") as f:
            f.write(json.dumps({"format": "faceserve-gallery", "version": 1, "gallery": name,
                                "descriptor_model": model, "dimension": dim,
                                "threshold": float(threshold),
                                "subjects": (a.faces + a.faces_per_subject - 1) // a.faces_per_subject,
                                "faces": a.faces}) + "\n")
            k = a.faces_per_subject
            for i in range(0, a.faces, k):
                f.write(json.dumps({"subject": "s%07d" % (i // k), "metadata": {},
                                    "faces": [b64(v) for v in gallery[i:i + k]]}) + "\n")
        with open(os.path.join(a.out_dir, "probes.jsonl"), "w") as f:
            f.write(json.dumps({"format": "faceserve-gallery", "version": 1, "gallery": "probes",
                                "descriptor_model": model, "dimension": dim,
                                "threshold": float(threshold), "subjects": a.probes,
                                "faces": a.probes}) + "\n")
            for i in range(a.probes):
                f.write(json.dumps({"subject": "p%07d" % i, "metadata": {},
                                    "faces": [b64(probes[i])]}) + "\n")
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
