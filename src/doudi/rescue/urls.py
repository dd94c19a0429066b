from django.urls import path

from doudi.rescue import views

app_name = "rescue"
urlpatterns = [
    path("stations/", views.station_list, name="station_list"),
    path("stations/new/", views.station_new, name="station_new"),
    path("stations/<int:pk>/", views.station_detail, name="station_detail"),
    path("stations/<int:pk>/occupancy/", views.occupancy_new, name="occupancy_new"),
    path("stations/<int:pk>/check/", views.check_new, name="check_new"),
    path("alerts/", views.alerts, name="alerts"),
    path("shelters/new/", views.shelter_new, name="shelter_new"),
    path("alerts/<int:pk>/shelter/", views.shelter_new, name="alert_shelter"),
    path("missing-checks/", views.missing_checks, name="missing_checks"),
    path("reports/", views.report_list, name="report_list"),
    path("reports/new/", views.report_new, name="report_new"),
    path("reports/<int:pk>/", views.report_detail, name="report_detail"),
    path("stranded/", views.stranded_list, name="stranded_list"),
    path("stranded/new/", views.stranded_new, name="stranded_new"),
    path("stranded/<int:pk>/", views.stranded_detail, name="stranded_detail"),
    path("stranded/<int:pk>/aid/", views.stranded_aid, name="stranded_aid"),
    path("stranded/<int:pk>/refer/", views.stranded_refer, name="stranded_refer"),
    path("referrals/<int:pk>/confirm/", views.referral_confirm, name="referral_confirm"),
]
