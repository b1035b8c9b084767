"""Payments: Stripe Connect onboarding of providers and the visitors' direct charges."""
