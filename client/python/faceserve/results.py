"""Typed results: plain dataclasses made from the response messages, with
embeddings and landmarks as numpy arrays. `.raw` keeps the message for
anything not lifted here."""
import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np

from faceserve.v1 import face_service_pb2 as pb
from faceserve.v1 import gallery_service_pb2 as gpb


@dataclasses.dataclass(frozen=True)
class Box:
    x1: float
    y1: float
    x2: float
    y2: float

    @staticmethod
    def of(box: pb.Box) -> "Box":
        return Box(box.x1, box.y1, box.x2, box.y2)


@dataclasses.dataclass(frozen=True)
class Match:
    subject: str
    face_id: int
    similarity: float


@dataclasses.dataclass(frozen=True)
class Identity:
    identified: bool      # the best match reached the threshold
    threshold: float
    matches: List[Match]  # best first

    @property
    def subject(self) -> Optional[str]:
        """The identified subject, None for a stranger."""
        return self.matches[0].subject if self.identified and self.matches else None

    @staticmethod
    def of(identity: pb.Identity) -> "Identity":
        return Identity(identity.identified, identity.threshold,
                        [Match(m.subject, m.face_id, m.similarity) for m in identity.matches])


def _points(points) -> np.ndarray:
    return np.array([[p.x, p.y] for p in points], dtype=np.float32).reshape(-1, 2)


@dataclasses.dataclass(frozen=True)
class Face:
    box: Box
    score: float                       # detection score
    truncated: bool                    # cut by the image border
    landmarks_5: np.ndarray            # 5 x 2 (eyes, nose, mouth corners) or 0 x 2
    landmarks_68: np.ndarray           # 68 x 2 or 0 x 2
    age: Optional[float]               # years
    gender: Optional[str]
    gender_score: Optional[float]
    expression: Optional[str]
    expression_scores: Dict[str, float]
    embedding: Optional[np.ndarray]    # unit length, when asked for
    head_pose: Optional[Tuple[float, float, float]]  # yaw, pitch, roll in degrees
    identity: Optional[Identity]       # with identify_gallery
    outputs: Dict[str, pb.PredictorOutput]  # every head by name
    raw: pb.Face = dataclasses.field(repr=False)

    @staticmethod
    def of(face: pb.Face) -> "Face":
        outputs = {o.name: o for p in face.predictions for o in p.outputs}
        age = gender = gender_score = expression = embedding = None
        expression_scores: Dict[str, float] = {}
        for name, o in outputs.items():
            kind = o.WhichOneof("result")
            if kind == "regression":
                for v in o.regression.values:
                    if v.name == "age_years":
                        age = v.value
            elif kind == "classification" and name == "gender":
                gender, gender_score = o.classification.label, o.classification.score
            elif kind == "classification" and name == "expression":
                expression = o.classification.label
                expression_scores = {s.label: s.score for s in o.classification.scores}
            elif kind == "embedding" and embedding is None:
                embedding = np.array(o.embedding.values, dtype=np.float32)
        pose = face.head_pose if face.HasField("head_pose") else None
        return Face(
            box=Box.of(face.box), score=face.detection_score, truncated=face.truncated,
            landmarks_5=_points(face.landmarks_5), landmarks_68=_points(face.landmarks_68),
            age=age, gender=gender, gender_score=gender_score, expression=expression,
            expression_scores=expression_scores, embedding=embedding,
            head_pose=(pose.yaw_deg, pose.pitch_deg, pose.roll_deg) if pose else None,
            identity=Identity.of(face.identity) if face.HasField("identity") else None,
            outputs=outputs, raw=face)


@dataclasses.dataclass(frozen=True)
class Analysis:
    width: int
    height: int
    faces: List[Face]           # highest detection score first
    annotated_jpeg: bytes       # with annotate=True
    raw: pb.AnalyzeResponse = dataclasses.field(repr=False)

    @staticmethod
    def of(response: pb.AnalyzeResponse) -> "Analysis":
        return Analysis(response.image_width_px, response.image_height_px,
                        [Face.of(f) for f in response.faces], response.annotated_jpeg, response)


@dataclasses.dataclass(frozen=True)
class EmbeddedFace:
    box: Box
    score: float
    truncated: bool
    embedding: np.ndarray  # unit length

    @staticmethod
    def of(face: pb.FaceEmbedding) -> "EmbeddedFace":
        return EmbeddedFace(Box.of(face.box), face.detection_score, face.truncated,
                            np.array(face.embedding.values, dtype=np.float32))


@dataclasses.dataclass(frozen=True)
class Verification:
    match: bool
    similarity: float  # cosine, in [-1, 1]
    threshold: float
    model: str

    @staticmethod
    def of(response: pb.VerifyResponse) -> "Verification":
        return Verification(response.match, response.similarity, response.threshold,
                            f"{response.model}@{response.model_version}")


@dataclasses.dataclass(frozen=True)
class Gallery:
    name: str
    subjects: int
    faces: int
    descriptor_model: str
    threshold: float
    approximate: bool

    @staticmethod
    def of(g: gpb.Gallery) -> "Gallery":
        return Gallery(g.name, g.subject_count, g.face_count, g.descriptor_model, g.threshold,
                       g.approximate)


