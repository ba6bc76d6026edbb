#!/usr/bin/python3
"""Seed corpus for the fuzzers of tests/fuzz (scripts/fuzz.sh runs this).

    /usr/bin/python3 tests/fuzz/make_corpus.py OUT_DIR

Writes OUT_DIR/image_reader/, OUT_DIR/request/ and OUT_DIR/http_request/
(replacing them):

* image_reader: real photos (../shared/data/faces and face-api's demo photos)
  shrunk to at most 96 px and re-encoded in every format and variant the
  reader accepts (JPEG baseline/progressive/grey/4:4:4 and with each EXIF
  orientation, PNG RGB/grey/RGBA/palette/16-bit, WebP lossy/lossless/alpha,
  BMP 24/32-bit/palette/1-bit), plus malformed files made from them:
  truncations, flipped header bytes, zero and huge dimensions, broken EXIF,
  lone magic numbers, other formats (GIF, TIFF, text). Small files keep the
  fuzzer fast (scripts/fuzz.sh uses -max_len=65536).
* request: AnalyzeRequest, EmbedRequest and VerifyRequest messages (protobuf
  wire format, encoded here by hand: no generated Python code needed)
  carrying small images, raw pixels and embeddings, with valid and invalid
  options.
* http_request: HTTP requests as FuzzHttpRequest reads them (a Content-Type
  byte, a message byte, "<query>\n<body>"): image bodies with options as
  query parameters, and JSON bodies (base64 images, embeddings, galleries),
  valid and not.

Deterministic (fixed random seed). Needs Pillow (Debian: python3-pil). The
photos are read from the checkout's neighbours and never committed.
"""

import io
import os
import random
import shutil
import struct
import sys

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PHOTO_DIRS = [
    os.path.join(ROOT, "..", "shared", "data", "faces"),
    os.path.join(ROOT, "models", "reference", "node_modules", "@vladmandic", "face-api", "demo"),
]
MAX_PHOTOS = 24
MAX_SIDE = 96
MAX_BYTES = 65536

rng = random.Random(20261123)


def photos():
    found = []
    for top in PHOTO_DIRS:
        for dirpath, _, files in os.walk(top):
            for f in files:
                if f.lower().endswith((".jpg", ".jpeg", ".png")):
                    found.append(os.path.join(dirpath, f))
    found.sort()
    if len(found) > MAX_PHOTOS:  # an even spread over the folders
        step = len(found) / MAX_PHOTOS
        found = [found[int(i * step)] for i in range(MAX_PHOTOS)]
    return found


