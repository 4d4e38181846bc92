"""What a campaign costs, three ways: exact (``exact``: chunked calculate -> ``quote.Quote``),
what-if (``whatif``: a quote re-priced locally) and offline (``offline``, from a ``rate_table``),
out of core on Dask (``dask``), compared (``compare``); ``estimate`` is the one entry point."""
