"""Data bundled with pyngr.

``astronaut_128.png``: a 128×128 RGB crop (downscaled 2×) of scikit-image's ``astronaut``
sample (Eileen Collins, NASA photograph, public domain), used by ``ngr demo``.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
from PIL import Image

__all__ = ["demo_image", "demo_image_path"]


def demo_image_path() -> str:
    """Path of the bundled demo image."""
    return str(files(__name__) / "astronaut_128.png")


def demo_image() -> np.ndarray:
    """The bundled demo image, (128, 128, 3) uint8.

    Examples
    --------
    >>> demo_image().shape
    (128, 128, 3)
    """
    with Image.open(demo_image_path()) as im:
        return np.asarray(im.convert("RGB"))
