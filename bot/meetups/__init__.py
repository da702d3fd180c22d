"""Meetups: create, announce, RSVP with capacity and waitlist, reminders, calendar, check-in."""
