"""Number formatting for statistics pages: a dash for undefined values (None), never "None" or "nan"."""

from django import template

register = template.Library()


@register.filter
def num(value, digits=2):
    if value is None:
        return "—"
    try:
        return f"{float(value):.{int(digits)}f}"
    except (TypeError, ValueError):
        return "—"
