from django.urls import path

from doudi.registry import views

app_name = "registry"
urlpatterns = [
    path("import/", views.import_upload, name="import"),
    path("import/template/", views.import_template, name="import_template"),
    path("import/report/<str:token>/", views.import_report, name="import_report"),
    path("households/<int:pk>/economics/", views.household_economics, name="household_economics"),
    path("memberships/<int:pk>/facts/", views.membership_facts, name="membership_facts"),
]
