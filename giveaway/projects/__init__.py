"""Projects of the index and who maintains them."""
