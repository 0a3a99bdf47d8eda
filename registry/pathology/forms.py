"""HTML forms of the pathology pages; they only parse input, the services decide."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from registry.pathology.models import CentralReview, FinalDiagnosis, Material, Priority
from registry.pathology.services import REVIEW_FIELDS
from registry.sites.models import Role


def _people(roles):
    return (get_user_model().objects.filter(is_active=True, memberships__role__in=list(roles))
            .distinct().order_by("username"))


class DateInput(forms.DateInput):
    """An HTML date picker; its value must be ISO (the locale's dd/mm/yyyy would render empty)."""

    input_type = "date"

    def __init__(self, attrs=None, format="%Y-%m-%d"):  # noqa: A002 - Django's argument name
        super().__init__(attrs=attrs, format=format)


class BootstrapMixin:
    """Bootstrap 5 classes on every widget (the templates render fields in a loop)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect | forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                widget.attrs.setdefault("class", "form-select form-select-sm")
            else:
                widget.attrs.setdefault("class", "form-control form-control-sm")


class ReviewForm(BootstrapMixin, forms.ModelForm):
    material_received = forms.MultipleChoiceField(choices=Material.choices, required=False,
                                                  widget=forms.CheckboxSelectMultiple)
    adequate_material = forms.TypedChoiceField(choices=[("true", "Yes"), ("false", "No")],
                                               coerce=lambda v: v == "true", widget=forms.RadioSelect,
                                               label="Material adequate for review")

    class Meta:
        model = CentralReview
        fields = list(REVIEW_FIELDS)
        widgets = {"review_date": DateInput(), "comment": forms.Textarea(attrs={"rows": 3})}


class AssignForm(BootstrapMixin, forms.Form):
    reviewer = forms.ModelChoiceField(queryset=_people({Role.CENTRAL_PATHOLOGIST}), label="Pathologist")


class PriorityForm(BootstrapMixin, forms.Form):
    priority = forms.TypedChoiceField(choices=Priority.choices, coerce=int)


class AdjudicationForm(BootstrapMixin, forms.Form):
    participants = forms.ModelMultipleChoiceField(
        queryset=_people({Role.CENTRAL_PATHOLOGIST, Role.DATA_MANAGER}), widget=forms.CheckboxSelectMultiple)
    final_diagnosis = forms.ChoiceField(choices=FinalDiagnosis.choices)
    final_ki67 = forms.DecimalField(max_digits=4, decimal_places=1, min_value=0, max_value=100, required=False,
                                    label="Agreed Ki-67 %")
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    decided_on = forms.DateField(widget=DateInput(), required=False)


class ShipmentForm(BootstrapMixin, forms.Form):
    shipped_on = forms.DateField(widget=DateInput())
    courier_reference = forms.CharField(max_length=100, required=False)
    materials = forms.MultipleChoiceField(choices=[c for c in Material.choices if c[0] != Material.BLOCK],
                                          widget=forms.CheckboxSelectMultiple, required=False, label="Slides")
    blocks = forms.IntegerField(min_value=0, max_value=20, initial=0, required=False, label="FFPE blocks")
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def items(self) -> dict[str, int]:
        items = {m: 1 for m in self.cleaned_data["materials"]}
        if self.cleaned_data.get("blocks"):
            items[Material.BLOCK] = self.cleaned_data["blocks"]
        return items


class ReceiveForm(BootstrapMixin, forms.Form):
    received_on = forms.DateField(widget=DateInput())
    condition_on_receipt = forms.CharField(max_length=200, required=False)


class ReturnBlocksForm(BootstrapMixin, forms.Form):
    returned_on = forms.DateField(widget=DateInput())
    courier_reference = forms.CharField(max_length=100, required=False)

