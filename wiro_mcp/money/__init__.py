"""The person who pays: where prices come from (price_book), what a run will cost (estimate), what Wiro
billed as a floor under estimates (bills), and the spending limits with their words (limits).

May import: wiro, catalog, journal (the spend it counts) and the shared modules.
"""
