from django import forms


class PromptImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with a 'prompt' column, or JSONL with a 'prompt' field per line.")
    name = forms.CharField(max_length=200, required=False, help_text="Batch name; defaults to the file name.")
    generate = forms.BooleanField(required=False, help_text="Queue image generation for every imported prompt.")
