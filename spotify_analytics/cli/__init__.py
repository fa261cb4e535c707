"""The command line: one module per command group, added to the app in ``main`` (nothing imports it)."""
