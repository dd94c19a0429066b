"""Who reads the supervision figures (监管看板, 督查, 资金拨付进度, 年度公告): the supervisors — the
municipal supervisor (the city) and the district supervisor (区县民政监督员, one district) — the
auditors, the bureau's administrators and finance, and the district approvers (the head of a district
bureau). Each sees their own region's subtree only."""

OVERSIGHT_ROLES = (
    "municipal_supervisor",
    "district_supervisor",
    "auditor",
    "municipal_admin",
    "municipal_finance",
    "district_approver",
)
