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
