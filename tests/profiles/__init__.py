"""API profiles the tests extend Stripe's with, as a user would in a module of their own."""
