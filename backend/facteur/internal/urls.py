from django.urls import path

from facteur.internal import apis

urlpatterns = [
    # ``path`` converter: an address may hold characters a ``str`` segment refuses.
    path("mta/recipients/<path:address>/", apis.MtaRecipientApi.as_view(), name="mta-recipient"),
]
