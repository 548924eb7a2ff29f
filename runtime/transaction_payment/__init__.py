"""`transaction_payment`: FRAME's TransactionPayment pallet as metadata only (pallet index 17, no calls, no storage).

It exists so the executive can report each extrinsic's fee as FRAME does, `TransactionPayment.TransactionFeePaid
{who, actual_fee, tip}`, which substrate-interface reads for a receipt's `total_fee_amount`. btt's fees are
charged by `runtime.fees`; this package only names the event. Its pallet index is in
`runtime.metadata.catalog.METADATA_ONLY_PALLETS`.
"""
