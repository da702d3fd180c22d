"""Answering a survey in chat: one question at a time, with Skip, Back and progress.

Every answer is stored the moment it is given, in the member's response row, which also
remembers the next question: a member who stops (or starts another dialog) continues where
they left off. The dialog state only says which survey and question this chat is on.
"""

from __future__ import annotations

import unicodedata

from bot.context import Context
from bot.dialogs.engine import Dialog, Outcome, Step, advance, button, finish, stay
from bot.dialogs.state import DialogState
from bot.ids import parse_id, parse_small
from bot.private_chat import continue_in_private
from bot.replies import Button, Reply, Text, rows
from bot.surveys.model import MAX_TEXT_ANSWER, Answer, Kind, Question, Response, Survey, SurveyStatus, pick

DIALOG = "survey"
ACTION_PREFIX = "sv"  # sv:start:ID, on invitations, reminders and /surveys


def start_button(ctx: Context, survey: Survey, label: str) -> Button:
    return Button(label, f"{ACTION_PREFIX}:start:{survey.id}")


def title(ctx: Context, survey: Survey) -> str:
    return pick(survey.title, _languages(ctx), ctx.network.default_language)


def _languages(ctx: Context) -> list[str]:
    return [ctx.lang, *(ctx.member.languages if ctx.member else [])]


def on_button(ctx: Context, value: str) -> list[Reply]:
    verb, _, ident = value.partition(":")
    number = parse_id(ident)
    if verb != "start" or number is None:
        return [Text(ctx._("This button is no longer current."))]
    return begin(ctx, number)


def begin(ctx: Context, survey_id: int) -> list[Reply]:
    """Start, or resume, the member's response to a survey they were invited to."""
    if ctx.member is None or ctx.member.id is None:
        return [Text(ctx._("You are not a member yet. Send /start to join."))]
    survey = ctx.uow.surveys.get(survey_id)
    if survey is None or not survey.questions or not ctx.uow.surveys.is_invited(survey_id, ctx.member.id):
        return [Text(ctx._("There is no survey {id} for you.", id=survey_id))]
    refusal = _refusal(ctx, survey)
    if refusal is not None:
        return [refusal]
    if not ctx.chat.private:
        return continue_in_private(ctx, f"surveys {survey_id}")
    anonymous = survey.anonymous
    response = ctx.uow.surveys.start(
        Response(
            survey_id=survey_id,
            token=survey.token(ctx.member.id),
            chapter=ctx.member.home_chapter,
            member_id=None if anonymous else ctx.member.id,
        )
    )
    if response.completed:
        return [Text(ctx._("You have already answered this survey. Thank you!"))]
    position = min(response.position, len(survey.questions) - 1)
    if position == 0:
        notes = [ctx._("{title} — {count} questions.", title=title(ctx, survey), count=len(survey.questions))]
        if anonymous:
            notes.append(ctx._("It is anonymous: your answers are not linked to you."))
        notes.append(ctx._("You can stop at any time and continue later with /surveys."))
        intro = Text("\n".join(notes))
    else:
        intro = Text(ctx._("Welcome back! We continue at question {number}.", number=position + 1))
    return [intro, *ctx.dialogs.start(ctx, DIALOG, step="question", data={"survey": survey_id, "q": position})]


def _refusal(ctx: Context, survey: Survey) -> Text | None:
    if survey.status is SurveyStatus.SCHEDULED:
        return Text(ctx._("This survey is not open yet."))
    if not survey.is_open(ctx.now()):
        return Text(ctx._("This survey is closed, so it takes no more answers. Thank you all the same!"))
    return None


# --- the dialog -----------------------------------------------------------------------------


