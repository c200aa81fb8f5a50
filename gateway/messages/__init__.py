"""Texts sent to people outside the browser (SMS; later e-mail), in Vietnamese and English."""
