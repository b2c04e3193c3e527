"""Labeling's models, one module per concern; everything is importable from ``labeling.models`` as before."""

from labeling.models.counts import CandidateVoteCounts, TaskJudgementCounts
from labeling.models.judgements import VOTE_VALUE_NAMES, Preference, Review, Vote
from labeling.models.projects import DEFAULT_HEDGE_WORDS, Membership, Project, PromptBatch, history_by
from labeling.models.queue import (
    MemberCounts,
    ProjectCounts,
    QueueMarker,
    ReviewQueueCounts,
    ReviewReservation,
    TaskReservation,
)
from labeling.models.tasks import Candidate, Task

__all__ = [
    "Candidate",
    "CandidateVoteCounts",
    "DEFAULT_HEDGE_WORDS",
    "MemberCounts",
    "Membership",
    "Preference",
    "Project",
    "ProjectCounts",
    "PromptBatch",
    "QueueMarker",
    "Review",
    "ReviewQueueCounts",
    "ReviewReservation",
    "Task",
    "TaskJudgementCounts",
    "TaskReservation",
    "VOTE_VALUE_NAMES",
    "Vote",
    "history_by",
]
