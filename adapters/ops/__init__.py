"""Operations: health checks (``twinbot health``, ``/healthz``) and Prometheus metrics (``/metrics``)."""
