from django.urls import path

from doudi.care import views

app_name = "care"
urlpatterns = [
    path("institutions/", views.institution_list, name="institution_list"),
    path("institutions/new/", views.institution_new, name="institution_new"),
    path("institutions/<int:pk>/", views.institution_detail, name="institution_detail"),
    path("institutions/<int:pk>/edit/", views.institution_edit, name="institution_edit"),
    path("institutions/<int:pk>/screening/", views.screening_new, name="screening_new"),
    path("institutions/<int:pk>/outing/", views.outing_new, name="outing_new"),
    path("institutions/<int:pk>/report/", views.report_new, name="report_new"),
    path("screenings/<int:pk>/", views.screening_detail, name="screening_detail"),
    path("outings/<int:pk>/return/", views.outing_return, name="outing_return"),
    path("missing-reports/", views.missing_reports, name="missing_reports"),
    path("risk-areas/", views.risk_areas, name="risk_areas"),
    path("risk-areas/<int:pk>/lift/", views.risk_area_lift, name="risk_area_lift"),
]
urlpatterns += [
    path("contacts/overdue/", views.overdue_contacts, name="overdue_contacts"),
    path("contacts/person/<int:pk>/", views.person_contacts, name="person_contacts"),
    path("contacts/<int:pk>/open-case/", views.contact_open_case, name="contact_open_case"),
]
urlpatterns += [
    path("children/", views.child_report_list, name="child_reports"),
    path("children/new/", views.child_report_new, name="child_report_new"),
    path("children/<int:pk>/", views.child_report_detail, name="child_report"),
    path("children/<int:pk>/<str:step>/", views.child_report_step, name="child_report_step"),
]
urlpatterns += [
    path("psych-aid/", views.psych_aid, name="psych_aid"),
    path("psych-aid/<int:pk>/print/", views.psych_aid_print, name="psych_aid_print"),
    path("psych-aid/offer/<int:pk>/", views.psych_aid_detail, name="psych_aid_detail"),
    path("psych-aid/overdue/", views.psych_aid_overdue, name="psych_aid_overdue"),
]
urlpatterns += [
    path("hotline/", views.hotline_calls, name="hotline_calls"),
    path("hotline/new/", views.hotline_call_new, name="hotline_call_new"),
    path("hotline/<int:pk>/", views.hotline_call, name="hotline_call"),
]
urlpatterns += [
    path("arrangements/", views.arrangements, name="arrangements"),
    path("arrangements/new/", views.arrangement_new, name="arrangement_new"),
    path("placements/new/", views.placement_new, name="placement_new"),
    path("arrangements/<int:pk>/", views.arrangement_detail, name="arrangement_detail"),
    path("placements/<int:pk>/", views.placement_detail, name="placement_detail"),
]
