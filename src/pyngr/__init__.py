"""pyngr: zero-shot image restoration with the Neural Gradient Regularizer (NGR).

An untrained network, fed a fixed random input, predicts the gradient maps of the image
along its rows, columns and channels; an ADMM alternates a network step with a closed-form
FFT solve. No training data and no ground truth are needed.

Main functions (numpy in, numpy out, channel-last like scikit-image):

- :func:`inpaint`: fill missing entries (random sampling, deadlines, text, ...);
- :func:`inpaint_many`: several images of one size restored together (shared launches);
- :func:`decloud`: remove clouds from the first date of a multi-temporal series;
- :func:`denoise`: Gaussian or mixed (Gaussian + impulse + stripes + deadlines) noise.

Reference: S. Xu, Y. Wang, Z. Zhao, J. Peng, X. Cao, D. Meng, Y. Zhang, R. Timofte,
L. Van Gool, "Neural Gradient Regularizer".
"""

from . import data
from .api import Result, decloud, denoise, inpaint, inpaint_many, resolve_device
from .checkpoint import Checkpointing, RunInterrupted
from .errors import DeviceError, InputError, PyngrError
from .presets import Settings, get_settings

__version__ = "0.1.0"

__all__ = [
    "Checkpointing",
    "DeviceError",
    "InputError",
    "PyngrError",
    "Result",
    "RunInterrupted",
    "Settings",
    "__version__",
    "data",
    "decloud",
    "denoise",
    "get_settings",
    "inpaint",
    "inpaint_many",
    "resolve_device",
]
