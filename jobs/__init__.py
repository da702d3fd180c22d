"""Scheduled work (APScheduler): thin jobs that ask bot/ services what is due."""
