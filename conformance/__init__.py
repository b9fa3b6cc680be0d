"""card-conformance: record, serve and conformance-test Stripe's card endpoints."""

__version__ = "0.1.0"
