"""A survey's results as one PNG image, sized to be read on a phone: a header with the
title and turnout, then one panel per question that is not free text.

Drawn with matplotlib's Agg canvas on a standalone ``Figure`` (no pyplot), so no global
state is touched and the figure is freed when this returns. The output is deterministic:
the same results give the same bytes (no timestamp or software version in the metadata).
"""

from __future__ import annotations

import io
import textwrap
import unicodedata
import warnings
from functools import cache

from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import MaxNLocator

from bot.i18n import Translator
from bot.surveys.model import Kind, pick
from bot.surveys.results import QuestionResult, SurveyResults

WIDTH_IN = 6.0
DPI = 150
FONT_SIZE = 11
TITLE_SIZE = 12
HEADER_SIZE = 14
#: Characters per line in panel titles (a wide character, e.g. Japanese, counts as two).
WRAP = 40
#: The same for option labels beside horizontal bars, which share the width with the bars.
LABEL_WRAP = 22

#: Families tried in order, per glyph; only those installed are used, so matplotlib logs no
#: "font family not found" messages. DejaVu Sans (bundled with matplotlib) comes last.
PREFERRED_FONTS = (
    "Noto Sans CJK JP",
    "Noto Sans JP",
    "IPAexGothic",
    "IPAGothic",
    "Hiragino Sans",
    "Yu Gothic",
    "TakaoGothic",
    "Source Han Sans JP",
    "DejaVu Sans",
)

RATING_COLOUR = "#4c72b0"
CHOICE_COLOUR = "#4c72b0"
DETRACTOR_COLOUR = "#d62728"  # NPS 0-6
PASSIVE_COLOUR = "#9e9e9e"  # NPS 7-8
PROMOTER_COLOUR = "#2ca02c"  # NPS 9-10


@cache
def _families() -> tuple[str, ...]:
    installed = {font.name for font in font_manager.fontManager.ttflist}
    found = tuple(name for name in PREFERRED_FONTS if name in installed)
    return found or ("DejaVu Sans",)


def _font(size: int, weight: str = "normal") -> FontProperties:
    return FontProperties(family=list(_families()), size=size, weight=weight)


def _width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def wrap(text: str, width: int = WRAP) -> str:
    """``text`` broken into lines of about ``width`` columns: at spaces where there are
    some, anywhere between wide (CJK) characters, which take two columns each."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        if all(_width(c) == 1 for c in paragraph):
            lines.extend(textwrap.wrap(paragraph, width) or [""])
            continue
        line, used = "", 0
        for char in paragraph:
            w = _width(char)
            if used + w > width and line.strip():
                lines.append(line.rstrip())
                line, used = "", 0
                if char == " ":
                    continue
            line += char
            used += w
        lines.append(line.rstrip())
    return "\n".join(lines)


def _panel_height(result: QuestionResult, title: str) -> float:
    """Inches for one panel: its title lines plus the plot area."""
    title_lines = title.count("\n") + 1
    if not any(result.counts.values()):
        plot = 0.7  # just "no answers yet"
    elif result.question.kind in (Kind.SINGLE, Kind.MULTI):
        bars = max(len(result.question.options), 1)
        plot = 0.5 + 0.45 * bars
    else:
        plot = 1.9
    return plot + 0.24 * title_lines + 0.35


def _empty(ax: Axes, _: Translator) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, _("no answers yet"), ha="center", va="center", fontproperties=_font(FONT_SIZE), color="#555555")


def _scale_panel(ax: Axes, result: QuestionResult) -> None:
    values = list(result.question.kind.scale)
    counts = [result.counts.get(v, 0) for v in values]
    if result.question.kind is Kind.NPS:
        colours = [DETRACTOR_COLOUR if v <= 6 else PASSIVE_COLOUR if v <= 8 else PROMOTER_COLOUR for v in values]
    else:
        colours = [RATING_COLOUR] * len(values)
    bars = ax.bar(values, counts, color=colours, width=0.75)
    ax.bar_label(bars, labels=[str(n) if n else "" for n in counts], fontproperties=_font(FONT_SIZE), padding=2)
    ax.set_xticks(values, [str(v) for v in values])
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(counts) * 1.2)
    ax.tick_params(labelsize=FONT_SIZE)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _choice_panel(ax: Axes, result: QuestionResult, lang: str, default_language: str) -> None:
    options = result.question.options
    positions = list(range(len(options)))
    counts = [result.counts.get(i, 0) for i in positions]
    labels = [wrap(pick(option, [lang], default_language), LABEL_WRAP) for option in options]
    bars = ax.barh(positions, counts, color=CHOICE_COLOUR, height=0.65)
    ax.bar_label(bars, labels=[str(n) for n in counts], fontproperties=_font(FONT_SIZE), padding=3)
    ax.set_yticks(positions, labels, fontproperties=_font(FONT_SIZE))
    ax.invert_yaxis()  # the first option on top
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, max(counts) * 1.15)
    ax.tick_params(labelsize=FONT_SIZE)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _panel_title(result: QuestionResult, _: Translator, lang: str, default_language: str) -> str:
    text = f"{result.index + 1}. {pick(result.question.texts, [lang], default_language)}"
    lines = [wrap(text)]
    if any(result.counts.values()):
        if result.question.kind is Kind.RATING and result.mean is not None:
            lines.append(_("Mean {mean}", mean=f"{result.mean:.1f}"))
        elif result.question.kind is Kind.NPS and result.nps is not None:
            lines.append(_("NPS {score}", score=result.nps.score))
        lines[-1] += " · " + _("{count} answers", count=result.answered)
    return "\n".join(lines)


def _header(results: SurveyResults, _: Translator, lang: str, default_language: str) -> str:
    title = wrap(pick(results.survey.title, [lang], default_language), 34)
    turnout = _(
        "{completed} of {invited} completed ({rate}%)",
        completed=results.completed,
        invited=results.invited,
        rate=round(100 * results.response_rate),
    )
    return f"{title}\n{turnout}"


def render_chart(results: SurveyResults, _: Translator, lang: str, default_language: str) -> bytes:
    """The results as PNG bytes; free-text questions are left out (they are listed in chat
    and in the CSV export). Labels are in ``lang`` through ``_``."""
    shown = [r for r in results.questions if r.question.kind is not Kind.TEXT]
    titles = [_panel_title(r, _, lang, default_language) for r in shown]
    header = _header(results, _, lang, default_language)
    header_height = 0.3 * (header.count("\n") + 1) + 0.4
    heights = [_panel_height(r, t) for r, t in zip(shown, titles, strict=True)]
    fig = Figure(figsize=(WIDTH_IN, header_height + sum(heights)), dpi=DPI, layout="constrained")
    try:
        with warnings.catch_warnings():
            # Glyphs no installed font has (e.g. Japanese without a CJK font) draw as boxes.
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
            FigureCanvasAgg(fig)
            fig.suptitle(header, fontproperties=_font(HEADER_SIZE, "bold"))
            if shown:
                axes = fig.subplots(len(shown), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
                for ax, result, title in zip(axes, shown, titles, strict=True):
                    ax.set_title(title, fontproperties=_font(TITLE_SIZE), loc="left")
                    if not any(result.counts.values()):
                        _empty(ax, _)
                    elif result.question.kind in (Kind.RATING, Kind.NPS):
                        _scale_panel(ax, result)
                    else:
                        _choice_panel(ax, result, lang, default_language)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        return buffer.getvalue()
    finally:
        fig.clear()
