from django.urls import path

from api.webhooks import views

urlpatterns = [
    path("p/<slug:slug>/webhooks/", views.webhook_list, name="api-webhooks"),
    path("p/<slug:slug>/webhooks/<int:pk>/", views.webhook_detail, name="api-webhook"),
    path("p/<slug:slug>/webhooks/<int:pk>/test", views.webhook_test, name="api-webhook-test"),
    path("p/<slug:slug>/webhooks/<int:pk>/delete", views.webhook_delete, name="api-webhook-delete"),
    path(
        "p/<slug:slug>/webhooks/deliveries/<int:pk>/send-again",
        views.webhook_delivery_send_again,
        name="api-webhook-delivery-send-again",
    ),
]
