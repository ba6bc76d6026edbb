"""faceserve's Python client (client/python) against a real server with the
real models on face-api's demo photos: every image form, typed results,
typed errors with their reasons, the gallery calls, retries, asyncio and API
keys."""
import asyncio
import concurrent.futures
import io
import pathlib
import subprocess

import grpc
import numpy as np
import pytest
from PIL import Image

import faceserve
from conftest import FACECTL, ServerProcess


def test_analyze_gives_typed_faces(server, demo):
    with faceserve.Client(server.target) as client:
        analysis = client.analyze(demo / "sample1.jpg", embeddings=True)
    assert (analysis.width, analysis.height) == (1920, 1280)
    assert len(analysis.faces) >= 1
    face = analysis.faces[0]
    assert 0 < face.box.x1 < face.box.x2 <= analysis.width
    assert 0 < face.box.y1 < face.box.y2 <= analysis.height
    assert face.score > 0.9
    assert face.landmarks_68.shape == (68, 2) and face.landmarks_5.shape == (5, 2)
    assert 5 < face.age < 90
    assert face.gender in ("male", "female") and 0.5 <= face.gender_score <= 1
    assert face.expression in face.expression_scores
    assert face.embedding.dtype == np.float32 and face.embedding.shape == (128,)
    assert abs(np.linalg.norm(face.embedding) - 1) < 1e-3
    assert face.head_pose is not None


def test_every_image_form_finds_the_same_faces(server, demo):
    path = demo / "sample2.jpg"
    rgb = np.asarray(Image.open(path).convert("RGB"))
    with faceserve.Client(server.target) as client:
        boxes = {}
        for name, image in [("path", path), ("str", str(path)), ("bytes", path.read_bytes()),
                            ("rgb", faceserve.Pixels(rgb, "rgb")),
                            ("bgr", faceserve.Pixels(rgb[:, :, ::-1], "bgr")),
                            ("pil", Image.open(path))]:
            boxes[name] = [(f.box.x1, f.box.y1) for f in
                           client.analyze(image, detect_only=True).faces]
        with pytest.raises(TypeError, match="channel order"):
            client.analyze(rgb)
    # The encoded forms are one decode; the raw forms are PIL's decode of it.
    assert boxes["path"] == boxes["str"] == boxes["bytes"]
    assert boxes["rgb"] == boxes["bgr"] == boxes["pil"]
    assert len(boxes["rgb"]) == len(boxes["path"]) >= 1
    for (x, y), (rx, ry) in zip(boxes["path"], boxes["rgb"]):
        assert abs(x - rx) < 3 and abs(y - ry) < 3


def test_embed_and_verify(server, demo):
    with faceserve.Client(server.target) as client:
        [largest] = client.embed(demo / "sample1.jpg", selection="largest")
        assert largest.embedding.shape == (128,)
        same = client.verify(demo / "sample1.jpg", largest.embedding)
        other = client.verify(demo / "sample1.jpg", demo / "sample3.jpg")
    assert same.match and same.similarity > 0.99
    assert not other.match and other.similarity < other.threshold
    assert same.model.startswith("face_recognition@")


def test_errors_are_typed_with_their_reason(server, demo):
    with faceserve.Client(server.target) as client:
        with pytest.raises(faceserve.InvalidArgument) as bad_image:
            client.analyze(b"not an image")
        with pytest.raises(faceserve.NotFound) as no_gallery:
            client.identify("no-such-gallery", demo / "sample1.jpg")
        with pytest.raises(faceserve.InvalidArgument) as bad_predictor:
            client.analyze(demo / "sample1.jpg", predictors=["no_such_predictor"])
    assert bad_image.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_image.value.reason == "UNSUPPORTED_FORMAT"
    assert no_gallery.value.reason == "GALLERY_NOT_FOUND"
    assert bad_predictor.value.reason == "UNKNOWN_PREDICTOR"


