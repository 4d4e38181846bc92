"""Phone text -> E.164 digits -> country / operator / MCC / MNC: the one normaliser
(``normalize``), offline classification (``classify`` over the compiled ``tables``), the MCC/MNC
table (``mccmnc``) and demo audiences (``samples``)."""
