"""Office pages, one module per area; ``fieldlink.office.router`` gathers them."""