def test_gallery_enroll_identify_search(server, demo):
    with faceserve.Client(server.target) as client:
        gallery = client.create_gallery("py-demo")
        assert gallery.name == "py-demo" and gallery.faces == 0
        enrolled = client.enroll("py-demo", "ada", [demo / "sample1.jpg"], largest=True,
                                 metadata={"team": "red"}, idempotency_key="ada-1")
        assert enrolled.outcomes[0].face_id is not None and not enrolled.replayed
        again = client.enroll("py-demo", "ada", [demo / "sample1.jpg"], largest=True,
                              metadata={"team": "red"}, idempotency_key="ada-1")
        assert again.replayed and again.outcomes[0].face_id == enrolled.outcomes[0].face_id
        assert client.get_subject("py-demo", "ada").metadata == {"team": "red"}

        [found] = [f for f in client.identify("py-demo", demo / "sample1.jpg", top_k=2)
                   if f.identity.identified]
        assert found.identity.subject == "ada"
        stranger = client.identify("py-demo", demo / "sample3.jpg")
        assert all(f.identity.subject is None for f in stranger)
        [largest] = client.embed(demo / "sample1.jpg", selection="largest")
        [identity] = client.search("py-demo", [largest.embedding])
        assert identity.subject == "ada" and identity.matches[0].similarity > 0.99
        analysis = client.analyze(demo / "sample1.jpg", identify_gallery="py-demo")
        assert any(f.identity and f.identity.subject == "ada" for f in analysis.faces)
        assert [g.faces for g in client.list_galleries() if g.name == "py-demo"] == [1]
        client.delete_gallery("py-demo")
        assert "py-demo" not in [g.name for g in client.list_galleries()]


def test_async_client_answers_as_the_blocking_one(server, demo):
    with faceserve.Client(server.target) as client:
        expected = [len(client.analyze(demo / f"sample{i}.jpg", detect_only=True).faces)
                    for i in range(1, 5)]

    async def run():
        async with faceserve.AsyncClient(server.target) as client:
            await client.wait_ready(timeout=10)
            analyses = await asyncio.gather(*[
                client.analyze(demo / f"sample{i}.jpg", detect_only=True) for i in range(1, 5)])
            with pytest.raises(faceserve.InvalidArgument):
                await client.analyze(b"not an image")
            return [len(a.faces) for a in analyses]
    assert asyncio.run(run()) == expected


def test_retry_policy_waits_grow_and_stop_at_the_deadline():
    policy = faceserve.RetryPolicy(max_attempts=4, initial_backoff_s=0.1, max_backoff_s=0.3)
    for attempt, bound in [(1, 0.1), (2, 0.2), (3, 0.3)]:
        waits = [policy.backoff(attempt, None) for _ in range(200)]
        assert all(0 <= w <= bound for w in waits) and max(waits) > bound / 2
    assert policy.backoff(4, None) is None          # attempts used up
    assert policy.backoff(1, remaining_s=0.0) is None  # no time left


def test_too_many_calls_are_retried_until_served(demo):
    """A server admitting one call at a time: without retries concurrent
    calls are refused with TOO_MANY_CALLS; with them, every call is served."""
    busy = ServerProcess("server.max_concurrent_calls=1")
    try:
        image = (demo / "sample1.jpg").read_bytes()

        def burst(retry):
            with faceserve.Client(busy.target, retry=retry, timeout=120) as client:
                def one(_):
                    try:
                        return len(client.analyze(image).faces)
                    except faceserve.ResourceExhausted as e:
                        return e.reason
                with concurrent.futures.ThreadPoolExecutor(6) as pool:
                    return list(pool.map(one, range(6)))
        refused = burst(faceserve.NO_RETRIES)
        assert "TOO_MANY_CALLS" in refused
        served = burst(faceserve.RetryPolicy(max_attempts=100, initial_backoff_s=0.05))
        assert all(isinstance(n, int) and n >= 1 for n in served), served
    finally:
        busy.stop()


def test_api_key_is_sent_as_bearer(tmp_path, demo):
    keys = tmp_path / "keys.yaml"
    key = subprocess.run([FACECTL, "api-key", "generate",
                          "--keys-file", str(keys), "--name", "py", "--scopes", "analyze"],
                         check=True, capture_output=True, text=True).stdout.split()[-1]
    assert key.startswith("fsk_")
    guarded = ServerProcess("auth.required=true", f"auth.keys_file={keys}")
    try:
        with faceserve.Client(guarded.target) as anonymous:
            with pytest.raises(faceserve.Unauthenticated) as refused:
                anonymous.analyze(demo / "sample1.jpg", detect_only=True)
        assert refused.value.reason == "API_KEY_MISSING"
        with faceserve.Client(guarded.target, api_key=key) as client:
            assert len(client.analyze(demo / "sample1.jpg", detect_only=True).faces) >= 1
            with pytest.raises(faceserve.PermissionDenied) as scope:
                client.create_gallery("not-mine")
        assert scope.value.reason == "SCOPE_NOT_GRANTED"
    finally:
        guarded.stop()