def _load(ctx: Context, state: DialogState) -> tuple[Survey, Response] | Text:
    """The survey and the member's response, locked; or why the dialog cannot go on."""
    survey = ctx.uow.surveys.get(int(state.data.get("survey", 0)))
    index = int(state.data.get("q", 0))
    if survey is None or ctx.member is None or ctx.member.id is None or not 0 <= index < len(survey.questions):
        return Text(ctx._("This survey no longer exists."))
    refusal = _refusal(ctx, survey)
    if refusal is not None:
        return refusal
    response = ctx.uow.surveys.response(survey.id or 0, survey.token(ctx.member.id), lock=True)
    if response is None or response.completed:
        return Text(ctx._("You have already answered this survey. Thank you!"))
    return survey, response


def _hint(ctx: Context, question: Question) -> str:
    hints = {
        Kind.RATING: ctx._("1 = very poor, 5 = excellent"),
        Kind.NPS: ctx._("0 = not at all likely, 10 = extremely likely"),
        Kind.SINGLE: ctx._("Choose one."),
        Kind.MULTI: ctx._("Choose all that apply, then press Done."),
        Kind.TEXT: ctx._("Write your answer (up to {limit} characters).", limit=MAX_TEXT_ANSWER),
    }
    hint = hints[question.kind]
    optional = ctx._("(optional)")
    return hint if question.required else f"{hint} {optional}"


def _option(ctx: Context, question: Question, index: int) -> str:
    return pick(question.options[index], _languages(ctx), ctx.network.default_language)


def _current(ctx: Context, question: Question, answer: Answer | None) -> str | None:
    if answer is None:
        return None
    if answer.text is not None:
        shown = answer.text if len(answer.text) <= 80 else answer.text[:79] + "…"
    elif question.kind in (Kind.SINGLE, Kind.MULTI):
        shown = ", ".join(_option(ctx, question, v) for v in answer.values if v in question.valid_values()) or "—"
    else:
        shown = ", ".join(str(v) for v in answer.values)
    return ctx._("Your answer so far: {answer}", answer=shown)


def _question_prompt(ctx: Context, state: DialogState) -> Text:
    loaded = _load(ctx, state)
    if isinstance(loaded, Text):
        return loaded
    survey, response = loaded
    index = int(state.data.get("q", 0))
    question = survey.questions[index]
    state.data["kind"] = question.kind.value
    assert response.id is not None
    answer = ctx.uow.surveys.answers(response.id).get(index)
    if question.kind is Kind.MULTI and state.data.get("picked_for") != index:
        state.data["picked"] = list(answer.values) if answer else []
        state.data["picked_for"] = index
    lines = [
        f"{title(ctx, survey)} · {index + 1}/{len(survey.questions)}",
        "",
        pick(question.texts, _languages(ctx), ctx.network.default_language),
        _hint(ctx, question),
    ]
    current = _current(ctx, question, answer)
    if current:
        lines.append(current)
    return Text("\n".join(lines), _buttons(ctx, state, question, index))


def _buttons(ctx: Context, state: DialogState, question: Question, index: int) -> tuple[tuple[Button, ...], ...]:
    layout: list[tuple[Button, ...]] = []
    if question.kind is Kind.RATING:
        layout.append(tuple(button(state, str(v), f"v:{v}") for v in question.kind.scale))
    elif question.kind is Kind.NPS:
        layout += [tuple(button(state, str(v), f"v:{v}") for v in r) for r in (range(0, 6), range(6, 11))]
    elif question.kind is Kind.SINGLE:
        layout += rows(*(button(state, _option(ctx, question, i), f"v:{i}") for i in question.valid_values()))
    elif question.kind is Kind.MULTI:
        picked = set(state.data.get("picked", []))
        toggles = (
            button(state, f"{'✅' if i in picked else '◻️'} {_option(ctx, question, i)}", f"t:{i}")
            for i in question.valid_values()
        )
        layout += rows(*toggles)
        layout.append((button(state, ctx._("Done"), "done"),))
    navigation = []
    if index > 0:
        navigation.append(button(state, ctx._("◀ Back"), "back"))
    if not question.required:
        navigation.append(button(state, ctx._("Skip ▶"), "skip"))
    if navigation:
        layout.append(tuple(navigation))
    return tuple(layout)


