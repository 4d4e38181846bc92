"""Where analysts meet the toolkit: the command line (``cli``, ``estimate_cli``), the ``make lab``
and dashboard launchers (``launcher``), notebook sessions (``notebook``) and reports (``report``)."""
