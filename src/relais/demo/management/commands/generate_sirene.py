from django.core.management.base import BaseCommand, CommandError

from relais.demo.generator import generate


class Command(BaseCommand):
    help = (
        "Write a synthetic SIRENE StockEtablissement file in INSEE's exact format "
        "(CSV, or a .zip holding it): for the demo, tests and benchmarks."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, required=True)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--out", required=True, help="FILE.csv or FILE.zip")
        parser.add_argument(
            "--departements", default="",
            help="comma-separated départements to draw communes from (default: all)",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, rows, seed, out, departements, no_progress, **options):
        if rows < 0:
            raise CommandError("--rows must be positive")
        deps = [d.strip() for d in departements.split(",") if d.strip()] or None
        try:
            result = generate(out, rows, seed, departements=deps,
                              progress=False if no_progress else None)
        except (ValueError, OSError) as e:
            raise CommandError(str(e)) from None
        self.stdout.write(self.style.SUCCESS(f"wrote {result.rows:,} rows to {result.path}"))
