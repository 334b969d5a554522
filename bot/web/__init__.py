"""The web app: the clinic's demo page with the chat widget, the staff dashboard and the staff JSON API."""
