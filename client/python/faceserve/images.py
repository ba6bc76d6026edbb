"""What an image argument may be, turned into the Image message.

- a path (str or pathlib.Path): the file's bytes, sent encoded (JPEG, PNG,
  WebP, BMP; the server decodes and applies EXIF orientation);
- bytes: an encoded file;
- Pixels(array, "rgb" | "bgr"): an H x W x 3 uint8 numpy array, sent raw;
  the channel order must be stated (OpenCV's arrays are BGR, PIL's RGB);
- a PIL image: sent raw as RGB.
A bare numpy array is refused: its channel order would be a guess.
"""
import dataclasses
import os
import pathlib
from typing import Union

import numpy as np

from faceserve.v1 import face_service_pb2 as pb


@dataclasses.dataclass(frozen=True)
class Pixels:
    array: np.ndarray
    order: str = "rgb"  # "rgb" or "bgr"


ImageLike = Union[str, os.PathLike, bytes, Pixels, "PIL.Image.Image"]  # noqa: F821

_ORDERS = {"rgb": pb.CHANNEL_ORDER_RGB, "bgr": pb.CHANNEL_ORDER_BGR}


def _raw(array: np.ndarray, order: str) -> pb.Image:
    if order not in _ORDERS:
        raise ValueError(f"channel order must be 'rgb' or 'bgr', not {order!r}")
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 uint8 array, got {array.dtype} {array.shape}")
    array = np.ascontiguousarray(array)
    height, width = array.shape[:2]
    return pb.Image(raw=pb.RawImage(width_px=width, height_px=height, stride_bytes=width * 3,
                                    channel_order=_ORDERS[order], pixels=array.tobytes()))


def to_image(image: ImageLike) -> pb.Image:
    if isinstance(image, pb.Image):
        return image
    if isinstance(image, (bytes, bytearray, memoryview)):
        return pb.Image(encoded=bytes(image))
    if isinstance(image, (str, os.PathLike)):
        return pb.Image(encoded=pathlib.Path(image).read_bytes())
    if isinstance(image, Pixels):
        return _raw(image.array, image.order)
    if isinstance(image, np.ndarray):
        raise TypeError("state the channel order of a numpy array: "
                        "faceserve.Pixels(array, 'rgb') or faceserve.Pixels(array, 'bgr')")
    if hasattr(image, "convert") and hasattr(image, "size"):  # a PIL image
        return _raw(np.asarray(image.convert("RGB")), "rgb")
    raise TypeError(f"not an image: {type(image).__name__} (a path, bytes, "
                    "faceserve.Pixels or a PIL image)")
