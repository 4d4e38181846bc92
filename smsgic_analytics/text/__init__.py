"""Message text -> what it costs in SMS parts: the GSM 03.38 alphabet (``alphabet``), segment
counting one text at a time (``segments``) and many at once (``counts``), smart-encoding
(``smart``) and the advisor (``advice``), and ``{field}`` templates (``templates``)."""
