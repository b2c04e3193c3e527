from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat


class PromptImportForm(forms.Form):
    file = forms.FileField(help_text="CSV with a 'prompt' column, or JSONL with a 'prompt' field per line.")
    name = forms.CharField(max_length=200, required=False, help_text="Batch name; defaults to the file name.")
    generate = forms.BooleanField(required=False, help_text="Queue image generation for every imported prompt.")

    def clean_file(self):
        # Django has streamed a large upload to a temporary file; refuse it before reading it into memory.
        upload = self.cleaned_data["file"]
        limit = settings.PROMPT_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {filesizeformat(upload.size)} ({upload.size:,} bytes); the limit is "
                f"{filesizeformat(limit)} ({limit:,} bytes, PROMPT_IMPORT_MAX_BYTES). Split it into smaller files."
            )
        return upload
