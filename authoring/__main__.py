"""``python -m authoring``: see :mod:`authoring.cli`."""
import sys

from authoring.cli import main

sys.exit(main())
