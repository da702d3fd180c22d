"""Who receives something: a scope of chapters and a filter. New kinds of audience (a
meetup's attendees, a survey's, active mentoring pairs) are added here, in FILTERS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.i18n import N_, Translator, language_name
from bot.ids import parse_id
from bot.members import Member, Role
from bot.network import Network

if TYPE_CHECKING:
    from bot.ports import UnitOfWork

MemberFilter = Callable[["UnitOfWork", Member, str], bool]


def _coordinates(uow: UnitOfWork, member: Member, arg: str) -> bool:
    """Coordinates one of the chapters in ``arg`` (comma-separated; empty: any chapter)."""
    assert member.id is not None
    grants = uow.members.roles(member.id)
    chapters: list[str | None] = [c for c in arg.split(",") if c] or [None]
    return any(member.has_role(grants, Role.COORDINATOR, chapter) for chapter in chapters)


#: filter name -> (label message id, predicate(uow, member, argument))
FILTERS: dict[str, tuple[str, MemberFilter]] = {
    "all": (N_("all members"), lambda uow, m, arg: True),
    "mentors": (N_("mentors"), lambda uow, m, arg: m.is_mentor),
    "mentees": (N_("mentees"), lambda uow, m, arg: m.is_mentee),
    "coordinators": (N_("coordinators"), _coordinates),
    "admins": (N_("admins"), lambda uow, m, arg: m.id is not None and m.has_role(uow.members.roles(m.id), Role.ADMIN)),
    "lang": (N_("who speak {language}"), lambda uow, m, arg: arg in m.languages),
}


def _attended(uow: UnitOfWork, arg: str, chapters: tuple[str, ...] = ()) -> list[Member]:
    """The members who checked in at meetup ``arg``, wherever they live."""
    meetup_id = parse_id(arg)
    ids = uow.meetups.attended(meetup_id) if meetup_id is not None else []
    found = uow.members.get_many(ids)
    return [found[i] for i in ids if i in found]


MemberSelector = Callable[["UnitOfWork", str, tuple[str, ...]], list[Member]]


#: Audiences that are a list of people rather than a filter on the chapters' members: the
#: chapters only say whose coordinators are responsible. name -> (label, selector(uow, arg)).
def _pairs(uow: UnitOfWork, arg: str, chapters: tuple[str, ...] = ()) -> list[Member]:
    """Both sides of every active mentorship (with ``chapters``: whose mentee lives there)."""
    active = uow.mentoring.active()
    found = uow.members.get_many(sorted({i for m in active for i in (m.mentor_id, m.mentee_id)}))
    chosen: set[int] = set()
    for m in active:
        mentee = found.get(m.mentee_id)
        if not chapters or (mentee is not None and mentee.home_chapter in chapters):
            chosen |= {m.mentor_id, m.mentee_id}
    return [found[i] for i in sorted(chosen) if i in found]


SELECTORS: dict[str, tuple[str, MemberSelector]] = {
    "attended": (N_("who checked in at the meetup"), _attended),
    "pairs": (N_("both sides of active mentorships"), _pairs),
}


@dataclass(frozen=True)
class Audience:
    """``chapters`` empty means every chapter; ``filter`` is a FILTERS key, with an argument
    after a colon where it takes one (``lang:fr``)."""

    chapters: tuple[str, ...] = ()
    filter: str = "all"

    def to_json(self) -> dict[str, Any]:
        return {"chapters": list(self.chapters), "filter": self.filter}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        return cls(chapters=tuple(data.get("chapters", ())), filter=str(data.get("filter", "all")))

    def _split(self) -> tuple[str, str]:
        name, _, arg = self.filter.partition(":")
        return name, arg

    def is_valid(self, network: Network) -> bool:
        name, arg = self._split()
        if name in SELECTORS:
            argument_ok = parse_id(arg) is not None if name == "attended" else not arg
            return argument_ok and all(network.chapter(c) is not None for c in self.chapters)
        if name not in FILTERS or (name == "lang" and arg not in network.languages):
            return False
        return all(network.chapter(code) is not None for code in self.chapters)

    def describe(self, _: Translator, network: Network) -> str:
        where = (
            ", ".join(c.name for c in network.chapters if c.code in self.chapters)
            if self.chapters
            else _("every chapter")
        )
        name, arg = self._split()
        labels = {n: e[0] for n, e in FILTERS.items()} | {n: e[0] for n, e in SELECTORS.items()}
        label = _(labels[name], language=language_name(arg)) if name in labels else name
        return f"{where} · {label}"

    def members(self, uow: UnitOfWork) -> list[Member]:
        name, arg = self._split()
        if name in SELECTORS:
            return SELECTORS[name][1](uow, arg, self.chapters)
        predicate = FILTERS[name][1]
        if name == "coordinators":
            # A chapter's coordinators may live elsewhere: chosen by their grant, not their home.
            return [m for m in uow.members.list() if predicate(uow, m, ",".join(self.chapters))]
        pool = (
            [m for code in self.chapters for m in uow.members.list(chapter=code)]
            if self.chapters
            else uow.members.list()
        )
        return [m for m in pool if predicate(uow, m, arg)]
