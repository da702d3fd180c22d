"""Messages adapters show on the core's behalf (platform situations the core cannot see),
kept here so that they are extracted into the catalogs with every other string."""

from __future__ import annotations

from bot.i18n import N_

DM_SENT = N_("I have sent you a direct message.")
DM_CLOSED = N_(
    "I cannot send you a direct message. Please allow direct messages from this server's members, then try again."
)
SORRY = N_("Sorry, something went wrong on my side. Nothing was changed; please try again.")
