"""Each chat's running dialog, one row per (platform, chat id)."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.dialogs.state import DialogState
from bot.events import ChatRef
from storage.models import DialogStateRow, utcnow

_dialogs: Table = DialogStateRow.__table__  # type: ignore[assignment]
_KEY = (_dialogs.c.platform == bindparam("b_platform"), _dialogs.c.chat_id == bindparam("b_chat_id"))

# Every event reads its chat's state and most write it: prepared once, one statement each.
# FOR UPDATE: two events of one chat handled at once (a double click) take turns, so the
# second sees the first's new seq and is stale (SQLite's writers take turns anyway).
_GET = select(_dialogs.c.dialog, _dialogs.c.step, _dialogs.c.seq, _dialogs.c.data).where(*_KEY).with_for_update()
_DELETE = delete(_dialogs).where(*_KEY)


def _upsert(dialect: Any) -> Any:
    insert = dialect.insert(_dialogs)
    return insert.on_conflict_do_update(
        index_elements=[_dialogs.c.platform, _dialogs.c.chat_id],
        set_={
            "dialog": insert.excluded.dialog,
            "step": insert.excluded.step,
            "seq": insert.excluded.seq,
            "data": insert.excluded.data,
            "updated_at": insert.excluded.updated_at,
        },
    )


_PUT = {"sqlite": _upsert(sqlite), "postgresql": _upsert(postgresql)}


class SqlDialogRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, chat: ChatRef) -> DialogState | None:
        row = self._session.connection().execute(_GET, {"b_platform": chat.platform, "b_chat_id": chat.chat_id}).first()
        if row is None:
            return None
        # Copies, so that changing the returned state cannot touch anything cached.
        return DialogState(row.dialog, row.step, row.seq, copy.deepcopy(row.data))

    def put(self, chat: ChatRef, state: DialogState) -> None:
        statement = _PUT[self._session.get_bind().dialect.name]
        self._session.connection().execute(
            statement,
            {
                "platform": chat.platform,
                "chat_id": chat.chat_id,
                "dialog": state.dialog,
                "step": state.step,
                "seq": state.seq,
                "data": copy.deepcopy(state.data),
                "updated_at": utcnow(),
            },
        )

    def delete(self, chat: ChatRef) -> None:
        self._session.connection().execute(_DELETE, {"b_platform": chat.platform, "b_chat_id": chat.chat_id})
