from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Load the demo directory and professional accounts (idempotent)."

    def handle(self, *args, **options):
        self.stdout.write("The demo directory is not built yet: only reference data is loaded.")
