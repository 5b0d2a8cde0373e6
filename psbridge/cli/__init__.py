"""The psbridge command line; one command group per product, mirroring the library."""
