"""The Oxen dataset contract: table schemas and the dataset card (README.md) that describes them."""

import pyarrow as pa

TABLES = ("votes", "preferences", "reviews", "text_dpo", "annotators", "leaderboard")

_TIMESTAMP = pa.timestamp("us", tz="UTC")
_PROVENANCE = [
    ("project", pa.string(), "project slug"),
    ("annotator", pa.string(), "pseudonymous id of the person (never a name or email)"),
    ("gold", pa.bool_(), "the task is a gold (control) item with a known answer"),
    ("excluded", pa.bool_(), "the person was excluded by a manager when the row was written (see annotators)"),
    ("created_at", _TIMESTAMP, "when the judgement was first made (UTC)"),
    ("updated_at", _TIMESTAMP, "when it last changed (UTC); newest wins"),
]

# Per table: (column, type, description). The first column is the row's stable id.
COLUMNS: dict[str, list[tuple[str, pa.DataType, str]]] = {
    "votes": [
        ("id", pa.int64(), "vote id"),
        ("prompt", pa.string(), "the prompt"),
        ("path", pa.string(), "repo-relative image path (empty for text answers)"),
        ("response", pa.string(), "the answer text, for votes on LLM answers"),
        ("rating", pa.string(), '"good", "bad", or "withdrawn" (a published vote taken back)'),
        ("candidate_uid", pa.string(), "id of the judged output"),
        ("model", pa.string(), "model that made the output"),
        ("seed", pa.int64(), "generation seed"),
        ("steps", pa.int64(), "diffusion steps"),
        ("guidance", pa.float64(), "guidance scale"),
        *_PROVENANCE,
    ],
    "preferences": [
        ("id", pa.string(), "pair id: <preference_id>:<uid of jpg_0>:<uid of jpg_1>, or <preference_id>:none"),
        ("preference_id", pa.int64(), "the judgement the pair comes from"),
        ("caption", pa.string(), "the prompt"),
        ("jpg_0", pa.string(), "repo-relative path of the first image (empty: the judgement gives no pair now)"),
        ("jpg_1", pa.string(), "repo-relative path of the second image"),
        ("label_0", pa.float64(), "1: jpg_0 preferred, 0: jpg_1 preferred, 0.5: tie"),
        ("choice", pa.string(), '"best", "tie", or "all_bad" (on a row without a pair)'),
        ("model", pa.string(), "model that made the images"),
        ("seed_0", pa.int64(), "seed of jpg_0"),
        ("seed_1", pa.int64(), "seed of jpg_1"),
        ("steps", pa.int64(), "diffusion steps"),
        ("guidance", pa.float64(), "guidance scale"),
        *_PROVENANCE,
    ],
    "reviews": [
        ("id", pa.int64(), "review id"),
        ("prompt", pa.string(), "the prompt"),
        ("response", pa.string(), "the LLM answer as the reviewer saw it"),
        ("final", pa.string(), "the answer after review (the correction, if any)"),
        ("decision", pa.string(), '"accept", "correct" or "reject"'),
        ("confidence", pa.float64(), "the answer's confidence score, 0–1"),
        ("reason", pa.string(), "the reviewer's note"),
        ("candidate_uid", pa.string(), "id of the reviewed answer"),
        ("model", pa.string(), "model that wrote the answer"),
        *_PROVENANCE,
    ],
    "text_dpo": [
        ("id", pa.string(), "review:<review id>, preference:<preference id>:<uid of rejected> or :none"),
        ("prompt", pa.string(), "the prompt"),
        ("chosen", pa.string(), "the preferred answer (a correction, or the picked answer); empty: no pair now"),
        ("rejected", pa.string(), "the answer it was preferred over"),
        ("source", pa.string(), '"correction" or "preference"'),
        ("source_id", pa.int64(), "the review or preference id"),
        ("model", pa.string(), "model that wrote the answer"),
        *_PROVENANCE,
    ],
    "annotators": [
        ("id", pa.string(), "<project>:<annotator>"),
        ("project", pa.string(), "project slug"),
        ("annotator", pa.string(), "pseudonymous id of the person, as in the other tables"),
        ("judgements", pa.int64(), "votes (not withdrawn), picks and reviews in the project"),
        ("gold_accuracy", pa.float64(), "share of gold judgements that match the expected answer"),
        ("gold_items", pa.int64(), "gold judgements behind gold_accuracy"),
        ("agreement", pa.float64(), "share of the person's 👍/👎 that match the others' majority on the item"),
        ("agreement_items", pa.int64(), "votes behind agreement (items where the others have a majority)"),
        ("pick_agreement", pa.float64(), "share of pairs with others on a task picking alike (a tie vs a pick: half)"),
        ("pick_agreement_items", pa.int64(), "picks behind pick_agreement"),
        ("review_agreement", pa.float64(), "share of pairs with other reviewers deciding alike"),
        ("review_agreement_items", pa.int64(), "reviews behind review_agreement"),
        ("excluded", pa.bool_(), "a manager excluded this person's judgements; drop their rows"),
        ("updated_at", _TIMESTAMP, "when these figures were taken (the export); newest wins"),
    ],
    "leaderboard": [
        ("id", pa.string(), "<project>:<model>"),
        ("project", pa.string(), "project slug (an arena: several models per task, the model hidden from annotators)"),
        ("model", pa.string(), "the model as the arena names it"),
        ("rank", pa.int64(), "1 for the best rated; empty for a model without comparisons"),
        ("rating", pa.float64(), "Bradley–Terry rating on the Elo scale (1000 + 400·log10(e)·strength, centred)"),
        ("rating_lower", pa.float64(), "lower end of the 95 % bootstrap interval"),
        ("rating_upper", pa.float64(), "upper end of the 95 % bootstrap interval"),
        ("comparisons", pa.int64(), "comparisons with other models (pick-best of N: N−1; a tie: every pair)"),
        ("wins", pa.int64(), "comparisons won"),
        ("ties", pa.int64(), "comparisons tied (each counts as half a win)"),
        ("losses", pa.int64(), "comparisons lost"),
        ("thumbs_up", pa.int64(), "👍 votes on the model's outputs"),
        ("thumbs_down", pa.int64(), "👎 votes on the model's outputs"),
        ("updated_at", _TIMESTAMP, "when these figures were computed (UTC); newest wins"),
    ],
}

