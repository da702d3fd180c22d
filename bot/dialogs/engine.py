"""The dialog engine: a dialog is a table of steps; its state is stored per chat.

A step turns (state, input) into an Outcome. The engine stores the new state in the same
unit of work as everything else the step changed, so a restart or another process continues
the conversation where it stopped. Buttons carry the state's ``seq``: a press on a button of
an older prompt, or a second press on the same one, is recognised as stale and changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.dialogs.state import DialogState
from bot.ids import parse_id
from bot.replies import Button, Reply, Text

if TYPE_CHECKING:
    from bot.context import Context

ACTION_PREFIX = "d"
#: Keys of ``DialogState.data`` that belong to the chat, not to one dialog: a visitor's chosen
#: or detected language outlives the dialog it was learnt in.
CHAT_KEYS = ("lang", "detected")


def _chat_memory(state: DialogState | None) -> dict[str, object]:
    return {k: state.data[k] for k in CHAT_KEYS if state is not None and k in state.data}


@dataclass(frozen=True)
class Outcome:
    """What a step decided.

    - ``advance``: go to ``goto`` (or the next step in order) and show its prompt;
    - ``finish``: end the dialog, then show ``replies`` and the dialog's closing replies;
    - neither: stay on this step and show ``replies`` (e.g. a validation message);
      with ``reprompt`` the step's prompt is shown again with fresh buttons.
    """

    replies: tuple[Reply, ...] = ()
    advance: bool = False
    goto: str | None = None
    finish: bool = False
    reprompt: bool = False


def advance(goto: str | None = None) -> Outcome:
    return Outcome(advance=True, goto=goto)


def finish(*replies: Reply) -> Outcome:
    return Outcome(replies=replies, finish=True)


def stay(*replies: Reply, reprompt: bool = False) -> Outcome:
    return Outcome(replies=replies, reprompt=reprompt)


Prompt = Callable[["Context", DialogState], Text]
TextHandler = Callable[["Context", DialogState, str], Outcome]
ButtonHandler = Callable[["Context", DialogState, str], Outcome]


@dataclass(frozen=True)
class Step:
    prompt: Prompt
    on_text: TextHandler | None = None
    on_button: ButtonHandler | None = None
    #: Whether the prompt asks for typed text (platforms then offer a form); by default,
    #: whenever the step takes text. A step that also reads typed shortcuts says so here.
    wants_text: Callable[[Context, DialogState], bool] | None = None


@dataclass(frozen=True)
class Dialog:
    name: str
    steps: dict[str, Step]
    order: tuple[str, ...]
    on_finish: Callable[[Context, DialogState], list[Reply]] = field(default=lambda ctx, state: [])

    def after(self, step: str) -> str | None:
        index = self.order.index(step) if step in self.order else len(self.order)
        return self.order[index + 1] if index + 1 < len(self.order) else None


def button(state: DialogState, label: str, value: str) -> Button:
    """A button answering the prompt of ``state``; stale once the state moves on."""
    return Button(label, f"{ACTION_PREFIX}:{state.seq}:{value}")


def parse_action(action: str) -> tuple[int, str] | None:
    """``d:12:yes`` -> (12, "yes"); None if it is not a dialog action."""
    prefix, _, rest = action.partition(":")
    seq, _, value = rest.partition(":")
    number = parse_id(seq)
    if prefix != ACTION_PREFIX or number is None:
        return None
    return number, value


class DialogEngine:
    def __init__(self, dialogs: list[Dialog]) -> None:
        self._dialogs = {d.name: d for d in dialogs}

    def active(self, state: DialogState | None) -> DialogState | None:
        """The state if a known dialog is running, else None."""
        if state is None or state.dialog not in self._dialogs:
            return None
        return state

    def start(
        self,
        ctx: Context,
        name: str,
        *,
        step: str | None = None,
        data: dict[str, object] | None = None,
    ) -> list[Reply]:
        dialog = self._dialogs[name]
        previous = ctx.uow.dialogs.get(ctx.chat)
        state = DialogState(
            dialog=name,
            step=step or dialog.order[0],
            seq=previous.seq if previous else 0,
            data={**_chat_memory(previous), **(data or {})},
        )
        return self._enter(ctx, state)

    def end(self, ctx: Context, state: DialogState) -> None:
        """Stop the dialog but keep the counter, so its old buttons stay stale."""
        idle = DialogState(dialog="", step="", seq=state.seq + 1, data=_chat_memory(state))
        ctx.uow.dialogs.put(ctx.chat, idle)

    def on_text(self, ctx: Context, state: DialogState, text: str) -> list[Reply]:
        step = self._step(state)
        if step.on_text is None:
            return [Text(ctx._("Please choose one of the buttons above, or send /cancel to stop."))]
        return self._apply(ctx, state, step.on_text(ctx, state, text))

    def on_button(self, ctx: Context, state: DialogState, seq: int, value: str) -> list[Reply] | None:
        """Apply a button press; None if the button is stale."""
        step = self._step(state)
        if seq != state.seq or step.on_button is None:
            return None
        return self._apply(ctx, state, step.on_button(ctx, state, value))

    def _step(self, state: DialogState) -> Step:
        return self._dialogs[state.dialog].steps[state.step]

    def _enter(self, ctx: Context, state: DialogState) -> list[Reply]:
        state.seq += 1
        step = self._step(state)
        prompt = step.prompt(ctx, state)  # a prompt may initialise state.data
        ctx.uow.dialogs.put(ctx.chat, state)
        wants_text = step.wants_text(ctx, state) if step.wants_text else step.on_text is not None
        return [dataclasses.replace(prompt, expects_text=wants_text)]

    def _apply(self, ctx: Context, state: DialogState, outcome: Outcome) -> list[Reply]:
        dialog = self._dialogs[state.dialog]
        replies: list[Reply] = list(outcome.replies)
        if outcome.finish:
            self.end(ctx, state)
            return replies + dialog.on_finish(ctx, state)
        if outcome.advance:
            following = outcome.goto or dialog.after(state.step)
            if following is None:
                self.end(ctx, state)
                return replies + dialog.on_finish(ctx, state)
            state.step = following
            return replies + self._enter(ctx, state)
        if outcome.reprompt:
            prompt = self._enter(ctx, state)
            return replies + [dataclasses.replace(r, replace=True) for r in prompt if isinstance(r, Text)]
        ctx.uow.dialogs.put(ctx.chat, state)
        return replies
