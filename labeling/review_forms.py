from django import forms

from labeling.models import Review
from labeling.review_services import PAIR_CHOICES


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=Review.Decision.choices)
    corrected_text = forms.CharField(required=False, strip=False, max_length=100_000)
    reason = forms.CharField(required=False, max_length=2000)


class PairForm(forms.Form):
    choice = forms.ChoiceField(choices=list(PAIR_CHOICES.items()))
