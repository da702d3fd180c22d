"""``/surveys`` for members (the surveys they were invited to) and ``/survey`` for
coordinators (new, list, results, export, close)."""

from __future__ import annotations

from bot.announce import allowed_scopes
from bot.context import Context
from bot.ids import parse_id
from bot.replies import Button, Reply, Text
from bot.surveys import answering, builder, report
from bot.surveys.dispatch import close_survey
from bot.surveys.model import Survey, SurveyStatus

USAGE = "/survey new, /survey list, /survey results ID, /survey export ID, /survey close ID"


def member_command(ctx: Context, args: str) -> list[Reply]:
    """``/surveys``: open surveys to answer (or continue); ``/surveys ID`` starts one."""
    number = parse_id(args)
    if number is not None:
        return answering.begin(ctx, number)
    assert ctx.member is not None and ctx.member.id is not None
    now = ctx.now()
    lines: list[str] = []
    buttons: list[tuple[Button, ...]] = []
    for survey_id in ctx.uow.surveys.invited_surveys(ctx.member.id):
        survey = ctx.uow.surveys.get(survey_id)
        if survey is None or not survey.is_open(now):
            continue
        if len(buttons) >= 20:
            break
        response = ctx.uow.surveys.response(survey_id, survey.token(ctx.member.id))
        name = answering.title(ctx, survey)
        if response is not None and response.completed:
            lines.append(ctx._("✅ {title}: answered, thank you", title=name))
            continue
        state = ctx._("started") if response is not None else ctx._("not started")
        lines.append(f"• {name} ({state})")
        buttons.append((answering.start_button(ctx, survey, name[:40]),))
    if not lines:
        return [Text(ctx._("There are no open surveys for you right now."))]
    return [Text("\n".join([ctx._("Your open surveys:"), *lines]), tuple(buttons))]


def coordinator_command(ctx: Context, args: str) -> list[Reply]:
    if not allowed_scopes(ctx):
        return [Text(ctx._("This command is for coordinators."))]
    verb, _, rest = args.strip().partition(" ")
    verb = verb.lower()
    if verb == "new":
        return ctx.dialogs.start(ctx, builder.DIALOG)
    if verb in ("", "list"):
        return _list(ctx)
    if verb in ("results", "export", "close"):
        survey = _visible(ctx, rest.strip())
        if survey is None:
            return [Text(ctx._("There is no survey {id} that you can see.", id=rest.strip()[:12] or "?"))]
        if verb == "results":
            return report.results_replies(ctx, survey)
        if verb == "export":
            return [report.export_file(ctx, survey)]
        return _close(ctx, survey)
    return [Text(ctx._("Use {usage}.", usage=USAGE))]


def _visible(ctx: Context, ident: str) -> Survey | None:
    number = parse_id(ident)
    if number is None:
        return None
    survey = ctx.uow.surveys.get(number)
    return survey if survey is not None and report.may_see(ctx, survey) else None


def _list(ctx: Context) -> list[Reply]:
    surveys = [s for s in ctx.uow.surveys.recent(50) if report.may_see(ctx, s)][:15]
    if not surveys:
        return [Text(ctx._("There are no surveys yet. /survey new creates one."))]
    lines = [ctx._("Surveys:")]
    for survey in surveys:
        lines.append(
            ctx._(
                "#{id} · {title} · {status} · {invited} invited",
                id=survey.id,
                title=answering.title(ctx, survey),
                status=report.status_label(ctx, survey),
                invited=survey.invited,
            )
        )
    lines.append(ctx._("/survey results ID shows the results."))
    return [Text("\n".join(lines))]


def _close(ctx: Context, survey: Survey) -> list[Reply]:
    if survey.status in (SurveyStatus.CLOSED, SurveyStatus.TEMPLATE):
        return [Text(ctx._("Survey {id} is closed already.", id=survey.id))]
    close_survey(ctx.uow, survey)
    actor = ctx.member.id if ctx.member else None
    ctx.uow.audit.record(actor, "survey.close", {"survey": survey.id}, None, ctx.now())
    return [Text(ctx._("Survey {id} is closed; it takes no more answers.", id=survey.id))]
