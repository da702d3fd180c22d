"""The ``twinbot`` command: run, console, database, member and survey administration."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from pydantic_settings import SettingsError

from adapters import logs
from adapters.app import ROLES, serve
from adapters.bootstrap import App, bootstrap
from adapters.console.runner import run_interactive, run_script
from adapters.console.session import ConsoleSession
from adapters.ops.health import health_command
from adapters.ops.metrics import PrometheusTelemetry
from bot import member_admin
from bot.demo import seed_demo
from bot.member_csv import CsvProblems
from bot.members import Role
from bot.surveys import admin as survey_admin
from bot.surveys.definition import SurveyFileError, load_survey_file
from bot.telemetry import NO_TELEMETRY
from config import ConfigError, Settings, load_settings
from config.settings import CONFIG_DIR
from storage.backup import BackupError, backup, restore
from storage.migrate import SchemaOutOfDate, require_head, upgrade

DEMO_MEMBERS = CONFIG_DIR / "demo_members.csv"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twinbot", description="A chat assistant for twinning networks.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the configured adapters (the console when no token is set)")
    run.add_argument(
        "--role",
        choices=["all", *ROLES],
        default="all",
        help="what this process does (default: all). Several processes share one PostgreSQL database: "
        "adapters and relays scale out, one scheduler leads and the others stand by",
    )
    console = sub.add_parser("console", help="chat with the bot in this terminal")
    console.add_argument("--user", default="visitor", help="who you are in the console (default: visitor)")
    console.add_argument("--script", type=Path, help="replay a script of 'name: text' lines")
    console.add_argument("--locale", help="the locale hint the console sends, e.g. fr")
    sub.add_parser("backup", help="copy the SQLite database to FILE (safe while the bot runs)").add_argument(
        "file", type=Path
    )
    sub.add_parser(
        "restore", help="replace the SQLite database with the backup FILE (stop the bot first)"
    ).add_argument("file", type=Path)
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="create or upgrade the schema to the latest version")
    health = sub.add_parser("health", help="check the deployment (exit code 0 when healthy, 1 when not)")
    health.add_argument("--url", help="ask a running process instead, e.g. http://127.0.0.1:9100 (its /healthz)")
    members = sub.add_parser("members", help="import or export members").add_subparsers(
        dest="members_command", required=True
    )
    members.add_parser("import", help="import members from CSV (all or nothing)").add_argument("file", type=Path)
    members.add_parser("export", help="export every member to CSV").add_argument("file", type=Path)
    grant = sub.add_parser("grant", help="give a member a role")
    grant.add_argument("role", choices=[r.value for r in Role])
    grant.add_argument("member", help="member id, platform:user_id, or exact display name")
    grant.add_argument("--chapter", help="chapter code; without it the role is network-wide")
    surveys = sub.add_parser("surveys", help="load, list and export surveys").add_subparsers(
        dest="surveys_command", required=True
    )
    load = surveys.add_parser("load", help="load a survey file (TOML or YAML); it opens at its opening time")
    load.add_argument("file", type=Path)
    load.add_argument("--check", action="store_true", help="only check the file; store nothing")
    export = surveys.add_parser("export", help="write every response of a survey to a CSV file")
    export.add_argument("id", type=int)
    export.add_argument("file", type=Path)
    surveys.add_parser("list", help="the latest surveys")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"twinbot: {exc}", file=sys.stderr)
        return 2
    except SettingsError as exc:  # e.g. a TWINBOT_* variable that should hold JSON does not
        print(f"twinbot: configuration error: {exc}", file=sys.stderr)
        return 2
    secrets = [s.get_secret_value() for s in (settings.telegram_token, settings.discord_token) if s]
    secrets += [settings.telegram_webhook_secret.get_secret_value()] if settings.telegram_webhook_secret else []
    fields = {"role": args.role} if args.command == "run" else {}  # which process of a deployment
    logs.configure(settings.log_level, secrets, fmt=settings.log_format, fields=fields)
    try:
        return _dispatch(args, settings)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a refused token, an unreachable database, an unwritable file...
        logging.getLogger("twinbot").debug("stopped by an error", exc_info=exc)  # redacted by logs
        print(f"twinbot: {type(exc).__name__}: {logs.redact(str(exc), secrets)}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command in ("backup", "restore"):
        try:
            if args.command == "backup":
                backup(settings.database_url, args.file)
            else:
                restore(settings.database_url, args.file)
                upgrade(settings.database_url)  # a backup from an older version is brought up to date
        except BackupError as exc:
            print(f"twinbot: {exc}", file=sys.stderr)
            return 1
        print(f"backed up to {args.file}" if args.command == "backup" else f"restored from {args.file}")
        return 0
    if args.command == "health":
        return health_command(settings, args.url, sys.stdout)
    if args.command == "db":
        upgrade(settings.database_url)
        print("database is at the latest schema")
        return 0
    if args.command == "run" and args.role != "all":
        return _run_role(settings, frozenset({args.role}))
    migrate = args.command != "run" or settings.migrate_on_start
    if not migrate:
        try:
            require_head(settings.database_url)
        except SchemaOutOfDate as exc:
            print(f"twinbot: {exc}", file=sys.stderr)
            return 2
    telemetry = _telemetry(settings, "all") if args.command == "run" else None
    app = bootstrap(settings, migrate=migrate, telemetry=telemetry or NO_TELEMETRY)
    if telemetry is not None:
        telemetry.watch_outbox(app.engine)
    try:
        if args.command == "run":
            return _run(app)
        if args.command == "console":
            return _console(app, args.user, args.script, args.locale)
        if args.command == "members":
            return _members(app, args.members_command, args.file)
        if args.command == "surveys":
            return _surveys(app, args)
        return _grant(app, Role(args.role), args.member, args.chapter)
    finally:
        if telemetry is not None:
            telemetry.close()
        app.close()


def _telemetry(settings: Settings, role: str) -> PrometheusTelemetry | None:
    """Metrics for /metrics when the health endpoint is configured."""
    return PrometheusTelemetry(role=role) if settings.health_listen else None


def _run(app: App) -> int:
    return asyncio.run(_run_async(app))


def _run_role(settings: Settings, roles: frozenset[str]) -> int:
    """One role of a deployment: never migrates (``twinbot db upgrade`` does, once), never
    seeds the demo, never opens the console."""
    try:
        require_head(settings.database_url)
    except SchemaOutOfDate as exc:
        print(f"twinbot: {exc}", file=sys.stderr)
        return 2
    if roles & {"adapters", "relay"} and not (settings.telegram_token or settings.discord_token):
        role = next(iter(roles))
        print(f"twinbot: --role {role} needs TWINBOT_TELEGRAM_TOKEN or TWINBOT_DISCORD_TOKEN", file=sys.stderr)
        return 2
    telemetry = _telemetry(settings, ",".join(sorted(roles)))
    app = bootstrap(settings, migrate=False, telemetry=telemetry or NO_TELEMETRY)
    if telemetry is not None:
        telemetry.watch_outbox(app.engine)
    try:
        print(f"twinbot is running as {', '.join(sorted(roles))}; stop it with Ctrl-C.", flush=True)
        return asyncio.run(serve(app, None, roles=roles))
    finally:
        if telemetry is not None:
            telemetry.close()
        app.close()


async def _run_async(app: App) -> int:
    if app.settings.seed_demo:
        with app.uow_factory() as uow:
            added = seed_demo(uow, app.network, DEMO_MEMBERS)
        if added:
            print(f"Seeded the demo network: {added} members in {', '.join(c.name for c in app.network.chapters)}.")
    platforms = [
        name
        for name, token in (("Telegram", app.settings.telegram_token), ("Discord", app.settings.discord_token))
        if token
    ]
    if platforms:
        print(f"twinbot is running on {' and '.join(platforms)}; stop it with Ctrl-C.")
        return await serve(app, None)
    print(
        "Demo members you can be: claire (coordinator, Lyon), marie, jonas, yuki, lucia — "
        "in another terminal run `.venv/bin/twinbot console --user claire`."
    )
    return await serve(app, lambda session, drain: run_interactive(session, "visitor", after_line=drain))


def _console(app: App, user: str, script: Path | None, locale: str | None) -> int:
    if script is None:

        async def front(session: ConsoleSession, drain: Callable[[], Awaitable[None]]) -> int:
            session.locale = locale
            return await run_interactive(session, user, after_line=drain)

        return asyncio.run(serve(app, front, platforms=False))
    try:
        lines = script.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        print(f"twinbot: cannot read {script}: {exc.strerror}", file=sys.stderr)
        return 2

    async def replay(session: ConsoleSession, drain: Callable[[], Awaitable[None]]) -> int:
        session.locale = locale
        return await run_script(session, lines, after_line=drain)

    # A script is a reproducible transcript: no background scheduler.
    return asyncio.run(serve(app, replay, scheduler_enabled=False, platforms=False))


def _members(app: App, action: str, path: Path) -> int:
    if action == "export":
        with app.uow_factory() as uow:
            path.write_text(member_admin.export_members(uow), encoding="utf-8")
        print(f"exported to {path}")
        return 0
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"twinbot: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    try:
        with app.uow_factory() as uow:
            count = member_admin.import_members(uow, text, app.network)
    except CsvProblems as exc:
        print(f"twinbot: {path}: nothing imported; fix these rows:", file=sys.stderr)
        for line, reason in exc.problems:
            print(f"  line {line}: {reason}", file=sys.stderr)
        return 1
    print(f"imported {count} members")
    return 0


def _surveys(app: App, args: argparse.Namespace) -> int:
    with app.uow_factory() as uow:
        if args.surveys_command == "list":
            print("\n".join(survey_admin.listing(uow, app.network)) or "no surveys yet")
            return 0
        if args.surveys_command == "export":
            try:
                data = survey_admin.export(
                    uow, app.network, args.id, app.network.default_language, app.settings.network.survey_min_group
                )
            except (survey_admin.SurveyNotFound, survey_admin.TooFewResponses) as exc:
                print(f"twinbot: {exc}", file=sys.stderr)
                return 1
            args.file.write_bytes(data)
            print(f"exported survey {args.id} to {args.file}")
            return 0
        now = app.core.services.clock()
        try:
            survey = load_survey_file(args.file, app.network, now)
        except SurveyFileError as exc:
            print(f"twinbot: {args.file}: nothing loaded; fix these problems:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        if args.check:
            print(f"{args.file}: a valid survey with {len(survey.questions)} questions")
            return 0
        survey, invited = survey_admin.load(uow, app.network, app.core.services.catalogs, survey, now)
        uow.commit()
    when = (
        f"{invited} members invited"
        if survey.opens_at is None or survey.opens_at <= now
        else (f"opens at {survey.opens_at.isoformat(timespec='minutes')}")
    )
    print(f"loaded survey {survey.id} ({len(survey.questions)} questions): {when}")
    return 0


def _grant(app: App, role: Role, query: str, chapter: str | None) -> int:
    try:
        with app.uow_factory() as uow:
            member, added = member_admin.grant(uow, role, query, chapter, app.network)
    except member_admin.MemberNotFound as exc:
        print(f"twinbot: {exc}", file=sys.stderr)
        return 1
    where = f" in {chapter}" if chapter else " network-wide"
    state = "granted" if added else "already had"
    print(f"{member.display_name} (id {member.id}) {state} {role.value}{where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
