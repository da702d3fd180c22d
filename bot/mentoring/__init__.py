"""Mentorship matching across a sister-city network."""
