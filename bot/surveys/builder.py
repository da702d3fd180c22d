"""``/survey new``: a simple survey written in chat, in the coordinator's language (a file
loaded with ``twinbot surveys load`` can do more: translations, open and close times)."""

from __future__ import annotations

from datetime import timedelta

from bot.announce import allowed_scopes, scope_step
from bot.audience import Audience
from bot.context import Context
from bot.dialogs.engine import Dialog, Outcome, Step, advance, button, finish, stay
from bot.dialogs.state import DialogState
from bot.replies import Text, rows
from bot.surveys.answering import title as survey_title
from bot.surveys.dispatch import open_survey
from bot.surveys.model import MAX_OPTIONS, MAX_QUESTIONS, Kind, Question, Survey, SurveyStatus

DIALOG = "survey-new"
MAX_TITLE = 200
MAX_QUESTION = 500
MAX_OPTION = 60
CLOSE_IN_DAYS = (3, 7, 14)


def _title_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(ctx._("What is the survey's title?"))


def _title_text(ctx: Context, state: DialogState, text: str) -> Outcome:
    body = " ".join(text.split())
    if not body or len(body) > MAX_TITLE:
        return stay(Text(ctx._("Please send a title of 1 to {limit} characters.", limit=MAX_TITLE)))
    state.data["title"] = body
    state.data["questions"] = []
    return advance("kind")


def _kind_labels(ctx: Context) -> dict[str, str]:
    return {
        Kind.RATING.value: ctx._("Rating 1–5"),
        Kind.NPS.value: ctx._("Recommend 0–10 (NPS)"),
        Kind.SINGLE.value: ctx._("One choice"),
        Kind.MULTI.value: ctx._("Several choices"),
        Kind.TEXT.value: ctx._("Free text"),
    }


def _kind_prompt(ctx: Context, state: DialogState) -> Text:
    number = len(state.data.get("questions", [])) + 1
    buttons = [button(state, label, kind) for kind, label in _kind_labels(ctx).items()]
    return Text(ctx._("Question {number}: what kind of answer?", number=number), rows(*buttons))


def _kind_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value not in _kind_labels(ctx):
        return stay()
    state.data["current"] = {"kind": value}
    return advance("question")


def _question_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(ctx._("Send the question (up to {limit} characters).", limit=MAX_QUESTION))


def _question_text(ctx: Context, state: DialogState, text: str) -> Outcome:
    body = text.strip()
    if not body or len(body) > MAX_QUESTION:
        return stay(Text(ctx._("Please send a question of 1 to {limit} characters.", limit=MAX_QUESTION)))
    current = dict(state.data.get("current", {}))
    current["texts"] = {ctx.lang: body}
    state.data["current"] = current
    choice = current.get("kind") in (Kind.SINGLE.value, Kind.MULTI.value)
    return advance("options" if choice else "required")


def _options_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(
        ctx._(
            "Send the options, one per line (2 to {most}, each up to {limit} characters).",
            most=MAX_OPTIONS,
            limit=MAX_OPTION,
        )
    )


def _options_text(ctx: Context, state: DialogState, text: str) -> Outcome:
    options = [line.strip() for line in text.splitlines() if line.strip()]
    if len(options) == 1 and ";" in options[0]:
        options = [part.strip() for part in options[0].split(";") if part.strip()]
    if not 2 <= len(options) <= MAX_OPTIONS or any(len(o) > MAX_OPTION for o in options):
        return stay(Text(ctx._("Please send 2 to {most} options, one per line.", most=MAX_OPTIONS)))
    if len(set(options)) != len(options):
        return stay(Text(ctx._("Two options are the same. Please send them again.")))
    current = dict(state.data.get("current", {}))
    current["options"] = [{ctx.lang: o} for o in options]
    state.data["current"] = current
    return advance("required")


def _required_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(
        ctx._("Must members answer it?"),
        rows(button(state, ctx._("Required"), "yes"), button(state, ctx._("Optional"), "no")),
    )


def _required_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value not in ("yes", "no"):
        return stay()
    current = dict(state.data.pop("current", {}))
    question = Question(
        kind=Kind(current["kind"]),
        texts=dict(current["texts"]),
        options=tuple(current.get("options", ())),
        required=value == "yes",
    )
    state.data["questions"] = [*state.data.get("questions", []), question.to_json()]
    return advance("more")


def _more_prompt(ctx: Context, state: DialogState) -> Text:
    count = len(state.data.get("questions", []))
    buttons = [button(state, ctx._("Continue"), "continue")]
    if count < MAX_QUESTIONS:
        buttons.insert(0, button(state, ctx._("Add a question"), "more"))
    return Text(ctx._("The survey has {count} questions.", count=count), rows(*buttons))


def _more_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value == "more" and len(state.data.get("questions", [])) < MAX_QUESTIONS:
        return advance("kind")
    return advance("anonymous") if value == "continue" else stay()


def _anonymous_prompt(ctx: Context, state: DialogState) -> Text:
    return Text(
        ctx._("Anonymous answers, or linked to each member?"),
        rows(button(state, ctx._("Anonymous"), "yes"), button(state, ctx._("Linked to members"), "no")),
    )


