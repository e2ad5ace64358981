"""`python -m joulo_pipelines.cli`: the `joulo` command without its console script."""

import sys

from joulo_pipelines.cli import main

sys.exit(main())
