"""`python manage.py demo`: a portal a newcomer can sign in to, one account per role."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from accounts.api_hash import api_hash
from accounts.models import User
from dids.generator import generate_inventory
from dids.scenario import load_scenario

DEMO_SCENARIO = Path(settings.BASE_DIR) / "portal" / "demo" / "demo.json"


class Command(BaseCommand):
    help = (
        "Load the demo: an account per role (credentials printed), API settings, and a few "
        "thousand realistic DIDs in every status. Leaves an existing database alone unless "
        "--replace is given (which deletes all portal data)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dids", type=int, default=3000, help="generated DIDs (default 3000)")
        parser.add_argument(
            "--replace", action="store_true", help="delete all portal data and load the demo"
        )
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="scheme and host the portal is served on, for the printed URLs "
            "(default http://127.0.0.1:8000; ./run demo passes its address)",
        )

    def handle(self, *args, dids: int, replace: bool, base_url: str, **options) -> None:
        if User.objects.exists() and not replace:
            self.stdout.write(
                "The database already has accounts: demo not loaded again "
                "(use --replace to delete everything and start over)."
            )
        else:
            scenario = json.loads(DEMO_SCENARIO.read_text(encoding="utf-8"))
            load_scenario(scenario, replace=replace)
            with tqdm(total=dids, unit=" DIDs", file=self.stderr._out) as bar:
                generate_inventory(
                    dids=dids,
                    resellers=4,
                    users=120,
                    seed=7,
                    existing_resellers=[User.objects.get(username="reseller")],
                    advance=bar.update,
                )
        self.print_credentials(base_url.rstrip("/"))

    def print_credentials(self, base_url: str) -> None:
        scenario = json.loads(DEMO_SCENARIO.read_text(encoding="utf-8"))
        self.stdout.write(self.style.SUCCESS(f"\nDemo accounts (sign in at {base_url}/login/):"))
        for account in scenario["users"]:
            if "password" not in account:
                continue
            self.stdout.write(
                f"  {account['role']:<11} {account['username']:<11} {account['password']:<22}"
                + ("(accountant without Manage DIDs)" if account["username"] == "clerk" else "")
            )
        secret = scenario["api_settings"][0]["api_secret_key"]
        self.stdout.write(
            self.style.SUCCESS("\nTry the API (GET is allowed in the demo's system settings):")
        )
        # Ready to paste into a browser or curl: the scheme and host it is served on.
        self.stdout.write(
            f"  {base_url}/billing/api/dids_get?u=admin&search_status=free&max_results=5"
            f"&hash={api_hash({}, secret)}"
        )
