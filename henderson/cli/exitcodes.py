"""Exit codes of the ``henderson`` command (a module of its own so that ``--help`` imports nothing else)."""

OK, BAD_INPUT, NOT_CONVERGED, INTERNAL = 0, 2, 3, 4
