"""Critical projects: download statistics in, a sticky top-1% designation out."""
