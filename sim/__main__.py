"""``python -m sim`` is the same as the ``pilkada-sim`` command."""

import sys

from sim.cli import main

sys.exit(main())
