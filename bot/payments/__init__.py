"""Adapters to payment processors (Stripe): the only modules that talk to one."""