def make_pki(folder: pathlib.Path):
    """A throw-away CA, a server certificate for localhost / 127.0.0.1 and a
    client certificate, made with the openssl command (as the C++ TLS tests)."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)
    (folder / "server.ext").write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")
    (folder / "client.ext").write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=clientAuth\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-days", "2", "-subj", "/CN=faceserve-py-ca", "-keyout", "ca.key",
            "-out", "ca.pem", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for name, cn in [("server", "localhost"), ("client", "py-client")]:
        openssl("req", "-new", *ec, "-subj", f"/CN={cn}", "-keyout", f"{name}.key",
                "-out", f"{name}.csr")
        openssl("x509", "-req", "-days", "2", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey",
                "ca.key", "-CAcreateserial", "-out", f"{name}.pem", "-extfile", f"{name}.ext")


def test_tls_and_mutual_tls(tmp_path, demo):
    make_pki(tmp_path)
    secure = ServerProcess(f"server.tls.cert_file={tmp_path / 'server.pem'}",
                           f"server.tls.key_file={tmp_path / 'server.key'}",
                           f"server.tls.client_ca_file={tmp_path / 'ca.pem'}")
    try:
        target = f"localhost:{secure.grpc_port}"
        photo = demo / "sample1.jpg"
        mutual = faceserve.Client(target, ca_file=str(tmp_path / "ca.pem"),
                                  cert_file=str(tmp_path / "client.pem"),
                                  key_file=str(tmp_path / "client.key"))
        with mutual:
            assert len(mutual.analyze(photo, detect_only=True).faces) >= 1
        # No client certificate, or plaintext: refused (not retried for ever:
        # UNAVAILABLE is retried within the deadline, then raised).
        for client in (faceserve.Client(target, ca_file=str(tmp_path / "ca.pem"), timeout=3),
                       faceserve.Client(target, timeout=3)):
            with client, pytest.raises(faceserve.Unavailable):
                client.analyze(photo, detect_only=True)
    finally:
        secure.stop()


def test_a_video_stream_keeps_one_track(server, demo):
    """AnalyzeStream from Python: a real face moved across 20 frames (made
    here with PIL), detection on every 2nd frame, files mode (no skipping)."""
    face = Image.open(demo / "sample1.jpg").crop((780, 360, 1090, 720)).resize((150, 174))
    frames = []
    for i in range(20):
        frame = Image.new("RGB", (640, 480), (120, 110, 90))
        frame.paste(face, (40 + 12 * i, 150))
        frames.append(frame)
    with faceserve.Client(server.target) as client:
        results = list(client.analyze_stream(frames, detect_every=2, overflow="block",
                                             predictors=["age_gender"], best_shots=True))
    end = results.pop()
    assert end.end_of_stream and not end.faces
    assert [r.sequence for r in results] == list(range(20))
    assert [r.detected for r in results] == [i % 2 == 0 for i in range(20)]
    assert all(len(r.faces) == 1 for r in results)
    assert len({r.faces[0].track_id for r in results}) == 1
    assert results[0].events[0][1] == "started"
    assert results[0].faces[0].face.gender in ("male", "female")
    assert results[1].faces[0].face.gender is None  # predicted frames: the box alone
    # The track's smoothed attributes on every frame, and its summary at the end.
    assert results[1].faces[0].smoothed.gender in ("male", "female")
    track = results[0].faces[0].track_id
    summary = end.ended[track]
    assert summary.detected_frames == 10
    assert summary.best_shot_sequence % 2 == 0
    assert Image.open(io.BytesIO(summary.best_shot_jpeg)).size[0] > 50
    assert summary.smoothed.age == results[-1].faces[0].smoothed.age
    with faceserve.Client(server.target) as client:
        with pytest.raises(faceserve.InvalidArgument):
            list(client.analyze_stream(frames[:2], detect_every=99))
