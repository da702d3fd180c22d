"""The ``twinbot`` command as an operator runs it: a real subprocess on a real SQLite file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def twinbot(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


SCRIPT = """\
# marie joins in French, then looks at her profile
marie: Bonjour ! Je voudrais rejoindre le réseau de jumelage.
marie: /start
marie: [Français]
marie: [J’accepte]
marie: Marie Dubois
marie: [Lyon]

marie: [Français]
marie: [Terminé]
marie: [Passer]
marie: [Europe/Paris]
marie: [Mentoré(e)]
marie: [Pas de préférence]
marie: [Terminé]
marie: /profile
"""


def test_script_onboards_a_french_member(env: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "marie.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    result = twinbot(env, "console", "--script", str(script))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "→ marie: Bonjour ! Je suis l’assistant" in out.replace("\u00a0", " ")
    assert "[English] [Français] [Deutsch] [Español] [日本語]" in out
    assert "→ marie: 👤 Marie Dubois" in out
    assert "Antenne de rattachement\u00a0: Lyon" in out
    assert "Traceback" not in out + result.stderr


def test_unknown_label_names_those_on_offer(env: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "bad.txt"
    script.write_text("ana: /start\nana: [Klingon]\nana: /help\n", encoding="utf-8")
    result = twinbot(env, "console", "--script", str(script))
    assert result.returncode == 1
    assert "line 2: ana has no button [Klingon]; on offer: [English] [Français]" in result.stderr


def test_interactive_console_ends_cleanly_at_end_of_input(env: dict[str, str]) -> None:
    result = twinbot(env, "console", "--user", "zoe", stdin="/start\n1\n")
    assert result.returncode == 0, result.stderr
    assert "1) [English]" in result.stdout
    assert "Do you agree?" in result.stdout


def test_run_seeds_the_demo_network_once(env: dict[str, str]) -> None:
    first = twinbot(env, "run", stdin="/help\n")
    assert first.returncode == 0, first.stderr
    assert "Seeded the demo network: 5 members" in first.stdout
    second = twinbot(env, "run", stdin="")
    assert "Seeded" not in second.stdout


def test_members_import_is_all_or_nothing(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "display_name,home_chapter,languages,consent_at,identities\n"
        "Ok Person,lyon,fr,2026-01-01T00:00:00+00:00,telegram:1\n"
        "Bad Chapter,paris,fr,2026-01-01T00:00:00+00:00,telegram:2\n"
        "No Consent,lyon,fr,,telegram:3\n"
        "Bad Lang,lyon,xx,2026-01-01T00:00:00+00:00,telegram:4\n"
        "Same Person,lyon,fr,2026-01-01T00:00:00+00:00,telegram:1\n",
        encoding="utf-8",
    )
    result = twinbot(env, "members", "import", str(bad))
    assert result.returncode == 1
    assert "line 3: home_chapter 'paris' is not one of lyon, frankfurt, yokohama" in result.stderr
    assert "line 4: consent_at is required" in result.stderr
    assert "line 5: languages ['xx'] not supported" in result.stderr
    assert "line 6: identity telegram:1 also on line 2" in result.stderr
    export = tmp_path / "out.csv"
    assert twinbot(env, "members", "export", str(export)).returncode == 0
    assert export.read_text(encoding="utf-8").count("\n") == 1  # the header only: nothing was imported


def test_import_export_grant_round_trip(env: dict[str, str], tmp_path: Path) -> None:
    source = ROOT / "config" / "demo_members.csv"
    assert twinbot(env, "members", "import", str(source)).returncode == 0
    again = twinbot(env, "members", "import", str(source))
    assert again.returncode == 1 and "already belongs to a member" in again.stderr
    granted = twinbot(env, "grant", "coordinator", "console:jonas", "--chapter", "frankfurt")
    assert granted.returncode == 0 and "Jonas Weber" in granted.stdout and "granted" in granted.stdout
    unknown = twinbot(env, "grant", "admin", "Nobody Here")
    assert unknown.returncode == 1 and "no member matching 'Nobody Here'" in unknown.stderr
    export = tmp_path / "out.csv"
    assert twinbot(env, "members", "export", str(export)).returncode == 0
    text = export.read_text(encoding="utf-8")
    assert "coordinator@frankfurt" in text and "console:yuki" in text and "Lucía García" in text
    # what export writes, import reads (on a fresh database)
    env2 = dict(env, TWINBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'other.db'}")
    assert twinbot(env2, "members", "import", str(export)).returncode == 0


def test_malformed_config_names_the_key(env: dict[str, str], tmp_path: Path) -> None:
    Path(env["TWINBOT_CONFIG"]).write_text(
        '[[chapters]]\ncode = "lyon"\nname = "Lyon"\ntime_zone = "Europe/Pari"\nlanguages = ["fr"]\n',
        encoding="utf-8",
    )
    result = twinbot(env, "db", "upgrade")
    assert result.returncode == 2
    assert "chapters.0.time_zone: unknown time zone 'Europe/Pari'" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_toml_is_reported(env: dict[str, str]) -> None:
    Path(env["TWINBOT_CONFIG"]).write_text("database_url = \n", encoding="utf-8")
    result = twinbot(env, "db", "upgrade")
    assert result.returncode == 2 and "not valid TOML" in result.stderr and "Traceback" not in result.stderr


def test_secret_token_never_printed(env: dict[str, str], tmp_path: Path) -> None:
    env = dict(env, TWINBOT_TELEGRAM_TOKEN="123456:SECRET-TOKEN-VALUE", TWINBOT_LOG_LEVEL="DEBUG")
    script = tmp_path / "s.txt"
    script.write_text("ana: /help\nana: /frobnicate\n", encoding="utf-8")
    result = twinbot(env, "console", "--script", str(script))
    assert result.returncode == 0
    assert "SECRET-TOKEN-VALUE" not in result.stdout + result.stderr


ANNOUNCE_SCRIPT = """\
claire: /announce
claire: [Français]
claire: Apéro de rentrée jeudi à 19 h, place Sathonay !
claire: [Ajouter une traduction]
claire: [English]
claire: Welcome-back drinks on Thursday at 7 pm, place Sathonay!
claire: [Continuer]
claire: [Lyon]
claire: [tous les membres]
claire: [Maintenant]
claire: [Envoyer]
"""


def test_announcement_is_relayed_to_each_member_in_their_language(env: dict[str, str], tmp_path: Path) -> None:
    assert twinbot(env, "members", "import", str(ROOT / "config" / "demo_members.csv")).returncode == 0
    script = tmp_path / "announce.txt"
    script.write_text(ANNOUNCE_SCRIPT, encoding="utf-8")
    result = twinbot(env, "console", "--script", str(script))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "→ marie: 📣" in out and "Apéro de rentrée" in out.split("→ marie: 📣", 1)[1].split("\n→", 1)[0]
    lucia = out.split("→ lucia: 📣", 1)[1].split("\n→", 1)[0]
    assert "Welcome-back drinks" not in lucia or "Apéro" in lucia  # Spanish speaker: her languages es, fr, en
    assert "→ jonas:" not in out  # Frankfurt is not in the audience
    status = tmp_path / "status.txt"
    status.write_text("claire: /announce status 1\n", encoding="utf-8")
    report = twinbot(env, "console", "--script", str(status))
    assert "console: envoyés 3" in report.stdout.replace("envoyé ", "envoyés ").replace("\u202f", " ")


BAD_SURVEY = """\
title = ""
anonymous = "perhaps"

