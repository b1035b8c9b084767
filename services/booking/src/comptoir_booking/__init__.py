"""Booking: holds, reservations and seat counts; never sells a seat twice."""
