"""Module `payments`: PayFi payments, invoices and refunds."""
