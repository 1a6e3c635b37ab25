"""``python -m lendsim`` is the ``lendsim`` command."""

from lendsim.cli import main

raise SystemExit(main())
