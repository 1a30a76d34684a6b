"""``python -m pyngr ...``: the ``ngr`` command without its console script."""

import sys

from .cli import main

sys.exit(main())
