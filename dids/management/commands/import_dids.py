"""`python manage.py import_dids FILE [--dry-run] [--as USERNAME]`: a CSV import of any
size (the page takes up to dids.imports.GUI_MAX_ROWS rows), with a progress bar."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from accounts.models import User
from dids.imports import COMMAND_MAX_BYTES, ImportRefused, check_size, run_import


class Command(BaseCommand):
    help = (
        "Import DIDs from a CSV file (the format of the DIDs list's CSV export; see "
        "docs/gui.md). The whole file is checked first; each row is then created, "
        "updated, left unchanged or rejected with its reason, through the same services "
        "as the pages (history source: import)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV file")
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would happen; write nothing"
        )
        parser.add_argument(
            "--as",
            dest="username",
            help="the account the import acts as, with its rights (default: the system "
            "administrator)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, file: str, dry_run: bool, username: str | None, **options) -> None:
        actor = self._actor(username)
        try:
            check_size(os.path.getsize(file), COMMAND_MAX_BYTES)
            with (
                open(file, "rb") as source,
                tqdm(
                    unit=" rows",
                    disable=options["no_progress"],
                    file=self.stderr._out,
                    desc="Dry run" if dry_run else "Import",
                ) as bar,
            ):
                report = run_import(
                    source,
                    actor=actor,
                    apply=not dry_run,
                    keep_rows=False,
                    progress=lambda done, total: advance(bar, done, total),
                )
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        except ImportRefused as refused:
            raise CommandError(f"{refused.message} Nothing was written.") from None
        for row in report.rows:
            why = row.reason or row.error
            self.stdout.write(f"line {row.line}, DID {row.number or '(none)'}: {why}")
        self.stdout.write(self.style.SUCCESS(report.summary()))

    def _actor(self, username: str | None) -> User:
        if username is None:
            actor = User.objects.system_administrator()
            if actor is None:
                raise CommandError("There is no system administrator: give --as USERNAME.")
            return actor
        actor = User.objects.filter(username=username).first()
        if actor is None:
            raise CommandError(f"No account is named {username!r}.")
        if not actor.may_manage_dids:
            raise CommandError(f"{username} may not change DIDs.")
        return actor


def advance(bar: tqdm, done: int, total: int) -> None:
    if bar.total != total:
        bar.total = total
    bar.update(done)
