from __future__ import annotations

import logging

import pytest

from adapters.logs import RedactSecrets

TOKEN = "123456:AAE-secret-token"


def test_secrets_are_redacted_in_messages_args_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    caplog.handler.addFilter(RedactSecrets([TOKEN]))
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("HTTP Request: POST https://api.telegram.org/bot%s/getUpdates", TOKEN)
        try:
            raise RuntimeError(f"failed calling /bot{TOKEN}/sendMessage")
        except RuntimeError:
            logger.exception("send failed")
    assert TOKEN not in caplog.text
    assert "bot[redacted]/getUpdates" in caplog.text
    assert "RuntimeError: failed calling /bot[redacted]/sendMessage" in caplog.text
