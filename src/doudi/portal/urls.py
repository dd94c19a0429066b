from django.urls import path

from doudi.portal import display, policy_views, views, whistle

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("apply/", views.apply_index, name="apply_index"),
    path("apply/done/", views.apply_done, name="apply_done"),
    path("apply/regions/", views.apply_regions, name="apply_regions"),
    path("apply/member-row/", views.apply_member_row, name="apply_member_row"),
    path("apply/children-proofs/", views.apply_children_proofs, name="apply_children_proofs"),
    path("apply/<slug:scheme>/", views.apply, name="apply"),
    path("apply/<slug:scheme>/from-self-check/", policy_views.apply_prefilled, name="apply_prefilled"),
    path("report-change/", views.report_change, name="report_change"),
    path("status/", views.status, name="status"),
    path("status/case/", views.status_case, name="status_case"),
    path("status/case/upload/", views.status_upload, name="status_upload"),
    path("status/case/notice/<int:seq>/", views.status_notice, name="status_notice"),
    path("status/case/change/<int:pk>/", views.status_change_notice, name="status_change_notice"),
    path("status/leave/", views.status_leave, name="status_leave"),
    path("jubao/", whistle.report, name="whistle"),
    path("jubao/done/", whistle.done, name="whistle_done"),
    path("jubao/status/", whistle.status, name="whistle_status"),
    path("display/", display.switch, name="display"),
    path("policy/", policy_views.policy_index, name="policy_index"),
    path("policy/<str:code>/", policy_views.policy, name="policy"),
    path("policy/<str:code>/self-check/", policy_views.self_check, name="self_check"),
    path("policy/<str:code>/self-check/person-row/", policy_views.self_check_row, name="self_check_row"),
    # A console page served by the portal app (the root URLconf tries console/ first, then falls through).
    path("console/outbox/", views.outbox, name="outbox"),
]
