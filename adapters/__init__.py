"""Adapters: platforms in, replies out, and the wiring that starts them."""