SCHEMAS = {table: pa.schema([(name, kind) for name, kind, _ in columns]) for table, columns in COLUMNS.items()}

# Columns holding repo-relative image paths, and the Oxen render metadata that shows them as thumbnails on the hub.
IMAGE_COLUMNS = {"votes": ["path"], "preferences": ["jpg_0", "jpg_1"]}
IMAGE_RENDER_METADATA = '{"_oxen": {"render": {"func": "image"}}}'


def leaderboard_section(leaderboards: list[tuple[str, list[dict], object]]) -> list[str]:
    """The card's leaderboard section: (project slug, its leaderboard entries, when computed) per arena."""
    lines = ["## Leaderboard", ""]
    if not leaderboards:
        return [*lines, "No arena project has a leaderboard in this dataset yet.", ""]
    lines += [
        "Arena projects give each task candidates from several models, hidden from annotators and shuffled on",
        "screen. Bradley–Terry ratings (Elo scale, ties as half a win, pick-best of N as N−1 comparisons), with 95 %",
        "bootstrap intervals; excluded annotators are left out. The `leaderboard` table holds every version.",
        "",
    ]
    for slug, entries, computed_at in leaderboards:
        lines += [
            f"### {slug} (computed {computed_at:%Y-%m-%d %H:%M} UTC)",
            "",
            "| rank | model | rating | 95 % interval | comparisons |",
            "| --- | --- | --- | --- | --- |",
        ]
        for entry in entries:
            rated = entry["rating"] is not None
            interval = f"{entry['rating_lower']} – {entry['rating_upper']}" if rated else "—"
            lines.append(
                f"| {entry['rank'] or '—'} | {entry['model']} | {entry['rating'] if rated else '—'} | {interval} "
                f"| {entry['comparisons']} |"
            )
        lines.append("")
    return lines


