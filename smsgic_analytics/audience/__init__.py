"""Files and frames -> a validated audience: which column holds the numbers (``columns``),
recipients with a reason for every refused row (``recipients``), and CSV / Parquet / Excel files
read as lazy Dask frames with numbers kept as text (``read``)."""
