from django.urls import path

from doudi.verification import views

app_name = "verification"
urlpatterns = [
    path("", views.index, name="index"),
    path("extracts/", views.extracts, name="extracts"),
    path("extracts/<int:pk>/", views.extract, name="extract"),
    path("households/<int:pk>/", views.household, name="household"),
    path("households/<int:pk>/consent/", views.consent_record, name="consent_record"),
    path("households/<int:pk>/check/", views.check, name="check"),
    path("consents/<int:pk>/revoke/", views.consent_revoke, name="consent_revoke"),
    path("reports/<int:pk>/", views.report, name="report"),
    path("runs/", views.runs, name="runs"),
    path("runs/<int:pk>/", views.run, name="run"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run_progress"),
    path("signals/", views.signals, name="signals"),
    path("signals/<int:pk>/handle/", views.signal_handle, name="signal_handle"),
    path("deferred/", views.deferred, name="deferred"),
    path("rechecks/", views.rechecks_overdue, name="rechecks_overdue"),
    path("households/<int:pk>/recheck/", views.recheck_record, name="recheck_record"),
]
