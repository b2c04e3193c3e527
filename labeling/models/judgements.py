"""Judgements: votes (👍/👎) on candidates, picks (best / tie / all bad) of tasks, reviews of answers."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from labeling.models.projects import history_by
from labeling.models.tasks import Candidate, Task


class Vote(models.Model):
    class Value(models.IntegerChoices):
        UP = 1, "👍"
        DOWN = -1, "👎"
        WITHDRAWN = 0, "withdrawn"

        @classmethod
        def from_request(cls, name: str) -> "Vote.Value | None":
            """The value a vote button sends ("up", "down", "withdraw"), or None for anything else."""
            return next((value for value, (sent, _) in VOTE_VALUE_NAMES.items() if sent == name), None)

        @property
        def request_name(self) -> str:
            return VOTE_VALUE_NAMES[self][0]

        @property
        def rating(self) -> str:
            """The value as the dataset's ``rating`` column writes it."""
            return VOTE_VALUE_NAMES[self][1]

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="votes")
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="votes")
    # A withdrawn vote keeps its row so an export that already published it can publish the withdrawal.
    value = models.SmallIntegerField(choices=Value.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # labeling/votes.py writes this history in the vote's own statement; kept cheap for the busiest request: no index
    # on the voter (the task's history reads it by candidate) and no foreign-key check of the acting user (the
    # vote's own row has just checked that user).
    history = HistoricalRecords(get_user=history_by("user"), no_db_index=["user"], user_db_constraint=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "candidate"], name="vote_one_per_user_candidate"),
            models.CheckConstraint(condition=Q(value__in=[-1, 0, 1]), name="vote_value_valid"),
        ]
        indexes = [
            # Exports read what changed since a time; the API pages through judgements by (updated_at, id).
            models.Index(fields=["updated_at", "id"], name="vote_updated_id_idx"),
            # My progress: a person's votes since a time, without reading the rest of their history.
            models.Index(fields=["user", "created_at"], name="vote_user_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_value_display()} {self.candidate}"


# What each vote value is called in a request (the buttons' values) and in the exported dataset.
VOTE_VALUE_NAMES = {
    Vote.Value.UP: ("up", "good"),
    Vote.Value.DOWN: ("down", "bad"),
    Vote.Value.WITHDRAWN: ("withdraw", "withdrawn"),
}


class Preference(models.Model):
    class Choice(models.TextChoices):
        BEST = "best", "Best"
        TIE = "tie", "Tie"
        ALL_BAD = "all_bad", "All bad"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="preferences")
    choice = models.CharField(max_length=10, choices=Choice.choices)
    chosen = models.ForeignKey(Candidate, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(get_user=history_by("user"), no_db_index=["user", "chosen"])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "task"], name="preference_one_per_user_task"),
            models.CheckConstraint(
                condition=(Q(choice="best") & Q(chosen__isnull=False))
                | (Q(choice__in=["tie", "all_bad"]) & Q(chosen__isnull=True)),
                name="preference_best_names_a_candidate",
            ),
        ]
        # Exports read what changed since a time; the API pages through judgements by (updated_at, id).
        indexes = [models.Index(fields=["updated_at", "id"], name="preference_updated_id_idx")]

    def __str__(self) -> str:
        return f"{self.user} {self.choice} {self.task_id}"


class Review(models.Model):
    class Decision(models.TextChoices):
        ACCEPT = "accept", "Accept"
        CORRECT = "correct", "Correct"
        REJECT = "reject", "Reject"

    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews")
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="reviews")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    original_text = models.TextField(help_text="The answer as the reviewer saw it.")
    corrected_text = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(get_user=history_by("reviewer"), no_db_index=["reviewer"])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reviewer", "candidate"], name="review_one_per_reviewer_candidate"),
            models.CheckConstraint(
                condition=~Q(decision="correct") | ~Q(corrected_text=""), name="review_correction_has_text"
            ),
        ]
        # Exports read what changed since a time; the API pages through judgements by (updated_at, id).
        indexes = [models.Index(fields=["updated_at", "id"], name="review_updated_id_idx")]

    def __str__(self) -> str:
        return f"{self.reviewer} {self.decision} {self.candidate}"

    @property
    def final_text(self) -> str:
        return self.corrected_text if self.decision == self.Decision.CORRECT else self.original_text