def _on_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    loaded = _load(ctx, state)
    if isinstance(loaded, Text):
        return finish(loaded)
    survey, response = loaded
    index = int(state.data.get("q", 0))
    question = survey.questions[index]
    verb, _, text = value.partition(":")
    number = parse_small(text)
    if verb == "back":
        return _move(ctx, state, survey, response, max(index - 1, 0))
    if verb == "skip":
        if question.required:
            return stay(Text(ctx._("This question needs an answer.")))
        ctx.uow.surveys.put_answer(survey.id or 0, response, index, None)
        return _move(ctx, state, survey, response, index + 1)
    if verb == "t" and question.kind is Kind.MULTI and number is not None and number in question.valid_values():
        state.data["picked"] = sorted(set(state.data.get("picked", [])) ^ {number})
        return stay(reprompt=True)
    if verb == "done" and question.kind is Kind.MULTI:
        chosen = sorted(int(v) for v in state.data.get("picked", []))
        if not chosen and question.required:
            return stay(Text(ctx._("Choose at least one, then press Done.")))
        answer = Answer(values=tuple(chosen), multiple=True)
        return _answer(ctx, state, survey, response, index, answer)
    scale_or_single = question.kind in (Kind.RATING, Kind.NPS, Kind.SINGLE)
    if verb == "v" and number is not None and scale_or_single and number in question.valid_values():
        return _answer(ctx, state, survey, response, index, Answer(values=(number,)))
    return stay()


def _on_text(ctx: Context, state: DialogState, text: str) -> Outcome:
    loaded = _load(ctx, state)
    if isinstance(loaded, Text):
        return finish(loaded)
    survey, response = loaded
    index = int(state.data.get("q", 0))
    question = survey.questions[index]
    body = _printable(text).strip()
    typed = parse_small(body)
    if question.kind in (Kind.RATING, Kind.NPS) and typed is not None and typed in question.valid_values():
        return _answer(ctx, state, survey, response, index, Answer(values=(typed,)))
    if question.kind is not Kind.TEXT:
        return stay(Text(ctx._("Please choose one of the buttons above, or send /cancel to stop.")))
    if not body:
        return stay(Text(ctx._("That message was empty.")))
    if len(body) > MAX_TEXT_ANSWER:
        return stay(Text(ctx._("That is longer than {limit} characters. Please shorten it.", limit=MAX_TEXT_ANSWER)))
    priors = ctx.member.languages if ctx.member else []
    language = ctx.services.resolver.detect(body, priors)
    return _answer(ctx, state, survey, response, index, Answer(text=body, language=language))


def _printable(text: str) -> str:
    """Text without control characters (NUL and the like), keeping line breaks and tabs."""
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")


def _answer(
    ctx: Context, state: DialogState, survey: Survey, response: Response, index: int, answer: Answer
) -> Outcome:
    ctx.uow.surveys.put_answer(survey.id or 0, response, index, answer)
    return _move(ctx, state, survey, response, index + 1)


def _move(ctx: Context, state: DialogState, survey: Survey, response: Response, index: int) -> Outcome:
    response.position = index
    if index >= len(survey.questions):
        response.completed = True
        ctx.uow.surveys.save_response(response)
        return finish(Text(ctx._("Thank you! Your answers are saved.")))
    ctx.uow.surveys.save_response(response)
    state.data["q"] = index
    return advance("question")


def _wants_text(ctx: Context, state: DialogState) -> bool:
    """Only a free-text question asks for typing (a number typed for a scale is a shortcut)."""
    return bool(state.data.get("kind") == Kind.TEXT.value)


ANSWERING = Dialog(
    name=DIALOG,
    steps={"question": Step(_question_prompt, on_text=_on_text, on_button=_on_button, wants_text=_wants_text)},
    order=("question",),
)
