"""``python -m sleepsignal``: the command line."""

from .cli import main

raise SystemExit(main())
