from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("checkout/", views.checkout_start, name="checkout_start"),
    path("<uuid:purchase_uuid>/done/", views.checkout_done, name="checkout_done"),
    path("<uuid:purchase_uuid>/canceled/", views.checkout_canceled, name="checkout_canceled"),
]