[audience]
chapters = ["paris"]

[[questions]]
kind = "stars"
text = "How was it?"

[[questions]]
kind = "rating"
text = "And the food?"
options = ["good", "bad"]
"""


def test_survey_file_load_list_and_export(env: dict[str, str], tmp_path: Path) -> None:
    example = ROOT / "config" / "surveys" / "example.yaml"
    assert twinbot(env, "members", "import", str(ROOT / "config" / "demo_members.csv")).returncode == 0
    checked = twinbot(env, "surveys", "load", "--check", str(example))
    assert checked.returncode == 0, checked.stderr
    assert "a valid survey with 6 questions" in checked.stdout
    assert "no surveys yet" in twinbot(env, "surveys", "list").stdout  # --check stored nothing

    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_SURVEY, encoding="utf-8")
    refused = twinbot(env, "surveys", "load", str(bad))
    assert refused.returncode == 1
    assert "nothing loaded" in refused.stderr
    for where in ("title", "anonymous", "audience.chapters[0]", "questions[0].kind", "questions[1].options"):
        assert f"\n  {where}: " in refused.stderr, (where, refused.stderr)
    assert "Traceback" not in refused.stderr
    assert "no surveys yet" in twinbot(env, "surveys", "list").stdout  # nothing half-loaded

    loaded = twinbot(env, "surveys", "load", str(example))
    assert loaded.returncode == 0, loaded.stderr
    assert "loaded survey 1 (6 questions)" in loaded.stdout
    assert "#1\t" in twinbot(env, "surveys", "list").stdout
    out = tmp_path / "survey.csv"
    exported = twinbot(env, "surveys", "export", "1", str(out))
    # The example is anonymous: no answers leave before 5 members have completed it.
    assert exported.returncode == 1 and "answers show once 5 members completed it" in exported.stderr
    assert not out.exists()
    missing = twinbot(env, "surveys", "export", "99", str(out))
    assert missing.returncode == 1 and "there is no survey 99" in missing.stderr


def test_backup_and_restore_of_the_sqlite_database(env: dict[str, str], tmp_path: Path) -> None:
    assert twinbot(env, "members", "import", str(ROOT / "config" / "demo_members.csv")).returncode == 0
    saved = tmp_path / "backup.db"
    done = twinbot(env, "backup", str(saved))
    assert done.returncode == 0 and saved.is_file(), done.stderr
    assert "exists already" in twinbot(env, "backup", str(saved)).stderr  # never overwritten
    (tmp_path / "data" / "bot.db").unlink()  # the database is lost
    assert twinbot(env, "restore", str(saved)).returncode == 0
    exported = tmp_path / "members.csv"
    assert twinbot(env, "members", "export", str(exported)).returncode == 0
    assert exported.read_text(encoding="utf-8").count("\n") == 1 + 5  # header and the five demo members
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all")
    refused = twinbot(env, "restore", str(junk))
    assert refused.returncode == 1 and "not a SQLite database" in refused.stderr
    pg = {**env, "TWINBOT_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/test"}
    assert "pg_dump" in twinbot(pg, "backup", str(tmp_path / "x.db")).stderr
