from django.urls import path

from doudi.regions import views

app_name = "regions"
urlpatterns = [
    path("windows/", views.window_list, name="window_list"),
    path("windows/declare/", views.window_declare, name="window_declare"),
    path("windows/<int:pk>/", views.window_detail, name="window_detail"),
    path("windows/<int:pk>/end/", views.window_end, name="window_end"),
    path("hotlines/", views.hotline_list, name="hotline_list"),
    path("hotlines/new/", views.hotline_create, name="hotline_create"),
    path("hotlines/<int:pk>/edit/", views.hotline_edit, name="hotline_edit"),
    path("authorities/", views.authority_list, name="authority_list"),
]
