"""The giveaway: eligibility, the race-free claim, the pool of promo codes and the expiry job."""
