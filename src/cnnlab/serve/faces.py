"""Finding faces with OpenCV's bundled Haar cascade, and cutting them out the way FER2013's faces are framed."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

# ships with opencv-python(-headless) 4.x in cv2.data.haarcascades (OpenCV 5 dropped the Haar cascades)
CASCADE = "haarcascade_frontalface_default.xml"
DETECT_SIZE = 640  # pixels: images are searched at most this large (longer side); boxes are scaled back
MIN_FACE = 0.08  # smallest face searched for, as a fraction of the image's shorter side
MARGIN = 0.1  # FER2013 crops include a little forehead and chin: grow each box by this fraction per side


@dataclass
class Face:
    """A face's box in the image's pixels (x, y = top-left corner)."""

    x: int
    y: int
    w: int
    h: int

    def to_dict(self) -> dict:
        return {"x": self.x, "y": self.y, "w": self.w, "h": self.h}


class NoFaceDetector(RuntimeError):
    """This OpenCV has no Haar cascade face detector."""


@lru_cache(maxsize=1)
def cascade():
    """The frontal-face Haar cascade (loaded once)."""
    path = Path(getattr(getattr(cv2, "data", None), "haarcascades", "")) / CASCADE
    if not hasattr(cv2, "CascadeClassifier") or not path.is_file():
        raise NoFaceDetector(f"OpenCV {cv2.__version__} has no Haar face cascade ({CASCADE}); install "
                             f"opencv-python-headless>=4.5,<5")
    detector = cv2.CascadeClassifier(str(path))
    if detector.empty():
        raise NoFaceDetector(f"{path}: OpenCV could not load its face cascade")
    return detector


def find_faces(gray: np.ndarray, max_faces: int = 10) -> list[Face]:
    """Faces in a gray uint8 image (H, W), largest first."""
    h, w = gray.shape
    scale = min(1.0, DETECT_SIZE / max(h, w))
    small = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA) if scale < 1 else gray
    small = cv2.equalizeHist(small)  # the cascade was trained on contrast-normalised faces
    side = max(24, int(min(small.shape) * MIN_FACE))
    boxes = cascade().detectMultiScale(small, scaleFactor=1.1, minNeighbors=5, minSize=(side, side))
    faces = [Face(*(int(round(v / scale)) for v in box)) for box in (boxes if len(boxes) else [])]
    faces.sort(key=lambda f: -f.w * f.h)
    return faces[:max_faces]


def crop_face(pixels: np.ndarray, face: Face, margin: float = MARGIN) -> np.ndarray:
    """The face's box grown by `margin` per side (clipped to the image), cut from pixels (H, W[, C])."""
    h, w = pixels.shape[:2]
    dx, dy = int(face.w * margin), int(face.h * margin)
    top, bottom = max(0, face.y - dy), min(h, face.y + face.h + dy)
    left, right = max(0, face.x - dx), min(w, face.x + face.w + dx)
    return pixels[top:bottom, left:right]
