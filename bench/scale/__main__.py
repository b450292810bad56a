"""``python -m bench.scale``, from the repository: the same as ``bench/scale.py``."""

from __future__ import annotations

import sys

from bench.scale.cli import main

sys.exit(main())
