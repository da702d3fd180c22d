"""Satisfaction surveys: define, dispatch, answer in chat, remind, results."""
