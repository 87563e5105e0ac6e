"""Billing: the catalogue, account services, taxes, discounts, the ledger, invoices and the
billing run. The rules themselves (money, calendar, proration, discounts, taxes) are pure
functions in their own modules; the services around them load, decide and write."""
