"""Multi-step conversations whose state lives in the database."""
