"""What every console and portal form shares: Bootstrap classes on the widgets, and a service's
ValidationError put back on the fields it names. Forms only parse; the services decide."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def bootstrap_widgets(form: forms.BaseForm, *, large: bool = False) -> None:
    """Bootstrap classes on the widgets (templates cannot add attributes; the CSP forbids inline styles).
    `large`: the portal's bigger inputs, easier on a phone. A class set by the form itself is kept."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.HiddenInput):
            continue
        if isinstance(
            widget, forms.CheckboxInput | forms.RadioSelect
        ):  # RadioSelect: CheckboxSelectMultiple too
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select form-select-lg" if large else "form-select"
        elif large and not isinstance(widget, forms.FileInput):
            css = "form-control form-control-lg"
        else:
            css = "form-control"
        widget.attrs.setdefault("class", css)


class ServiceErrorsMixin:
    """For a form whose view calls a service: `form.add_service_errors(exc)` in the `except`."""

    def add_service_errors(self, exc: ValidationError) -> None:
        """Attach a service's ValidationError to the fields it names (others to the whole form)."""
        if hasattr(exc, "error_dict"):
            for name, errors in exc.error_dict.items():
                self.add_error(name if name in self.fields else None, errors)  # type: ignore[attr-defined]
        else:
            self.add_error(None, exc)  # type: ignore[attr-defined]
