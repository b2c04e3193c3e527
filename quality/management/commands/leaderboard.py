import json

from django.core.management.base import BaseCommand, CommandError

from labeling.models import Project
from quality.figure_models import FigureSnapshot
from quality.figures import figures_compute

COLUMNS = ("rank", "model", "rating", "95% interval", "comparisons", "wins/ties/losses", "thumbs-up share")


def _cells(entry: dict) -> list[str]:
    rated = entry["rating"] is not None
    share = entry["thumbs_up_share"]
    return [
        str(entry["rank"]) if rated else "-",
        entry["model"],
        f"{entry['rating']:.1f}" if rated else "-",
        f"{entry['rating_lower']:.1f} – {entry['rating_upper']:.1f}" if rated else "-",
        str(entry["comparisons"]),
        f"{entry['wins']}/{entry['ties']}/{entry['losses']}",
        f"{share:.1%} ({entry['thumbs_up']}/{entry['thumbs_down']})" if share is not None else "no votes",
    ]


class Command(BaseCommand):
    help = (
        "Compute a project's leaderboard now (Bradley–Terry ratings with 95 % bootstrap intervals, ties as half a "
        "win), store it for its page, and print it."
    )

    def add_arguments(self, parser):
        parser.add_argument("project", help="project slug")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args, project: str, format: str, **options):
        found = Project.objects.filter(slug=project).first()
        if found is None:
            slugs = ", ".join(Project.objects.order_by("slug").values_list("slug", flat=True)) or "none"
            raise CommandError(f"No project with the slug {project!r}; the projects are: {slugs}.")
        snapshot = figures_compute(project_id=found.pk, kind=FigureSnapshot.Kind.LEADERBOARD)
        data = snapshot.data
        if format == "json":
            self.stdout.write(
                json.dumps({"project": found.slug, "computed_at": snapshot.computed_at.isoformat(), **data}, indent=2)
            )
            return
        self.stdout.write(
            f"Leaderboard of {found.name} ({found.slug}), computed {snapshot.computed_at:%Y-%m-%d %H:%M:%S %Z}"
        )
        if not data["comparisons"]:
            self.stdout.write("No comparisons yet: no judgement has compared candidates of two different models.")
        else:
            self.stdout.write(
                f"{data['comparisons']} comparisons; ties count as half a win; intervals from {data['rounds']} "
                "bootstrap refits."
            )
        rows = [list(COLUMNS), *(_cells(entry) for entry in data["models"])]
        widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
