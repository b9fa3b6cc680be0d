"""Payment methods added to the Stripe profile: one profile change, the whole family.

The routes are the Stripe API reference's (Payment Methods: create, retrieve,
update, list, attach, detach, and a customer's list). Nothing else is written
for them: the replay binds ``pm_`` ids, follows an update's parameters and a
detach, and the documented list rules judge the two list routes by their action.

    conformance run cassettes/ --api tests.profiles.payment_methods:PAYMENT_METHODS --target URL
"""

from conformance.api_profile import Route
from conformance.stripe import STRIPE

PAYMENT_METHODS = STRIPE.extended(
    "stripe+payment_methods",
    routes=[
        Route("payment_methods.create", "POST", "/v1/payment_methods", "create"),
        Route("payment_methods.list", "GET", "/v1/payment_methods", "list"),
        Route("payment_methods.retrieve", "GET", "/v1/payment_methods/{payment_method}", "retrieve"),
        Route("payment_methods.update", "POST", "/v1/payment_methods/{payment_method}", "update"),
        Route("payment_methods.attach", "POST", "/v1/payment_methods/{payment_method}/attach"),
        Route("payment_methods.detach", "POST", "/v1/payment_methods/{payment_method}/detach"),
        Route("customers.payment_methods", "GET", "/v1/customers/{customer}/payment_methods", "list"),
    ],
    id_prefixes=["pm"],
    token_parameters=["payment_method"],
    focus=["payment_methods."],
)
