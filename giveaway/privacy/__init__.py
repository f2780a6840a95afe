"""Personal data: a maintainer's own security history, deleting an account, retention."""
