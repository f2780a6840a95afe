"""Administration: each area adds its admin pages under /admin/ through
`admin_required` views; the dashboard lives here."""
