"""``python -m parity``: the parity report (see :mod:`parity.report`)."""

import sys

from .report import main

sys.exit(main())
