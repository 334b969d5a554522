"""The conversation's own logic, apart from Rasa: the questions as declared (data/questions.yml) and how a message
is read while one is open (question first, then digressions). Pure: actions/ adapts it to Rasa."""
