from django.urls import path

from doudi.parameters import views

app_name = "parameters"
urlpatterns = [
    path("", views.parameter_list, name="list"),
    path("simulate/", views.simulate, name="simulate"),
    path("simulate/<uuid:pk>/", views.simulation, name="simulation"),
    path("<str:name>/", views.parameter_detail, name="detail"),
    path("<str:name>/add/", views.parameter_add, name="add"),
]
