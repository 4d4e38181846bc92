"""The SMSgic API over HTTP: the one session (``http``: cache, limiter, timeouts, retries), its
policy table (``policy``), cache storage (``cache``), rate limiting (``limiter``), answers ->
errors (``responses``), one call per endpoint (``endpoints``) and wire records -> tidy frames
(``frames``)."""
