"""Each chat's running dialog, one row per (platform, chat id)."""

from __future__ import annotations

import copy

from sqlalchemy.orm import Session

from bot.dialogs.state import DialogState
from bot.events import ChatRef
from storage.models import DialogStateRow


class SqlDialogRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, chat: ChatRef) -> DialogState | None:
        row = self._row(chat)
        if row is None:
            return None
        # Copies, so that changing the returned state cannot touch the loaded row.
        return DialogState(row.dialog, row.step, row.seq, copy.deepcopy(row.data))

    def put(self, chat: ChatRef, state: DialogState) -> None:
        row = self._row(chat)
        if row is None:
            row = DialogStateRow(platform=chat.platform, chat_id=chat.chat_id)
            self._session.add(row)
        row.dialog = state.dialog
        row.step = state.step
        row.seq = state.seq
        row.data = copy.deepcopy(state.data)
        self._session.flush()

    def delete(self, chat: ChatRef) -> None:
        row = self._row(chat)
        if row is not None:
            self._session.delete(row)
            self._session.flush()

    def _row(self, chat: ChatRef) -> DialogStateRow | None:
        return self._session.get(DialogStateRow, (chat.platform, chat.chat_id))