def dataset_card(*, counts: dict[str, int], leaderboards: list[tuple[str, list[dict], object]] = ()) -> str:
    """README.md for the dataset repository: layout, schema, counts, loading, the 'newest wins' rule and the
    arenas' leaderboards."""
    lines = [
        "# Corral feedback dataset",
        "",
        "Human feedback on generated images and LLM answers, exported by Corral. Each export adds one batch:",
        "new images in a new folder and one part file per table; earlier files never change.",
        "",
        "```",
        "images/<batch>/<candidate_uid>.png   each image once",
        "votes/<batch>.parquet                thumbs up/down per image or answer",
        "preferences/<batch>.parquet          image pairs (Pick-a-Pic / Diffusion-DPO columns)",
        "reviews/<batch>.parquet              reviewed LLM answers",
        "text_dpo/<batch>.parquet             prompt, chosen, rejected (TRL DPO columns)",
        "annotators/<batch>.parquet           per person: gold accuracy, agreement, judgements, excluded",
        "leaderboard/<batch>.parquet          arena models' Bradley–Terry ratings and intervals",
        "```",
        "",
        "## Counts",
        "",
        "| table | rows written |",
        "| --- | --- |",
        *(f"| {table} | {counts.get(table, 0)} |" for table in (*TABLES, "images")),
        "",
        "Counts include rows written again after a change (see below).",
        "",
        "## Newest wins",
        "",
        "A row changed after its export (a vote flipped, a pick changed, a review corrected) is written again in a",
        "later batch with the same `id` and a newer `updated_at`. Keep the newest version of each id. In",
        "`preferences` and `text_dpo`, a changed judgement replaces all its rows: keep, per `preference_id`",
        "(`source_id`), only the rows with the newest `updated_at`. A published judgement that no longer gives a",
        'pair (changed to "all bad", or a text comparison to a tie) is written once more as a single row without',
        "one (`jpg_0` / `chosen` empty, id ending in `:none`), so its old pairs are replaced; drop such rows last.",
        "A project's `leaderboard` is written whole each time its figures change: keep, per `project`, only the",
        "rows with the newest `updated_at`.",
        "",
        'Withdrawn votes: a vote taken back after it was published appears again with `rating` "withdrawn";',
        "one never published is not written. Preferences: picking the best of N images gives N−1 pairs (the",
        'best against each other one); a tie gives every pair with `label_0` 0.5; "all bad" gives no pair.',
        "Images sit in task order: `jpg_0` is the earlier one, and `label_0` says which one was preferred.",
        "Annotators appear only as pseudonymous ids.",
        "",
        "## Loading",
        "",
        "```python",
        "import glob",
        "import pandas as pd",
        "",
        "def load(table):",
        '    parts = sorted(glob.glob(f"{table}/*.parquet"))',
        "    df = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)",
        '    return df.sort_values("updated_at").drop_duplicates("id", keep="last")',
        "",
        'votes = load("votes")',
        'votes = votes[votes.rating != "withdrawn"]',
        'pairs = load("preferences")',
        'newest = pairs.groupby("preference_id").updated_at.transform("max")',
        "pairs = pairs[(pairs.updated_at == newest) & pairs.jpg_0.notna()]",
        "# Diffusion-DPO columns: caption, jpg_0, jpg_1, label_0",
        "```",
        "",
        "## Gold items and excluded people",
        "",
        "Every judgement row says whether its task is a gold (control) item with a known answer (`gold`), and",
        "whether its author was excluded by a project manager when the row was written (`excluded`). A person",
        "excluded (or reinstated) later is recorded in `annotators`, whose newest row per `id`",
        "(`<project>:<annotator>`) holds the current state with the figures as of that export. To train on",
        "ordinary items by people in good standing, drop gold rows and rows by anyone excluded now:",
        "",
        "```python",
        'people = load("annotators")',
        "excluded_now = set(people.id[people.excluded])",
        "",
        "def usable(df):",
        '    author = df.project + ":" + df.annotator',
        "    # .eq(True): rows exported before Corral wrote these flags have them empty.",
        "    return df[~df.gold.eq(True) & ~author.isin(excluded_now)]",
        "",
        "votes, pairs = usable(votes), usable(pairs)",
        "```",
        "",
        "With Hugging Face `datasets` (after keeping the newest row per `id` as above):",
        "",
        "```python",
        "from datasets import Dataset",
        "",
        'votes = Dataset.from_pandas(load("votes"), preserve_index=False)',
        "def usable_row(row):",
        '    return not row["gold"] and row["project"] + ":" + row["annotator"] not in excluded_now',
        "",
        "votes = votes.filter(usable_row)",
        "```",
        "",
        "`annotators` figures: `gold_accuracy` (share of gold judgements answered as expected), `agreement`",
        "(share of the person's 👍/👎 matching the majority of the others on the same item), `pick_agreement` and",
        "`review_agreement` (share of pairs with others agreeing; a tie against a pick counts half). A figure",
        "resting on fewer items than the project's minimum is empty; the `*_items` columns say how many.",
        "",
        *leaderboard_section(list(leaderboards)),
        "## Schema",
        "",
    ]
    for table in TABLES:
        lines += [f"### {table}", "", "| column | type | meaning |", "| --- | --- | --- |"]
        lines += [f"| `{name}` | {kind} | {meaning} |" for name, kind, meaning in COLUMNS[table]]
        lines.append("")
    return "\n".join(lines)
