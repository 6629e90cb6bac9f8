"""`python manage.py generate_dids --dids 1000000`: a realistic inventory at scale."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from dids.generator import generate_inventory


class Command(BaseCommand):
    help = (
        "Add resellers, end users, devices, dial plans, providers and N DIDs in every status "
        "(COPY on PostgreSQL). Repeatable: each run adds new accounts and numbers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dids", type=int, required=True, help="how many DIDs to add")
        parser.add_argument("--resellers", type=int, default=20)
        parser.add_argument("--users", type=int, default=2000, help="end users to create")
        parser.add_argument("--seed", type=int, default=1, help="random seed (repeatable data)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, dids: int, resellers: int, users: int, seed: int, **options) -> None:
        if dids < 0 or resellers < 0 or users < 0:
            raise CommandError("--dids, --resellers and --users must be zero or more.")
        with tqdm(
            total=dids, unit=" DIDs", disable=options["no_progress"], file=self.stderr._out
        ) as bar:
            added = generate_inventory(
                dids=dids, resellers=resellers, users=users, seed=seed, advance=bar.update
            )
        self.stdout.write(self.style.SUCCESS(f"Added {added} DIDs."))
