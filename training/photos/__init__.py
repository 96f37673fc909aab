"""The photo pipeline: one photo checked and cleaned (`cleaning`), a whole set from the form or
a ZIP (`photo_sets`), and the ZIPs read (`zip_reading`) and written (`zip_writing`)."""
