from django.urls import path

from doudi.registry import views

app_name = "registry"
urlpatterns = [
    path("import/", views.import_upload, name="import"),
    path("import/template/", views.import_template, name="import_template"),
    path("import/report/<str:token>/", views.import_report, name="import_report"),
]
