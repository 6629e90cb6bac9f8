"""`python manage.py release_closed_dids`: release closed DIDs past their date (run from cron)."""

from django.core.management.base import BaseCommand

from dids.services import dids_release_expired


class Command(BaseCommand):
    help = "Make every closed DID whose 'reserved for user till' has passed free again."

    def handle(self, *args, **options) -> None:
        released = dids_release_expired()
        self.stdout.write(f"Released {released} closed DID{'s' if released != 1 else ''}.")
