"""``/survey results``: the figures as text, a chart and a CSV file, for the coordinators of
every chapter in the survey's audience, and admins. Who answered what is never shown for an
anonymous survey; chapters below the minimum group size show no figures."""

from __future__ import annotations

from bot.announcements import may_announce
from bot.context import Context
from bot.replies import File, Image, Reply, Text
from bot.surveys import admin
from bot.surveys.model import Kind, Survey, pick
from bot.surveys.results import QuestionResult, SurveyResults, compute

#: Telegram refuses messages over 4096 characters; results are split below that.
CHUNK = 3500


def may_see(ctx: Context, survey: Survey) -> bool:
    return ctx.member is not None and (
        survey.author_id == ctx.member.id or may_announce(ctx.member, ctx.grants, survey.audience)
    )


def _languages(ctx: Context) -> list[str]:
    return [ctx.lang, *(ctx.member.languages if ctx.member else [])]


def status_label(ctx: Context, survey: Survey) -> str:
    labels = {
        "scheduled": ctx._("scheduled"),
        "open": ctx._("open"),
        "closed": ctx._("closed"),
        "template": ctx._("meetup follow-up template"),
    }
    return labels[survey.status.value]


def _question_lines(ctx: Context, result: QuestionResult, total: int) -> list[str]:
    q = result.question
    text = pick(q.texts, _languages(ctx), ctx.network.default_language)
    lines = [f"{result.index + 1}/{total} {text}"]
    if result.answered == 0:
        return [*lines, "   " + ctx._("no answers yet")]
    if q.kind is Kind.RATING and result.mean is not None:
        spread = " · ".join(f"{v}: {n}" for v, n in result.counts.items())
        lines.append("   " + ctx._("mean {mean} ({count} answers)", mean=f"{result.mean:.2f}", count=result.answered))
        lines.append(f"   {spread}")
    elif q.kind is Kind.NPS and result.nps is not None:
        nps = result.nps
        lines.append(
            "   "
            + ctx._(
                "NPS {score:+d}: {promoters} promoters, {passives} passives, {detractors} detractors",
                score=nps.score,
                promoters=nps.promoters,
                passives=nps.passives,
                detractors=nps.detractors,
            )
        )
        if result.mean is not None:
            mean = ctx._("mean {mean} ({count} answers)", mean=f"{result.mean:.1f}", count=result.answered)
            lines.append(f"   {mean}")
    elif q.kind in (Kind.SINGLE, Kind.MULTI):
        lines.append("   " + ctx._("{count} answers", count=result.answered))
        for index, count in sorted(result.counts.items(), key=lambda item: -item[1]):
            label = pick(q.options[index], _languages(ctx), ctx.network.default_language)
            lines.append(f"   • {label}: {count}")
    elif q.kind is Kind.TEXT:
        by_language = ", ".join(f"{lang} {n}" for lang, n in result.languages.items())
        lines.append("   " + ctx._("{count} answers ({languages})", count=result.answered, languages=by_language))
        for body, lang in result.texts:
            shown = body if len(body) <= 200 else body[:199] + "…"
            lines.append(f"   • “{shown}” ({lang or '?'})")
    return lines


def _chapter_lines(ctx: Context, results: SurveyResults) -> list[str]:
    lines = ["", ctx._("By chapter:")]
    for chapter in results.chapters:
        found = ctx.network.chapter(chapter.chapter)
        name = found.name if found else (chapter.chapter or ctx._("no chapter"))
        if chapter.suppressed:
            lines.append(
                "• "
                + ctx._(
                    "{chapter}: {invited} invited; no figures, so that no group of fewer than {minimum} stands out",
                    chapter=name,
                    invited=chapter.invited,
                    minimum=ctx.services.survey_min_group,
                )
            )
            continue
        parts = [
            ctx._(
                "{chapter}: {invited} invited, {completed} completed",
                chapter=name,
                invited=chapter.invited,
                completed=chapter.completed,
            )
        ]
        parts += [f"Q{i + 1} {mean:.2f}" for i, mean in sorted(chapter.means.items())]
        parts += [f"Q{i + 1} NPS {score:+d}" for i, score in sorted(chapter.nps.items())]
        lines.append("• " + " · ".join(parts))
    return lines


def summary(ctx: Context, results: SurveyResults) -> list[str]:
    survey = results.survey
    lines = [
        ctx._(
            "📊 Survey {id}: {title} ({status})",
            id=survey.id,
            title=pick(survey.title, _languages(ctx), ctx.network.default_language),
            status=status_label(ctx, survey),
        ),
        ctx._(
            "Invited {invited} · started {started} · completed {completed} · response rate {rate}%",
            invited=results.invited,
            started=results.started,
            completed=results.completed,
            rate=round(100 * results.response_rate),
        ),
    ]
    if survey.anonymous:
        lines.append(ctx._("Anonymous: answers are not linked to members."))
    if results.too_few(ctx.services.survey_min_group):
        too_few = ctx._(
            "The answers show once at least {minimum} members have completed this anonymous survey.",
            minimum=ctx.services.survey_min_group,
        )
        return [*lines, "", too_few]
    for result in results.questions:
        lines += ["", *_question_lines(ctx, result, len(results.questions))]
    return lines + _chapter_lines(ctx, results)


def _chunks(lines: list[str]) -> list[Text]:
    messages: list[Text] = []
    current: list[str] = []
    for line in lines:
        if current and sum(len(x) + 1 for x in current) + len(line) > CHUNK:
            messages.append(Text("\n".join(current)))
            current = []
        current.append(line[:CHUNK])
    if current:
        messages.append(Text("\n".join(current)))
    return messages


def results_replies(ctx: Context, survey: Survey) -> list[Reply]:
    from bot.surveys.chart import render_chart  # matplotlib loads only when a chart is drawn

    results = compute(ctx.uow, survey, ctx.services.survey_min_group)
    replies: list[Reply] = list(_chunks(summary(ctx, results)))
    if results.too_few(ctx.services.survey_min_group):
        return replies
    chart = render_chart(results, ctx._, ctx.lang, ctx.network.default_language)
    replies.append(Image(f"survey-{survey.id}.png", chart, ctx._("Survey {id} in charts", id=survey.id)))
    replies.append(export_file(ctx, survey))
    return replies


def export_file(ctx: Context, survey: Survey) -> File | Text:
    minimum = ctx.services.survey_min_group
    try:
        data = admin.export(ctx.uow, ctx.network, survey.id or 0, ctx.lang, minimum)
    except admin.TooFewResponses:
        return Text(
            ctx._(
                "The answers show once at least {minimum} members have completed this anonymous survey.",
                minimum=minimum,
            )
        )
    return File(f"survey-{survey.id}.csv", data, "text/csv", ctx._("Survey {id}: every response", id=survey.id))
