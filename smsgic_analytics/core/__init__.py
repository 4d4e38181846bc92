"""Facts with one home, imported by every layer and importing nothing else of ours: the API's
paths, statuses, limits and documented messages (``spec``), money (``money``), times
(``dates``), the error hierarchy (``errors``), settings and the account identity (``config``),
and how things are shown (``display``)."""