@dataclasses.dataclass(frozen=True)
class EnrollOutcome:
    face_id: Optional[int]        # None when rejected
    rejection: Optional[str]      # the quality gate's rule, e.g. "face_count"
    message: str                  # why, for people
    box: Optional[Box]


@dataclasses.dataclass(frozen=True)
class Enrollment:
    subject: str
    outcomes: List[EnrollOutcome]  # one per input, in order
    replayed: bool                 # answered from an earlier call with the same key

    @staticmethod
    def of(r: gpb.EnrollResponse) -> "Enrollment":
        return Enrollment(r.subject, [
            EnrollOutcome(o.face_id or None,
                          o.rejection.rule if o.HasField("rejection") else None,
                          o.rejection.message if o.HasField("rejection") else "",
                          Box.of(o.box) if o.HasField("box") else None) for o in r.results],
            r.replayed)


@dataclasses.dataclass(frozen=True)
class IdentifiedFace:
    box: Box
    score: float
    truncated: bool
    identity: Identity

    @staticmethod
    def of(face: gpb.IdentifiedFace) -> "IdentifiedFace":
        return IdentifiedFace(Box.of(face.box), face.detection_score, face.truncated,
                              Identity.of(face.identity))


@dataclasses.dataclass(frozen=True)
class Subject:
    subject: str
    metadata: Dict[str, str]
    face_ids: List[int]

    @staticmethod
    def of(s: gpb.Subject) -> "Subject":
        return Subject(s.subject, dict(s.metadata), [f.face_id for f in s.faces])


@dataclasses.dataclass(frozen=True)
class TrackIdentity:
    """Who a track is, decided by the server over several of its frames."""
    subject: str
    similarity: float  # mean of the subject's votes, weighted by face quality
    votes: int         # of the last `window` frames' votes, the subject's
    window: int
    threshold: float

    @staticmethod
    def of(identity) -> Optional["TrackIdentity"]:
        if not identity.subject:
            return None
        return TrackIdentity(identity.subject, identity.similarity, identity.votes,
                             identity.window, identity.threshold)


@dataclasses.dataclass(frozen=True)
class TrackSummary:
    """What the stream learned about a track, sent when it ended."""
    detected_frames: int
    best_shot_sequence: Optional[int]  # the frame of the track's best picture
    best_shot_quality: float           # size x sharpness x frontality, in [0, 1]
    best_shot_box: Optional[Box]
    best_shot_jpeg: bytes              # with best_shots=True
    smoothed: Face                     # the smoothed attributes (age, gender, ...)
    identity: Optional[TrackIdentity]

    @staticmethod
    def of(summary) -> "TrackSummary":
        shot = summary.best_shot if summary.HasField("best_shot") else None
        return TrackSummary(
            summary.detected_frames, shot.sequence if shot else None,
            shot.quality if shot else 0.0, Box.of(shot.box) if shot else None,
            shot.crop_jpeg if shot else b"",
            Face.of(pb.Face(predictions=summary.smoothed_predictions)),
            TrackIdentity.of(summary.identity))


@dataclasses.dataclass(frozen=True)
class TrackedFace:
    track_id: int  # the same for the same person across the stream's frames
    face: Face     # on frames not detected: only its predicted box
    identity: Optional[TrackIdentity] = None  # the track's, once decided
    smoothed: Optional[Face] = None  # the track's attributes smoothed over time


@dataclasses.dataclass(frozen=True)
class StreamFrameResult:
    sequence: int
    timestamp_us: int
    detected: bool             # faces detected on this frame (else predicted)
    faces: List[TrackedFace]
    # (track id, "started" | "lost" | "relinked" | "ended" | "identified")
    events: List[Tuple[int, str]]
    skipped: List[int]         # sequences dropped (drop_oldest) since the last result
    end_of_stream: bool = False  # the server's last answer: no frame, every track ended
    identified: Dict[int, TrackIdentity] = dataclasses.field(default_factory=dict)
    ended: Dict[int, TrackSummary] = dataclasses.field(default_factory=dict)

    @staticmethod
    def of(r) -> "StreamFrameResult":
        from faceserve.v1 import face_service_pb2 as fpb
        names = {fpb.TRACK_STARTED: "started", fpb.TRACK_LOST: "lost",
                 fpb.TRACK_RELINKED: "relinked", fpb.TRACK_ENDED: "ended",
                 fpb.TRACK_IDENTIFIED: "identified"}
        faces = [TrackedFace(f.track_id, Face.of(f.face), TrackIdentity.of(f.identity),
                             Face.of(pb.Face(predictions=f.smoothed_predictions))
                             if f.smoothed_predictions else None)
                 for f in r.faces]
        return StreamFrameResult(
            r.sequence, r.timestamp_us, r.detected, faces,
            [(e.track_id, names.get(e.kind, "unknown")) for e in r.events],
            list(r.skipped_sequences), r.end_of_stream,
            {e.track_id: TrackIdentity.of(e.identity) for e in r.events
             if e.kind == fpb.TRACK_IDENTIFIED},
            {e.track_id: TrackSummary.of(e.summary) for e in r.events
             if e.kind == fpb.TRACK_ENDED})
