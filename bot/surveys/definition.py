"""A satisfaction survey written in a TOML or YAML file, checked against the network: every
mistake is reported at once (at its line, for YAML), and nothing is returned half-loaded."""

from __future__ import annotations

import pathlib
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, cast

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic_core import ErrorDetails, PydanticCustomError, ValidationError
from pydantic_core.core_schema import ValidationInfo

from bot.audience import FILTERS, Audience
from bot.network import Network
from bot.surveys.model import MAX_OPTIONS, MAX_QUESTIONS, Kind, Question, Survey

MAX_REMINDERS = 5
_FORMATS = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}
_DURATION = re.compile(r"\s*(\d+)\s*([dhm])\s*")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
_LIMITS = {"title": 200, "intro": 1000, "text": 500, "options": 60}  # characters per variant
_TOML_POSITION = re.compile(r" \(at (?:line (\d+), column (\d+)|end of document)\)$")
Loc = tuple[int | str, ...]  # a place in the document: keys and item indexes


@dataclass(frozen=True)
class Problem:
    where: str  # "line 12, questions[2].options", "questions[2].options" or "line 3"
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


class SurveyFileError(Exception):
    """The file cannot become a survey; ``problems`` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _error(reason: str) -> PydanticCustomError:
    return PydanticCustomError("survey", "{reason}", {"reason": reason})


def _network(info: ValidationInfo) -> Network:
    return cast(Network, (info.context or {})["network"])


def _language(code: str, info: ValidationInfo) -> str:
    languages = _network(info).languages
    if code not in languages:
        raise _error(f"unknown language {code!r}; this network supports {', '.join(languages)}")
    return code


def _bounded(text: str, info: ValidationInfo) -> str:
    limit = _LIMITS[info.field_name or ""]
    if not text.strip():
        raise _error("must not be empty")
    if len(text) > limit:
        raise _error(f"is {len(text)} characters long; at most {limit} are allowed")
    return text


def _promote(value: Any, info: ValidationInfo) -> Any:
    """A plain string is the text in the default language."""
    if isinstance(value, str):
        return {_network(info).default_language: _bounded(value, info)}
    if not isinstance(value, dict) or not value:
        raise _error("give a text, or a table of language -> text")
    return value


#: A text in one or more languages (a plain string is in the default one), limited per field.
Texts = Annotated[
    dict[Annotated[str, AfterValidator(_language)], Annotated[str, AfterValidator(_bounded)]], BeforeValidator(_promote)
]


def _aware(moment: datetime, info: ValidationInfo) -> datetime:
    (info.context or {})["moments"][info.field_name] = moment  # for the window check, naive or not
    if moment.utcoffset() is None:
        raise _error("give a UTC offset, e.g. +01:00")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise _error("is out of range") from None


MAX_REMINDER = timedelta(days=365)


def _duration(value: Any) -> timedelta:
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _error('write a duration such as "2d", "6h" or "30m"')
    if int(match[1]) <= 0:
        raise _error("must be more than zero")
    duration = timedelta(**{_UNITS[match[2]]: int(match[1])}) if len(match[1]) <= 6 else timedelta.max
    if duration > MAX_REMINDER:
        raise _error("must be at most 365 days")
    return duration


def _chapter(code: str, info: ValidationInfo) -> str:
    network = _network(info)
    if network.chapter(code) is None:
        known = ", ".join(c.code for c in network.chapters)
        raise _error(f"unknown chapter {code!r}; the chapters are {known}")
    return code


def _filter(name: str, info: ValidationInfo) -> str:
    network = _network(info)
    if Audience(filter=name).is_valid(network):
        return name
    if name.partition(":")[0] == "lang":
        raise _error(f"unknown language in {name!r}; this network supports {', '.join(network.languages)}")
    raise _error(f"unknown filter {name!r}; use one of {', '.join('lang:xx' if f == 'lang' else f for f in FILTERS)}")


Moment = Annotated[datetime, AfterValidator(_aware)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _AudienceSpec(_Spec):
    chapters: list[Annotated[str, AfterValidator(_chapter)]] = Field(default_factory=list)
    filter: Annotated[str, AfterValidator(_filter)] = "all"


class _QuestionSpec(_Spec):
    kind: Kind
    text: Texts
    required: bool = True
    options: list[Texts] | None = Field(default=None, validate_default=True)

    @field_validator("options", mode="before")
    @classmethod
    def _options_fit_kind(cls, value: Any, info: ValidationInfo) -> Any:
        kind = info.data.get("kind")  # absent when the kind itself is wrong
        if kind in (Kind.SINGLE, Kind.MULTI):
            if value is None or (isinstance(value, list) and not 2 <= len(value) <= MAX_OPTIONS):
                raise _error(f"a {kind} question needs 2 to {MAX_OPTIONS} options")
        elif kind is not None and value is not None:
            raise _error(f"a {kind} question takes no options (only single and multi do)")
        return value


class _SurveySpec(_Spec):
    title: Texts
    intro: Texts | None = None
    anonymous: bool = False
    opens_at: Moment | None = None
    closes_at: Moment | None = None
    reminders: list[Annotated[timedelta, BeforeValidator(_duration)]] = Field(default_factory=list)
    audience: _AudienceSpec = Field(default_factory=_AudienceSpec)
    questions: list[_QuestionSpec]

    @field_validator("reminders")
    @classmethod
    def _reminders_fit(cls, reminders: list[timedelta], info: ValidationInfo) -> list[timedelta]:
        if len(reminders) > MAX_REMINDERS:
            raise _error(f"at most {MAX_REMINDERS} reminders")
        if reminders and "closes_at" in info.data and info.data["closes_at"] is None:
            raise _error("reminders count back from closes_at, which is not set")
        return reminders

    @field_validator("questions", mode="before")
    @classmethod
    def _question_count(cls, questions: Any) -> Any:
        if isinstance(questions, list) and not 1 <= len(questions) <= MAX_QUESTIONS:
            raise _error(f"give 1 to {MAX_QUESTIONS} questions")
        return questions


def _path(loc: Loc) -> str:
    out = ""
    for part, after in zip(loc, (*loc[1:], None), strict=False):
        if part != "[key]":
            out += f"[{part}]" if type(part) is int and after != "[key]" else f".{part}" if out else str(part)
    return out or "file"


def _reason(error: ErrorDetails) -> str:
    loc = error["loc"]
    if error["type"] == "missing":
        return "is required"
    if error["type"] == "extra_forbidden":
        nested: dict[str, type[_Spec]] = {"audience": _AudienceSpec, "questions": _QuestionSpec}
        model = nested.get(str(loc[0]), _SurveySpec) if len(loc) > 1 else _SurveySpec
        return f"unknown key; expected one of {', '.join(model.model_fields)}"
    if error["type"] == "string_type" and loc[-1] == "[key]":
        return "a language code is text: quote it (YAML reads no, yes, on and off as true or false)"
    if error["type"] in ("model_type", "dict_type"):
        return "should be a table of keys and values"
    return error["msg"]


def _yaml_line(root: yaml.Node | None, loc: Loc) -> int | None:
    """The 1-based line of the key or item ``loc`` names (of its closest parent when it is missing)."""
    node, line = root, root.start_mark.line if root else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if found is None:
                break
            line, node = found[0].start_mark.line, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return None if line is None else line + 1


def _load(text: str, fmt: str) -> Any:
    """The parsed document; a syntax error is a problem at its line."""
    if fmt == "toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:  # "... (at line 3, column 7)" or "(at end of document)"
            match = _TOML_POSITION.search(str(exc))
            line = match[1] if match and match[1] else str(max(len(text.splitlines()), 1))
            column = f" (column {match[2]})" if match and match[2] else ""
            reason = str(exc)[: match.start() if match else None]
            raise SurveyFileError([Problem(f"line {line}", reason + column)]) from None
    if fmt == "yaml":
        try:
            return yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            reason = ", ".join(filter(None, (exc.context, exc.problem))) or str(exc)
            where = f"line {mark.line + 1}" if mark else "file"
            raise SurveyFileError([Problem(where, reason + (f" (column {mark.column + 1})" if mark else ""))]) from None
        except yaml.YAMLError as exc:
            raise SurveyFileError([Problem("file", str(exc))]) from None
    raise SurveyFileError([Problem("file", f"unknown format {fmt!r}; use toml or yaml")])


def _window(moments: dict[str, datetime], now: datetime) -> list[tuple[Loc, str]]:
    """Whether closes_at follows opens_at and now; a naive time is taken at each extreme UTC
    offset (-12:00, +14:00) so that only a certain mistake is reported besides its missing offset."""
    earliest = {k: m if m.tzinfo else m.replace(tzinfo=UTC) - timedelta(hours=14) for k, m in moments.items()}
    latest = {k: m if m.tzinfo else m.replace(tzinfo=UTC) + timedelta(hours=12) for k, m in moments.items()}
    if "closes_at" in latest and "opens_at" in earliest and latest["closes_at"] <= earliest["opens_at"]:
        return [(("closes_at",), "must be after opens_at")]
    if "closes_at" in latest and latest["closes_at"] <= now:
        return [(("closes_at",), "is already past")]
    return []


def _located(text: str, fmt: str, found: list[tuple[Loc, str]]) -> list[Problem]:
    if fmt != "yaml":  # in the order of the keys
        order = list(_SurveySpec.model_fields)
        found.sort(key=lambda entry: order.index(str(entry[0][0])) if entry[0] and entry[0][0] in order else 0)
        return [Problem(_path(loc), reason) for loc, reason in found]
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    lines = [(_yaml_line(root, loc), loc, reason) for loc, reason in found]
    lines.sort(key=lambda entry: entry[0] or 0)
    return [Problem(f"line {n}, {_path(loc)}" if n else _path(loc), reason) for n, loc, reason in lines]


def parse_survey(text: str, fmt: str, network: Network, now: datetime) -> Survey:
    """The survey ``text`` (``fmt`` "toml" or "yaml") describes, scheduled, created ``now``.
    Raises SurveyFileError with every problem found."""
    data = _load(text, fmt)
    moments: dict[str, datetime] = {}
    spec: _SurveySpec | None = None
    try:
        spec = _SurveySpec.model_validate(data, context={"network": network, "moments": moments})
        found: list[tuple[Loc, str]] = []
    except ValidationError as exc:
        found = [(e["loc"], _reason(e)) for e in exc.errors(include_url=False)]
    found += _window(moments, now)
    if found or spec is None:
        raise SurveyFileError(_located(text, fmt, found))
    return Survey(
        title=spec.title,
        questions=tuple(Question(q.kind, q.text, tuple(q.options or ()), q.required) for q in spec.questions),
        audience=Audience(chapters=tuple(spec.audience.chapters), filter=spec.audience.filter),
        created_at=now,
        anonymous=spec.anonymous,
        opens_at=spec.opens_at,
        closes_at=spec.closes_at,
        reminders=tuple(spec.reminders),
        intro=spec.intro or {},
    )


def load_survey_file(path: pathlib.Path, network: Network, now: datetime) -> Survey:
    """The survey in ``path`` (UTF-8; .toml, .yaml or .yml). Raises SurveyFileError."""
    problems: list[Problem] = []
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        problems.append(Problem(path.name, "unknown file type; name it *.toml, *.yaml or *.yml"))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SurveyFileError([*problems, Problem(path.name, f"cannot be read: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark, as some editors write, is not a mistake
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.append(Problem(f"line {line}", f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8"))
    if problems or fmt is None:
        raise SurveyFileError(problems)
    return parse_survey(text, fmt, network, now)