def _anonymous_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value not in ("yes", "no"):
        return stay()
    state.data["anonymous"] = value == "yes"
    return advance("scope")


def _closes_prompt(ctx: Context, state: DialogState) -> Text:
    buttons = [button(state, ctx._("in {days} days", days=days), str(days)) for days in CLOSE_IN_DAYS]
    buttons.append(button(state, ctx._("when I close it"), "0"))
    return Text(ctx._("When does it close?"), rows(*buttons))


def _closes_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value not in {"0", *(str(d) for d in CLOSE_IN_DAYS)}:
        return stay()
    state.data["days"] = int(value)
    return advance("preview")


def _draft(ctx: Context, state: DialogState) -> Survey:
    scope = state.data.get("scope", "*")
    days = int(state.data.get("days", 0))
    now = ctx.now()
    return Survey(
        title={ctx.lang: state.data.get("title", "")},
        questions=tuple(Question.from_json(q) for q in state.data.get("questions", [])),
        audience=Audience(chapters=() if scope == "*" else (scope,)),
        created_at=now,
        status=SurveyStatus.SCHEDULED,
        anonymous=bool(state.data.get("anonymous")),
        closes_at=now + timedelta(days=days) if days else None,
        # One reminder, two days before the close (one day for a three-day survey).
        reminders=(timedelta(days=2 if days > 3 else 1),) if days else (),
        author_id=ctx.member.id if ctx.member else None,
    )


def _preview_prompt(ctx: Context, state: DialogState) -> Text:
    draft = _draft(ctx, state)
    count = sum(1 for m in draft.audience.members(ctx.uow) if not m.announcements_muted)
    lines = [ctx._("Preview:"), "", survey_title(ctx, draft)]
    lines += [f"{i + 1}. {q.texts.get(ctx.lang, '')}" for i, q in enumerate(draft.questions)]
    lines += [
        "",
        ctx._(
            "Audience: {audience} — {count} members",
            audience=draft.audience.describe(ctx._, ctx.network),
            count=count,
        ),
    ]
    if draft.anonymous:
        lines.append(ctx._("Anonymous: answers are not linked to members."))
    choices = [button(state, ctx._("Send"), "send"), button(state, ctx._("Cancel"), "cancel")]
    choices.append(button(state, ctx._("Use for meetup follow-ups"), "template"))
    return Text("\n".join(lines), rows(*choices))


def _preview_button(ctx: Context, state: DialogState, value: str) -> Outcome:
    if value == "cancel":
        return finish(Text(ctx._("Cancelled. Nothing was sent.")))
    if value not in ("send", "template"):
        return stay()
    if state.data.get("scope", "*") not in allowed_scopes(ctx):  # roles may have changed meanwhile
        return finish(Text(ctx._("You cannot announce to that audience.")))
    if value == "template":
        return _save_template(ctx, state)
    survey = ctx.uow.surveys.add(_draft(ctx, state))
    invited = open_survey(ctx.uow, ctx.network, ctx.services.catalogs, survey, ctx.now())
    details = {"survey": survey.id, "audience": survey.audience.to_json(), "questions": len(survey.questions)}
    ctx.uow.audit.record(ctx.member.id if ctx.member else None, "survey.create", details, invited, ctx.now())
    return finish(
        Text(
            ctx._(
                "Survey {id} is on its way to {count} members. /survey results {id} shows the answers so far.",
                id=survey.id,
                count=invited,
            )
        )
    )


def _save_template(ctx: Context, state: DialogState) -> Outcome:
    """Keep the survey, unsent, as what every meetup sends to those who checked in (its
    audience and close date are set per meetup)."""
    draft = _draft(ctx, state)
    draft.status = SurveyStatus.TEMPLATE
    draft.closes_at, draft.reminders = None, ()
    survey = ctx.uow.surveys.add(draft)
    details = {"survey": survey.id, "questions": len(survey.questions)}
    ctx.uow.audit.record(ctx.member.id if ctx.member else None, "survey.template", details, None, ctx.now())
    return finish(Text(ctx._("Saved. From now on meetups send this survey to those who checked in.")))


BUILDER = Dialog(
    name=DIALOG,
    steps={
        "title": Step(_title_prompt, on_text=_title_text),
        "kind": Step(_kind_prompt, on_button=_kind_button),
        "question": Step(_question_prompt, on_text=_question_text),
        "options": Step(_options_prompt, on_text=_options_text),
        "required": Step(_required_prompt, on_button=_required_button),
        "more": Step(_more_prompt, on_button=_more_button),
        "anonymous": Step(_anonymous_prompt, on_button=_anonymous_button),
        "scope": scope_step("closes"),
        "closes": Step(_closes_prompt, on_button=_closes_button),
        "preview": Step(_preview_prompt, on_button=_preview_button),
    },
    order=("title", "kind", "question", "options", "required", "more", "anonymous", "scope", "closes", "preview"),
)
