"""`python manage.py load_scenario FILE [--replace]`: a whole set-up in one transaction."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dids.scenario import ScenarioError, load_scenario


class Command(BaseCommand):
    help = (
        "Load a scenario file (settings, groups, accounts, providers, devices, dial plans, "
        "DIDs) in one transaction. Ids in the file become primary keys."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the scenario, a JSON object")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="delete all portal data (settings, groups, accounts, DIDs, …) first",
        )

    def handle(self, *args, file: Path, replace: bool, **options) -> None:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"{file}: cannot read ({error.strerror})") from None
        except UnicodeDecodeError:
            raise CommandError(f"{file}: not UTF-8 text") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise CommandError(
                f"{file}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
            ) from None
        try:
            summary = load_scenario(data, replace=replace, progress=self.stdout.write)
        except ScenarioError as error:
            raise CommandError(f"{file}: {error}. Nothing was written.") from None
        self.stdout.write(self.style.SUCCESS(f"Loaded {file}: {summary}."))
