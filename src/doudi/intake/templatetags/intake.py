from django import template

from doudi.intake import flows, selectors

register = template.Library()


@register.filter
def state_label(case) -> str:
    """The case's state in words, from its flow."""
    return flows.flow_for(case.case_type).state_label(case.state)


@register.filter
def overdue(case, today=None) -> bool:
    return selectors.is_overdue(case, today)


@register.filter
def transfer_overdue(transfer, today=None) -> bool:
    return selectors.transfer_overdue(transfer, today)


@register.filter
def referral_overdue(referral, today) -> bool:
    return referral.overdue_on(today)


@register.simple_tag
def flow_state_label(case_type: str, state: str) -> str:
    return flows.flow_for(case_type).state_label(state)


@register.simple_tag
def queue_rows(cases, today, can_act) -> str:
    """The queue's rows (intake/list.html), written here rather than in the template: 50 rows of nine
    cells were most of the page's CPU through the template engine (docs/scale.md, P4)."""
    from django.urls import reverse
    from django.utils.html import format_html, format_html_join
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext as _

    transferring = format_html(' <span class="badge text-bg-warning">{}</span>', _("转办中"))
    late_badge = format_html(' <span class="badge text-bg-danger">{}</span>', _("逾期"))
    paused = format_html('<span class="text-muted">{}</span>', _("暂停计时"))
    # Each label translated once per page, not per row (get_FOO_display hashes every choice each call).
    from doudi.intake.models import CaseType, Channel

    types = {value: str(label) for value, label in CaseType.choices}
    channels = {value: str(label) for value, label in Channel.choices}
    states: dict[tuple[str, str], str] = {}
    case_url = reverse("intake:case", args=[2**31]).replace(str(2**31), "{}")  # one reverse() per page
    rows = []
    for c in cases:
        key = (c.case_type, c.state)
        if key not in states:
            states[key] = state_label(c)
        late = selectors.is_overdue(c, today)
        if c.due_on:
            due = format_html("{}{}", c.due_on.strftime("%Y-%m-%d"), late_badge if late else "")
        elif c.sla_paused_since:
            due = paused
        elif getattr(c, "sla_error", None):
            due = format_html('<span class="text-danger" title="{}">{}</span>', c.sla_error, _("无法计算"))
        else:
            due = "—"
        check = (
            format_html(
                '<td class="no-print"><input class="form-check-input" type="checkbox" name="cases" '
                'value="{}:{}" aria-label="{}"></td>',
                c.pk,
                c.version,
                c.tracking_number,
            )
            if can_act
            else ""
        )
        rows.append(
            (
                "overdue" if late else "",
                check,
                case_url.format(c.pk),
                c.tracking_number,
                types.get(c.case_type, c.case_type),
                c.display_name or "—",
                channels.get(c.channel, c.channel),
                states[key],
                transferring if getattr(c, "in_transfer", False) else "",
                c.region.name if c.region_id else "",
                due,
                (c.assigned_to.username if c.assigned_to_id else "") or "—",
            )
        )
    return format_html_join(
        "\n",
        '<tr class="{}" data-testid="case-row">{}<td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td>'
        "<td>{}{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        rows,
    ) or mark_safe("")