def encode(img, fmt, **kw):
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def exif_with_orientation(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def variants(img):
    """Every accepted format and variant of one small RGB image."""
    rgb = img.convert("RGB")
    out = {
        "jpg_baseline": encode(rgb, "JPEG", quality=75),
        "jpg_progressive": encode(rgb, "JPEG", quality=60, progressive=True),
        "jpg_grey": encode(rgb.convert("L"), "JPEG", quality=70),
        "jpg_444": encode(rgb, "JPEG", quality=90, subsampling=0),
        "png_rgb": encode(rgb, "PNG"),
        "png_grey": encode(rgb.convert("L"), "PNG"),
        "png_rgba": encode(rgb.convert("RGBA"), "PNG"),
        "png_palette": encode(rgb.convert("P", palette=Image.ADAPTIVE, colors=16), "PNG"),
        "png_16bit": encode(rgb.convert("L").point(lambda v: v * 256, "I").convert("I;16"), "PNG"),
        "webp_lossy": encode(rgb, "WEBP", quality=50),
        "webp_lossless": encode(rgb, "WEBP", lossless=True),
        "webp_alpha": encode(rgb.convert("RGBA"), "WEBP", quality=50),
        "bmp_24": encode(rgb, "BMP"),
        "bmp_palette": encode(rgb.convert("P", palette=Image.ADAPTIVE, colors=16), "BMP"),
        "bmp_1bit": encode(rgb.convert("1"), "BMP"),
    }
    try:
        out["bmp_32"] = encode(rgb.convert("RGBA"), "BMP")
    except (OSError, KeyError, ValueError):
        pass
    for o in range(1, 9):
        out["jpg_exif%d" % o] = encode(rgb, "JPEG", quality=70, exif=exif_with_orientation(o))
    return out


def flip(data, count, window):
    b = bytearray(data)
    for _ in range(count):
        i = rng.randrange(min(len(b), window))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def malformed(name, data):
    """Broken versions of one encoded file."""
    out = {}
    n = len(data)
    for frac in (0.1, 0.5, 0.9):
        out["%s_cut%d" % (name, int(frac * 100))] = data[: max(1, int(n * frac))]
    out[name + "_cut_last"] = data[:-1]
    out[name + "_cut_header"] = data[:32]
    for k in range(3):
        out["%s_flip%d" % (name, k)] = flip(data, 1 + k, 64)
    out[name + "_flip_body"] = flip(data, 8, n)
    out[name + "_trailing"] = data + b"\x00" * 16 + b"\xff\xd9"
    return out


def patched_dimensions(files):
    out = {}
    png = bytearray(files["png_rgb"])
    for label, w, h in (("zero", 0, 16), ("huge", 0x7FFFFFFF, 0x7FFFFFFF), ("wide", 100000, 1),
                        ("neg", 0x80000000, 4)):
        p = bytearray(png)
        p[16:24] = struct.pack(">II", w, h)
        out["png_dims_" + label] = bytes(p)
    bmp = bytearray(files["bmp_24"])
    for label, w, h in (("zero", 0, 4), ("negheight", 16, -16), ("huge", 0x7FFFFFFF, 0x7FFFFFFF),
                        ("minint", -0x80000000, -0x80000000)):
        p = bytearray(bmp)
        p[18:26] = struct.pack("<ii", w, h)
        out["bmp_dims_" + label] = bytes(p)
    jpg = bytearray(files["jpg_baseline"])
    sof = jpg.find(b"\xff\xc0")
    if sof > 0:
        for label, w, h in (("zero", 0, 0), ("huge", 0xFFFF, 0xFFFF), ("one", 1, 1)):
            p = bytearray(jpg)
            p[sof + 5: sof + 9] = struct.pack(">HH", h, w)
            out["jpg_dims_" + label] = bytes(p)
    webp = bytearray(files["webp_alpha"])  # VP8X when there is alpha
    if webp[12:16] == b"VP8X":
        p = bytearray(webp)
        p[24:30] = b"\xff\xff\xff\xff\xff\xff"
        out["webp_dims_huge"] = bytes(p)
    # EXIF whose offsets point anywhere.
    exif = bytearray(files["jpg_exif6"])
    tiff = exif.find(b"Exif\x00\x00")
    if tiff > 0:
        t = tiff + 6
        for label, patch_at, value in (("ifd_far", t + 4, b"\xff\xff\xff\x7f"),
                                       ("ifd_zero", t + 4, b"\x00\x00\x00\x00"),
                                       ("count_huge", t + 8, b"\xff\xff")):
            p = bytearray(exif)
            p[patch_at: patch_at + len(value)] = value
            out["jpg_exif_" + label] = bytes(p)
    return out


def others():
    out = {
        "magic_jpeg": b"\xff\xd8\xff",
        "magic_png": b"\x89PNG\r\n\x1a\n",
        "magic_webp": b"RIFF\x00\x00\x00\x00WEBP",
        "magic_bmp": b"BM",
        "gif": b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        "tiff": b"II*\x00\x08\x00\x00\x00\x00\x00",
        "text": b"not an image at all",
        "url": b"http://127.0.0.1/face.jpg",
        "path": b"/etc/passwd",
        "zeros": b"\x00" * 64,
    }
    # A raw image for the reader's raw path: width, height, stride (int32 LE),
    # channel order, pixels (see image_reader_fuzz.cc).
    for order, bpp in ((1, 3), (2, 3), (3, 4), (4, 4), (5, 1), (0, 3)):
        w, h = 8, 6
        out["raw_order%d" % order] = struct.pack("<iiiB", w, h, 0, order) + bytes(
            rng.randrange(256) for _ in range(w * h * bpp))
    out["raw_stride"] = struct.pack("<iiiB", 4, 4, 16, 1) + bytes(64)
    out["raw_negative"] = struct.pack("<iiiB", -4, 4, -1, 1) + bytes(48)
    return out


# --- protobuf wire format ------------------------------------------------------

def varint(v):
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_varint(num, v):
    return varint(num << 3) + varint(v)


def f_bytes(num, data):
    if isinstance(data, str):
        data = data.encode()
    return varint((num << 3) | 2) + varint(len(data)) + data


def f_float(num, v):
    return varint((num << 3) | 5) + struct.pack("<f", v)


def image_encoded(data):
    return f_bytes(1, data)


def image_raw(w, h, order, pixels, stride=0):
    raw = f_varint(1, w) + f_varint(2, h) + (f_varint(3, stride) if stride else b"") + \
        f_varint(4, order) + f_bytes(5, pixels)
    return f_bytes(2, raw)


def embedding(values):
    return f_bytes(1, b"".join(struct.pack("<f", v) for v in values))  # packed


def requests(small_images):
    out = {}
    nan, inf = float("nan"), float("inf")
    for i, (name, data) in enumerate(small_images):
        img = image_encoded(data)
        options = f_bytes(1, "expression") + f_bytes(1, "age_gender") + f_float(2, 0.5) + \
            f_varint(3, 3) + f_varint(4, 1) + f_varint(6, 1)
        out["analyze_%s" % name] = f_bytes(1, img) + f_bytes(2, options)
        out["embed_%s" % name] = f_bytes(1, img) + f_varint(2, 3 if i % 2 else 2) + \
            f_bytes(3, "embedding")
        emb = embedding([rng.uniform(-0.2, 0.2) for _ in range(128)])
        out["verify_%s" % name] = f_bytes(1, f_bytes(1, img) + f_varint(3, 2)) + \
            f_bytes(2, f_bytes(2, emb)) + f_float(4, 0.9)
    pixels = bytes(rng.randrange(256) for _ in range(16 * 12 * 4))
    for order, bpp in ((1, 3), (2, 3), (3, 4), (4, 4), (5, 1), (0, 3), (99, 3)):
        out["analyze_raw_order%d" % order] = f_bytes(1, image_raw(16, 12, order, pixels[:16 * 12 * bpp]))
    out["analyze_raw_stride"] = f_bytes(1, image_raw(10, 12, 1, pixels[:40 * 12], stride=40))
    out["analyze_raw_short"] = f_bytes(1, image_raw(16, 12, 1, pixels[:100]))
    out["analyze_raw_negative"] = f_bytes(1, image_raw(-16, 12, 1, pixels))
    img = image_encoded(small_images[0][1])
    out["analyze_bad_options"] = f_bytes(1, img) + f_bytes(
        2, f_float(2, nan) + f_varint(3, -1) + b"".join(f_bytes(1, "x") for _ in range(70)))
    out["analyze_score_inf"] = f_bytes(1, img) + f_bytes(2, f_float(2, inf))
    out["analyze_empty"] = b""
    out["analyze_image_empty"] = f_bytes(1, f_bytes(1, b""))
    out["embed_selection_unknown"] = f_bytes(1, img) + f_varint(2, 99)
    out["embed_selection_negative"] = f_bytes(1, img) + f_varint(2, -7)
    e1 = embedding([0.1] * 128)
    out["verify_two_embeddings"] = f_bytes(1, f_bytes(2, e1)) + f_bytes(2, f_bytes(2, e1))
    out["verify_nan"] = f_bytes(1, f_bytes(2, embedding([nan] * 4))) + f_bytes(2, f_bytes(2, e1))
    out["verify_zero"] = f_bytes(1, f_bytes(2, embedding([0.0] * 128))) + f_bytes(2, f_bytes(2, e1))
    out["verify_threshold_out"] = f_bytes(1, f_bytes(2, e1)) + f_bytes(2, f_bytes(2, e1)) + \
        f_float(4, 1.5)
    out["verify_selection_all"] = f_bytes(1, f_bytes(1, img) + f_varint(3, 1)) + \
        f_bytes(2, f_bytes(2, e1))
    out["verify_unset"] = f_bytes(1, f_varint(3, 2))
    return out


def http_requests(small_images):
    """FuzzHttpRequest inputs: byte 0 the Content-Type (0 JSON, 2 image/jpeg),
    byte 1 the message (0 Analyze, 1 Embed, 2 Verify, 3 Enroll, 4 Identify,
    5 Search, 6 CreateGallery), then "<query>\n<body>"."""
    import base64
    import json
    out = {}
    queries = [b"", b"options.predictors=landmarks&options.predictors=age_gender",
               b"options.max_faces=2&options.min_detection_score=0.5&options.return_embeddings=true",
               b"options.identify.gallery=g&options.identify.top_k=3", b"options.max_faces=-1",
               b"options.detect_only=yes", b"nonsense.field=1", b"options.predictors"]
    for k, (name, data) in enumerate(small_images[:4]):
        for j, q in enumerate(queries):
            out["img_%d_%d" % (k, j)] = bytes([2, j % 2 * 4 + (j % 3 == 2)]) + q + b"\n" + data
        b64 = base64.b64encode(data).decode()
        out["json_analyze_%d" % k] = bytes([0, 0]) + b"\n" + json.dumps(
            {"image": {"encoded": b64}, "options": {"predictors": ["expression"]}}).encode()
        out["json_enroll_%d" % k] = bytes([0, 3]) + b"\n" + json.dumps(
            {"gallery": "g", "subject": "s", "inputs": [{"image": {"encoded": b64}}]}).encode()
    emb = [0.1] * 128
    for name, kind, body in [
            ("verify_emb", 2, {"a": {"embedding": {"values": emb}}, "b": {"embedding": {"values": emb}}}),
            ("search", 5, {"options": {"gallery": "g"}, "queries": [{"values": emb}]}),
            ("create", 6, {"name": "g", "threshold": 0.9, "index": "INDEX_EXACT"}),
            ("raw", 0, {"image": {"raw": {"width_px": 2, "height_px": 1, "channel_order": "CHANNEL_ORDER_RGB",
                                          "pixels": "AAAAAAAA"}}}),
            ("unknown_field", 0, {"imagee": {}}), ("wrong_type", 4, {"options": {"top_k": "x"}})]:
        out["json_" + name] = bytes([0, kind]) + b"\n" + json.dumps(body).encode()
    out["json_broken"] = bytes([1, 0]) + b"\n{\"image\": {\"encoded\": \"!!\""
    out["json_empty"] = bytes([0, 1]) + b"\n"
    return out


def write_dir(path, files):
    if os.path.isdir(path):
        shutil.rmtree(path)
    os.makedirs(path)
    kept = 0
    for name, data in sorted(files.items()):
        if len(data) > MAX_BYTES:
            continue
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)
        kept += 1
    return kept


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_corpus.py OUT_DIR")
    out_dir = sys.argv[1]
    images = {}
    sources = photos()
    for k, path in enumerate(sources):
        try:
            img = Image.open(path)
            img.load()
        except OSError as e:
            print("skipping %s: %s" % (path, e), file=sys.stderr)
            continue
        img.thumbnail((MAX_SIDE if k % 3 else MAX_SIDE // 3,) * 2)
        for label, data in variants(img).items():
            images["p%02d_%s" % (k, label)] = data
    if not images:
        sys.exit("no photos found under " + ", ".join(PHOTO_DIRS))
    # Malformed versions of the first photo's files, every format.
    first = {label[4:]: data for label, data in images.items() if label.startswith("p00_")}
    for label, data in first.items():
        images.update(malformed("m_" + label, data))
    images.update(patched_dimensions(first))
    images.update(others())
    n_images = write_dir(os.path.join(out_dir, "image_reader"), images)

    small = sorted(((n, d) for n, d in images.items() if n.startswith("p") and len(d) < 3000),
                   key=lambda nd: (len(nd[1]), nd[0]))[:12]
    n_requests = write_dir(os.path.join(out_dir, "request"), requests(small))
    n_http = write_dir(os.path.join(out_dir, "http_request"), http_requests(small))
    print("seed corpus: %d photos -> %d image_reader inputs, %d request inputs, %d http_request "
          "inputs in %s" % (len(sources), n_images, n_requests, n_http, out_dir))


if __name__ == "__main__":
    main()
