"""The network: its chapters (partner cities), their languages and time zones."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Chapter:
    code: str
    name: str
    time_zone: str
    languages: tuple[str, ...]
    partners: tuple[str, ...] = ()
    group_chats: tuple[tuple[str, str], ...] = ()  # (platform, chat id) where announcements go too


@dataclass(frozen=True)
class Network:
    name: str
    default_language: str
    languages: tuple[str, ...]
    chapters: tuple[Chapter, ...] = field(default=())
    #: Platforms where announcements reach a member by DM only if they opted in (Discord
    #: quarantines bots that open many DMs); the chapter channel carries them there.
    dm_opt_in: tuple[str, ...] = ("discord",)

    def chapter(self, code: str | None) -> Chapter | None:
        for chapter in self.chapters:
            if chapter.code == code:
                return chapter
        return None

    def partners_of(self, code: str) -> tuple[Chapter, ...]:
        """Chapters twinned with ``code``, whichever side declared the partnership."""
        own = self.chapter(code)
        names = set(own.partners if own else ())
        names |= {c.code for c in self.chapters if code in c.partners}
        return tuple(c for c in self.chapters if c.code in names)
