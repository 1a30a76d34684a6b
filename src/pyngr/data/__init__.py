"""Data bundled with pyngr.

``astronaut_128.png``: a 128×128 RGB crop (downscaled 2×) of scikit-image's ``astronaut``
sample (Eileen Collins, NASA photograph, public domain), used by ``ngr demo``.

``fast_rgb_inpaint.pt``: weights of the ``fast`` preset's RGB inpainting network fitted on
scikit-image's ``chelsea`` (CC0) at half size, 30% of entries observed, 1500 iterations
(``python benchmarks/warm_weights.py``, its sidecar ``fast_rgb_inpaint.pt.json``): a warm
start, named ``"pyngr:fast_rgb_inpaint"`` in ``Settings.init_weights``.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
from PIL import Image

__all__ = ["ADAPTED_RGB_WEIGHTS", "AUTO_WEIGHTS", "BUNDLED_PREFIX", "FAST_RGB_WEIGHTS",
           "bundled_weights", "demo_image", "demo_image_path"]

#: ``Settings.init_weights`` values starting with this name a bundled weights file.
BUNDLED_PREFIX = "pyngr:"
#: The ``fast`` preset's RGB inpainting network fitted on chelsea (see above).
FAST_RGB_WEIGHTS = "pyngr:fast_rgb_inpaint"
#: FAST_RGB_WEIGHTS fitted to a network of another channel count (one trunk or separate
#: networks of the same width and depth; :func:`pyngr.networks.adapt_channels`).
ADAPTED_RGB_WEIGHTS = "pyngr:fast_rgb_inpaint/adapted"
#: ``init_weights`` of the ``fast`` inpainting preset: FAST_RGB_WEIGHTS when they fit the
#: network, else ADAPTED_RGB_WEIGHTS when they can be fitted to it, else random weights
#: (:func:`pyngr.networks.warm_start_for`).
AUTO_WEIGHTS = "pyngr:auto"
_WEIGHTS = ("fast_rgb_inpaint",)


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


def bundled_weights(name: str) -> str:
    """Path of the bundled weights ``name`` (``"pyngr:fast_rgb_inpaint"`` or without the
    prefix); an unknown name raises a one-line :class:`~pyngr.errors.InputError`.

    Examples
    --------
    >>> bundled_weights("pyngr:fast_rgb_inpaint").endswith("fast_rgb_inpaint.pt")
    True
    """
    from ..errors import InputError

    short = name.removeprefix(BUNDLED_PREFIX)
    if short not in _WEIGHTS:
        raise InputError(f"no bundled weights {name!r}; bundled: "
                         + ", ".join(BUNDLED_PREFIX + w for w in _WEIGHTS))
    return str(files(__name__) / f"{short}.pt")
